"""One-line messages: `one_line` cuts any text (a candidate's included) to one line; `describe` turns any
exception from a backend, Ray or the sandbox into one line for the user. Pure; used by every layer."""
from __future__ import annotations


def one_line(text: str, limit: int = 300) -> str:
    """Collapse whitespace to one line and cut to `limit` characters (candidates control this text: lone
    surrogates, which no UTF-8 terminal, JSON file or database can take, become "?")."""
    flat = " ".join(str(text).split()).encode("utf-8", "replace").decode("utf-8")
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


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
