"""When a prompt may be drawn and which finished sample is registered next (pure): the two registration modes and
the replay of a recorded order.

The pipeline holds at most `window` samples drawn and not yet registered (window = in-flight prompts per
engine * engines * samples per prompt); that bounds the driver's memory in every mode.
- ordered: sample k's prompt is drawn from a database holding exactly samples 0 .. k-window-1: a draw waits for
  those, and sample j is registered only once sample j+window is drawn (or the run is stopping). Deterministic:
  the run depends on its seed and completions only.
- async: a sample is registered as soon as its result is known, in the order results arrive (FunSearch's design);
  a prompt is drawn whenever fewer than `window` samples are outstanding.
- replay: the recorded interleaving (each sample's `drawn_after`, the registrations done when its prompt was
  drawn, and its `registered_seq`), so `--replay` rebuilds the database of an async run exactly.
Every mode hands the loop the two numbers it records per sample, so any run can be replayed.
"""
from __future__ import annotations


class Schedule:
    """Base: the window and the bookkeeping shared by the modes.

    Attributes:
      window: samples that may be outstanding (drawn, not registered).
      ready: samples whose result is known and which await registration, in the order they became ready.
    """

    mode = "base"

    def __init__(self, window: int):
        self.window = max(1, int(window))
        self.ready: dict[int, None] = {}

    def mark_ready(self, sample_ids) -> None:
        for sid in sorted(sample_ids):
            self.ready[sid] = None

    def may_draw(self, sample_id: int, registered: int) -> bool:
        """May the prompt of `sample_id` be drawn now, with `registered` samples registered in all?"""
        return sample_id - registered <= self.window

    def next(self, registered: int, next_sample: int, stopping: bool) -> int | None:
        """The sample to register now, or None (wait)."""
        raise NotImplementedError

    def take(self, sample_id: int) -> None:
        del self.ready[sample_id]


class Ordered(Schedule):
    mode = "ordered"

    def next(self, registered: int, next_sample: int, stopping: bool) -> int | None:
        # registrations are dense in id order, so `registered` is the next id
        if registered in self.ready and (stopping or registered < next_sample - self.window):
            return registered
        return None


class Async(Schedule):
    mode = "async"

    def next(self, registered: int, next_sample: int, stopping: bool) -> int | None:
        return next(iter(self.ready), None)


class Replay(Schedule):
    """The recorded order: `log` is [(sample id, drawn_after, registered_seq)] of the recorded run."""

    mode = "replay"

    def __init__(self, window: int, log: list[tuple[int, int | None, int | None]]):
        super().__init__(window)
        self.drawn_after = {sid: after for sid, after, _ in log}
        recorded = sorted((seq, sid) for sid, _, seq in log if seq is not None)
        self.order = [sid for _, sid in recorded] + sorted(sid for sid, _, seq in log if seq is None)

    def may_draw(self, sample_id: int, registered: int) -> bool:
        after = self.drawn_after.get(sample_id)
        return super().may_draw(sample_id, registered) if after is None else registered >= after

    def next(self, registered: int, next_sample: int, stopping: bool) -> int | None:
        if registered >= len(self.order):
            return next(iter(self.ready), None)
        sid = self.order[registered]
        if sid not in self.ready:
            return None
        after = self.drawn_after.get(next_sample)
        if stopping or after is None or registered < after:
            return sid
        return None


def make_schedule(mode: str, window: int, log: list | None = None) -> Schedule:
    """The schedule of a run: `log` (a recorded run's registration log) makes it a replay."""
    if log is not None and any(seq is not None for _, _, seq in log):
        return Replay(window, log)
    return Ordered(window) if mode == "ordered" else Async(window)


def recorded_log(run_dir) -> list[tuple[int, int | None, int | None]]:
    """The registration log of a recorded run (store.RunStore.registration_log)."""
    from funsearch.store.run_store import RunStore

    store = RunStore(run_dir, read_only=True)
    try:
        return store.registration_log()
    finally:
        store.close()
