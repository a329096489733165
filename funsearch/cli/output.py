"""Turn any exception from a backend, Ray or the sandbox into one line for the user."""
from __future__ import annotations


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
