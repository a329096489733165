"""Prompt draws on their way: sent to the database actor without waiting, answered in the order they were sent.

The database actor runs its calls in the order the driver sends them, so a draw sees exactly the registrations
sent before it, though the driver does not wait for either: the loop sends registrations and draws as fast as
the schedule allows and hands the prompts to the engines when the answers come back.
"""
from __future__ import annotations

from dataclasses import replace

import ray

from funsearch.proposers.base import SamplingParams
from funsearch.search import bookkeeping


class Draws:
    """Rounds of draws not yet answered: ref -> (requests [(slot, first sample id, n)], programs per island when
    the round was sent: each sample's staleness counts from there)."""

    def __init__(self):
        self.refs: dict = {}

    def samples(self) -> int:
        return sum(n for wanted, _ in self.refs.values() for _, _, n in wanted)

    def in_flight(self, pool) -> list[tuple[str, int]]:
        """(size, samples) of every request still being drawn (for the budget)."""
        return [(pool.slots[slot], n) for wanted, _ in self.refs.values() for slot, _, n in wanted]

    def send(self, db, pool, cfg, wanted: list[tuple[int, int, int]], island_programs: dict[int, int]) -> None:
        best_of_n = cfg.mode == "best_of_n"
        ref = db.sample_prompts.remote([(pool.strategy(slot), best_of_n, k, cfg.temperature) for slot, k, _ in wanted])
        self.refs[ref] = (wanted, dict(island_programs))

    def answer(self, ref, pool, cfg) -> None:
        """The prompts of one round: each goes to the proposer slot reserved for it."""
        wanted, seen = self.refs.pop(ref)
        for (slot, k, n), draw in zip(wanted, ray.get(ref)):
            draw = replace(draw, registered=seen.get(draw.island, 0))
            params = SamplingParams(temperature=draw.temperature, top_p=cfg.top_p, max_tokens=cfg.max_tokens,
                                    stop=pool.stops(slot), seed=bookkeeping.sample_seed(cfg.seed, k),
                                    divergence=draw.plan.divergence)
            pool.submit(slot, draw, params, n, k)
