"""Program text (pure): a completion in, the function's source or a failure class out; canonical form; prompts."""
