"""The protocol every proposer backend implements, and the usage it reports.

A backend turns a prompt into completions and reports what that cost in tokens
and seconds; pricing happens centrally (cost/roofline.py, cost/budget.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from funsearch.program.divergence import Divergence


class ProposerError(RuntimeError):
    """A backend could not produce completions (server down, model missing...). One-line message."""


@dataclass(frozen=True)
class SamplingParams:
    """How to sample.

    Attributes:
      temperature: softmax temperature.
      top_p: nucleus sampling mass.
      max_tokens: cap on completion tokens.
      stop: stop sequences; the completion excludes them.
      seed: base seed; sample i of a call uses seed + i so every sample differs and replays exactly.
      divergence: text the completion may not copy past a chosen line (program/divergence.py); applied by the
        llama.cpp backend in completion mode (the run refuses it with backends that cannot apply it).
    """

    temperature: float = 0.8
    top_p: float = 0.95
    max_tokens: int = 400
    stop: tuple[str, ...] = ()
    seed: int = 0
    divergence: Divergence | None = None

    def key(self) -> tuple:
        return (self.temperature, self.top_p, self.max_tokens, tuple(self.stop), self.seed)


@dataclass(frozen=True)
class Usage:
    """What one completion cost.

    Attributes:
      prompt_tokens: tokens in the prompt as the backend counted them.
      completion_tokens: tokens generated.
      seconds: wall seconds from request to last token, as seen by the caller.
      busy_seconds: seconds the engine itself was busy for this completion (<= seconds; equal for llama.cpp).
      cached_prompt_tokens: prompt tokens the engine reused from its KV cache instead of computing (0: none
        or unknown); prefill work is prompt_tokens - cached_prompt_tokens.
    """

    prompt_tokens: int
    completion_tokens: int
    seconds: float
    busy_seconds: float
    cached_prompt_tokens: int = 0


@dataclass(frozen=True)
class Completion:
    """One sampled completion.

    Attributes:
      text: the generated text (without the prompt).
      usage: tokens and seconds.
      model: the model name as the registry knows it (e.g. "small").
      seed: the seed this exact sample used (for replay).
      finish_reason: "stop", "length", or the backend's word.
    """

    text: str
    usage: Usage
    model: str
    seed: int
    finish_reason: str = "stop"
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A backend can hand over lone surrogates (a JSON "\ud800" escape, a token cut mid-character): no UTF-8
        # store or terminal takes them, so they become U+FFFD here, as a UTF-8 decoder would make of them.
        if isinstance(self.text, str) and not self.text.isascii():
            clean = self.text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
            if clean != self.text:
                object.__setattr__(self, "text", clean)


def merged_stop(spec_stop: tuple[str, ...], params: SamplingParams) -> list[str]:
    """A request's stop sequences followed by the model's defaults, without duplicates or empty strings."""
    out: list[str] = []
    for s in (*params.stop, *spec_stop):
        if s and s not in out:
            out.append(s)
    return out


@runtime_checkable
class Proposer(Protocol):
    """A backend. `complete` returns `n` completions of `prompt` (seeds params.seed .. params.seed+n-1)."""

    model: str

    def complete(self, prompt: str, params: SamplingParams, n: int = 1) -> list[Completion]: ...

    def close(self) -> None: ...
