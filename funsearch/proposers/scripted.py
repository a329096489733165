"""A proposer that replays a given list of completion texts, for fast tests of everything around the model."""
from __future__ import annotations

import re
import threading
from typing import Iterable, Literal

from funsearch.proposers.base import Completion, ProposerError, SamplingParams, Usage


class ScriptedProposer:
    """Returns the scripted texts in order, one per sample, across calls.

    Usage is synthetic: tokens are whitespace-separated words of the prompt and of the text;
    `seconds` (default 0) is reported per sample, nothing actually sleeps.

    Attributes:
      model: the model name put on every completion.
      texts: the script.
      when_exhausted: "cycle" starts the script again; "raise" raises ProposerError.
      seconds: synthetic seconds per sample (also used as busy_seconds).
      calls: number of samples served so far.
    """

    def __init__(self, texts: Iterable[str], model: str = "scripted", *,
                 when_exhausted: Literal["cycle", "raise"] = "cycle", seconds: float = 0.0):
        self.texts = tuple(texts)
        if not self.texts:
            raise ProposerError("scripted proposer needs at least one text")
        if when_exhausted not in ("cycle", "raise"):
            raise ProposerError(f"when_exhausted must be 'cycle' or 'raise', not {when_exhausted!r}")
        self.model, self.when_exhausted, self.seconds = model, when_exhausted, float(seconds)
        self.calls = 0
        self._lock = threading.Lock()

    def _next(self) -> str:
        with self._lock:
            i = self.calls
            if i >= len(self.texts) and self.when_exhausted == "raise":
                raise ProposerError(f"scripted proposer exhausted after {len(self.texts)} completions")
            self.calls += 1
            return self.texts[i % len(self.texts)]

    def complete(self, prompt: str, params: SamplingParams, n: int = 1) -> list[Completion]:
        prompt_tokens = len(prompt.split())
        out = []
        for i in range(n):
            text = self._next()
            text, finish = _apply_limits(text, params)
            usage = Usage(prompt_tokens, len(text.split()), self.seconds, self.seconds)
            out.append(Completion(text, usage, self.model, params.seed + i, finish))
        return out

    def close(self) -> None:
        pass


def _apply_limits(text: str, params: SamplingParams) -> tuple[str, str]:
    """Cut at the earliest stop sequence, then at max_tokens words (whitespace kept), like a real backend."""
    cuts = [text.index(s) for s in params.stop if s and s in text]
    if cuts:
        text = text[: min(cuts)]
    words = list(re.finditer(r"\S+", text))
    if len(words) > params.max_tokens:
        return text[: words[params.max_tokens - 1].end()] if params.max_tokens > 0 else "", "length"
    return text, "stop"
