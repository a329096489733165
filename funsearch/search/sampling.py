"""One prompt draw and what becomes of its completions before evaluation (pure).

The database actor draws parents and plans the prompt with the run's strategy (funsearch/program/strategies.py)
into a `PromptDraw`; each completion is read back through that plan: extraction runs on what the prompt
already wrote of the function plus the completion, and calls to earlier versions get those parents as helpers
(funsearch/program/parents.py). The draw's `rng` is seeded by the run seed and the sample id, so a run's
prompts depend on its seed and its registered results only.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, replace

from funsearch.program.canonical import program_hash
from funsearch.program.parents import with_parent_helpers
from funsearch.program.strategies import PromptPlan
from funsearch.proposers.base import Completion
from funsearch.records import FailureKind
from funsearch.search.bookkeeping import SampleOutcome, extract


@dataclass(frozen=True)
class PromptDraw:
    """The database's answer to "a prompt, please".

    Attributes:
      island: the island the parents come from (the child is registered there).
      parent_ids: database ids of the parents, ascending score.
      parent_hashes: their program hashes (copies of them are recognised; the cascade compares with them).
      parent_sources: their sources (helpers for programs that call `<name>_vK`).
      plan: the prompt text and how to read its completion.
      temperature: the sampling temperature the island's steering asks for.
      registered: programs registered on the island so far (a sample's staleness is measured from here).
    """

    island: int
    parent_ids: tuple[int, ...]
    parent_hashes: tuple[str, ...]
    parent_sources: tuple[str, ...]
    plan: PromptPlan
    temperature: float
    registered: int = 0


def draw_rng(run_seed: int, sample_id: int) -> random.Random:
    """The strategy's random source for the prompt of `sample_id` (stateless: nothing to checkpoint)."""
    return random.Random(f"prompt:{run_seed}:{sample_id}")


def read_completion(sample_id: int, completion: Completion, draw: PromptDraw, function_name: str,
                    parameters: tuple[str, ...]) -> SampleOutcome:
    """The program a completion holds (through the draw's plan, with called parents added), or its failure."""
    text = replace(completion, text=draw.plan.program_text(completion.text))
    outcome = extract(sample_id, text, function_name, parameters, draw.plan.header)
    if outcome.source is None:
        return outcome
    try:
        source, added = with_parent_helpers(outcome.source, function_name, draw.parent_sources)
        if not added:
            return outcome
        note = f"added {', '.join(f'{function_name}_v{k}' for k in added)} (called, not defined)"
        return SampleOutcome(sample_id, source, program_hash(source), None, note)
    except Exception:  # the harness never fails on candidate text: keep the program as extracted
        return outcome


def copy_kind(program_hash_: str, draw: PromptDraw) -> str:
    """How a duplicate relates to its prompt: "parent" (it reproduces one shown) or "earlier" (another program)."""
    return "parent" if program_hash_ in draw.parent_hashes else "earlier"


CONTRACT_KEPT = (None, FailureKind.NOOP.value, FailureKind.CASCADE_STOP.value)  # failures with valid output


def divergence_feedback(draw: PromptDraw | None, failure: str | None, outcome: str) -> tuple[str | None, bool]:
    """(the last parent's line the sample was made to diverge at, whether it gave a valid program): what learned
    divergence lines (search/line_odds.py) count. (None, False) when the prompt held no divergence."""
    divergence = draw.plan.divergence if draw is not None else None
    line = divergence.chosen_line() if divergence is not None else None
    return line, line is not None and outcome != "copy" and failure in CONTRACT_KEPT
