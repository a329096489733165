"""The model-size registry (models/*.toml) and verified GGUF files, joined from installed parts; never downloads."""
