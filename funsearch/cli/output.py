"""Errors as the user sees them: one line on stderr (`fail`), any exception from a backend, Ray or the sandbox
turned into one line (`describe`)."""
from __future__ import annotations

import typer


def fail(message: str, code: int = 2) -> None:
    """One line on stderr, then exit non-zero."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def describe(exc: BaseException) -> str:
    """One line: the innermost cause's type and first line (Ray wraps actor errors; unwrap them)."""
    seen = set()
    while id(exc) not in seen:
        seen.add(id(exc))
        inner = getattr(exc, "cause", None) or exc.__cause__
        if not isinstance(inner, BaseException):
            break
        exc = inner
    text = " ".join(str(exc).split())
    for marker in ("ProposerError:", "ModelFileError:", "ModelRegistryError:", "RuntimeError:"):
        if marker in text:
            text = text.split(marker, 1)[1].strip()
            break
    return (text or type(exc).__name__)[:400]
