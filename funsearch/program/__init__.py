"""Program text: a completion in, the evolved function's source or a classified failure out; canonical form, hashing, renaming, prompts (pure)."""
