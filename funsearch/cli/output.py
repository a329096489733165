"""How the command line fails: one line on stderr, then a non-zero exit (`describe` in funsearch/messages.py
turns an exception into that line)."""
from __future__ import annotations

import typer


def fail(message: str, code: int = 2) -> None:
    """One line on stderr, then exit non-zero."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)
