"""Forced divergence (pure): a completion may not copy a parent past a chosen line of it.

With the classic prompt, a small model's commonest sample is a verbatim copy of a parent (43-58 % of samples even
with copy steering, `docs/search-yield.md`). Recognising copies after the fact saves their evaluation, not their
generation. With `--diverge`, every parent shown in the prompt gets a random line of its body (a simple statement,
not a block header), and while the completion is still a verbatim prefix of that parent's body the sampler may
not write past the end of that line as the parent has it:

- a token that would copy the rest of that line and its newline is banned (whatever the token holds after it);
- at the line's end, so are the trivial ways around it: whitespace, a newline, a comment, `;`, and tokens with
  no text (end of sequence), which would end the completion on a copy.

Copies are compared as code: blank lines, comment lines, comments at the end of a line and trailing spaces are
left out of both texts (writing or dropping a comment changes no program; measured: half of mid's duplicates on
the whole-tour TSP differed from an earlier program only by a trailing `# close the tour`, and the rest repeated
those variants). The model may diverge anywhere before; once it has, nothing is banned.
The programs the run has already seen (`known`: every program sampled before, valid or not) are held to their last
line: a completion may not write one of them out verbatim either. Each completion therefore differs from every
parent's text by that line at the latest (mostly a one-line change, which is the edit a small model gets right
most often). It can still re-derive a parent's program in other words (`x=1` for `x = 1`) or write a program
that is not in the prompt: those remain copies or no-ops and are caught as before.

Backends apply it token by token (llama.cpp through a logits processor): `TokenIndex` says which token ids are
banned after a given generated text. Both classes are plain Python so they are tested without a model.
"""
from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from typing import Callable, Sequence

_OPENERS = (":", "(", "[", "{", ",", "\\")  # a line ending so is a header or continues: never the chosen line


@dataclass(frozen=True)
class Divergence:
    """Where each parent's copy must stop.

    Attributes:
      targets: each parent's code as a verbatim copy would write it (`code_text`: its body's lines after the
        docstring, without blank and comment lines, each ending with a newline), in prompt order; then the known
        programs' code.
      ends: for each target, the index of the newline that ends its chosen line (a known program's last line).
      lines: for each target, the chosen line (0-based index into the body; for tags and tests).
      parents: how many of the targets are parents (the first ones).
    """

    targets: tuple[str, ...]
    ends: tuple[int, ...]
    lines: tuple[int, ...]
    parents: int = 0

    @classmethod
    def plan(cls, bodies: Sequence[Sequence[str]], rng: random.Random, known: Sequence[str] = (),
             choose: Callable[[Sequence[str], list[int], random.Random], int] | None = None) -> "Divergence | None":
        """A chosen line for each parent body (lists of lines without newlines), then `known` programs' code
        (`code_text` of their bodies) to their last line; None when there is nothing to hold. The line is a random
        simple statement, or what `choose(body, candidates, rng)` picks among them (search/line_odds.py)."""
        targets, ends, lines = [], [], []
        for body in bodies:
            statements = [i for i, line in enumerate(body) if _is_code(line)]
            simple = [i for i in statements if not line_opens(body[i])]
            if not statements:
                continue
            at = (choose or _uniform)(body, simple or statements, rng)
            before = [code_line(line) for line in body[:at] if _is_code(line)]
            targets.append(body_code(body))
            ends.append(sum(len(line) + 1 for line in before) + len(code_line(body[at])))
            lines.append(at)
        parents = len(targets)
        for code in known:
            if code.endswith("\n") and code not in targets:
                targets.append(code)
                ends.append(len(code) - 1)
                lines.append(code.count("\n") - 1)
        return cls(tuple(targets), tuple(ends), tuple(lines), parents) if targets else None

    def chosen_line(self) -> str | None:
        """The chosen line of the last parent (the one the prompt asks to improve), or None without parents."""
        if not self.parents:
            return None
        target, end = self.targets[self.parents - 1], self.ends[self.parents - 1]
        return target[:end].rsplit("\n", 1)[-1]

    def open_copies(self, generated: str) -> list[tuple[str, int]]:
        """For each target the code of `generated` still copies: (the rest of the target, its characters up to
        the chosen line's newline, excluded). A token that starts with that much of the rest and its newline copies
        the line through."""
        code = code_text(generated)
        if code is None:
            return []
        return [(target[len(code):], end - len(code)) for target, end in zip(self.targets, self.ends)
                if len(code) <= end and target.startswith(code)]


def _uniform(body: Sequence[str], candidates: list[int], rng: random.Random) -> int:
    return rng.choice(candidates)


def body_code(body: Sequence[str]) -> str:
    """The code of a body (lines without newlines) as `code_text` reads a completion that writes it."""
    return "".join(code_line(line) + "\n" for line in body if _is_code(line))


def code_text(text: str) -> str | None:
    """`text` as code: complete lines that are blank or only a comment dropped, comments and trailing spaces cut
    from the others; None while the unfinished last line is in a comment (nothing there can copy code)."""
    *done, last = text.split("\n")
    if _comment_at(last) is not None:
        return None
    return "".join(code_line(line) + "\n" for line in done if _is_code(line)) + last


def code_line(line: str) -> str:
    """One line as code: without a comment at its end (a `#` outside quotes) and without trailing spaces."""
    at = _comment_at(line)
    return (line if at is None else line[:at]).rstrip()


def _comment_at(line: str) -> int | None:
    """Where the line's comment starts (a `#` outside string quotes), or None. Quotes are followed within the
    line only: a line inside a multi-line string is read as code (the same way in both texts compared)."""
    quote, i = None, 0
    while i < len(line):
        char = line[i]
        if quote is not None:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#":
            return i
        i += 1
    return None


def _is_code(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def line_opens(line: str) -> bool:
    """A block header or a line that continues on the next (no appended text makes it a one-line change)."""
    return code_line(line).endswith(_OPENERS)


class TokenIndex:
    """A vocabulary by token text, for turning a Divergence into banned token ids.

    Attributes:
      trivial: ids that would close a copied line without changing it (see the module docstring).
    """

    def __init__(self, pieces: Sequence[str | None]):
        """`pieces[i]` is token i's text (None for a token that is not text on its own, e.g. half a UTF-8 char)."""
        ranked = sorted((text, i) for i, text in enumerate(pieces) if text)
        self._texts = [text for text, _ in ranked]
        self._ids = [i for _, i in ranked]
        self.trivial = tuple(i for i, text in enumerate(pieces) if text is not None and is_trivial(text))

    def starting_with(self, prefix: str) -> list[int]:
        """Ids of the tokens whose text starts with `prefix` (non-empty)."""
        lo = bisect.bisect_left(self._texts, prefix)
        hi = lo
        while hi < len(self._texts) and self._texts[hi].startswith(prefix):
            hi += 1
        return self._ids[lo:hi]

    def banned(self, divergence: Divergence, generated: str) -> list[int]:
        """Token ids that may not follow `generated`."""
        out: list[int] = []
        for rest, limit in divergence.open_copies(generated):
            out.extend(self.starting_with(rest[: limit + 1]))
            if limit == 0:
                out.extend(self.trivial)
        return out


def is_trivial(text: str) -> bool:
    """A token that, at the end of a copied line, would leave it unchanged: no text, whitespace, a newline, a
    comment or a semicolon."""
    rest = text.lstrip(" \t")
    return not rest.strip() or rest[0] in "\r\n#;"


class KnownCode:
    """The code of the programs a run has sampled, oldest first, for `Divergence.plan(known=...)`.

    Attributes:
      limit: how many programs are kept (the oldest go first); bounds the work per sampled token.
      codes: code texts (`body_code`), in the order they were first seen.
    """

    def __init__(self, limit: int = 1000, codes: Sequence[str] = ()):
        self.limit = limit
        self._codes: dict[str, None] = dict.fromkeys(codes)

    def add(self, body: Sequence[str]) -> None:
        """Remember one program's body (its lines after the docstring)."""
        code = body_code(body)
        if code and code not in self._codes:
            self._codes[code] = None
            if len(self._codes) > self.limit:
                del self._codes[next(iter(self._codes))]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self._codes)
