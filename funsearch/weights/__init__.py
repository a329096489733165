"""The model-size registry (models/*.toml) and verified GGUF files on disk, joined from installed parts; never downloads."""
