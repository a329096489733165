"""The program database: islands, clusters by score signature, temperature sampling, resets.

Pure and seeded (one `random.Random`), serialisable with `to_dict`/`from_dict`. As in FunSearch:
a prompt comes from one island chosen uniformly; within it, clusters (programs with the same
per-instance scores) are drawn without replacement by a softmax of their min-max normalised
score at temperature T = T0 * (1 - (n mod period) / period), n being the island's registered
samples; within a cluster shorter programs are preferred (softmax of minus the min-max
normalised length). Every `reset_period` registered samples the weaker half of the islands is
emptied and reseeded with the best program of a random surviving island.

Speed: the per-island structures (islands.py) cache cumulative sampling weights, so
registering is O(1) amortised and sampling a binary search; T is piecewise constant over
`temperature_steps` steps per period so that the cache is rebuilt only when T moves to its next step.
"""
from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field

from funsearch.program.canonical import hash_and_length
from funsearch.search.islands import Island


@dataclass(frozen=True)
class DatabaseConfig:
    """How the database samples and resets.

    Attributes:
      islands: number of independently evolving islands.
      functions_per_prompt: parents per prompt (k); fewer when an island has fewer clusters.
      cluster_temperature_init: T0, the cluster softmax temperature at the start of each period
        (cluster scores are normalised to [0, 1] per island, so 0.1 makes the best cluster e^10
        times likelier than the worst).
      cluster_temperature_period: registered samples (per island) over which T decays from T0 towards 0.
      temperature_steps: T changes in this many equal steps per period (cached weights are reused between steps).
      length_temperature: softmax temperature over minus the normalised length within a cluster
        (1.0: the shortest program is e times likelier than the longest).
      reset_period: registered samples (all islands together) between resets of the weaker half;
        None means 250 * islands, i.e. about 250 samples per island, the sample-count analogue of
        FunSearch's 4-hour wall-clock period.
    """

    islands: int = 10
    functions_per_prompt: int = 2
    cluster_temperature_init: float = 0.1
    cluster_temperature_period: int = 30_000
    temperature_steps: int = 1_000
    length_temperature: float = 1.0
    reset_period: int | None = None

    def __post_init__(self) -> None:
        for name in ("islands", "functions_per_prompt", "cluster_temperature_period", "temperature_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("cluster_temperature_init", "length_temperature"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.reset_period is not None and self.reset_period < 1:
            raise ValueError(f"reset_period must be at least 1 or None, got {self.reset_period}")

    @property
    def samples_between_resets(self) -> int:
        return self.reset_period if self.reset_period is not None else 250 * self.islands


@dataclass(frozen=True)
class ProgramRecord:
    """One registered program.

    Attributes:
      id: position in registration order (0, 1, ...).
      source: the program (module-level code defining the evolved function).
      hash: program.canonical.program_hash of the source (dedupe key).
      score: the training score (higher is better).
      signature: per-instance scores; programs with equal signatures share a cluster.
      island: the island it was registered on; None for a program registered on every island (the baseline).
      length: program.canonical.body_length of the source (shorter is preferred within a cluster).
      sample_id: the orchestrator's id of the sample that produced it, if any.
      meta: free JSON-able annotations (model, parents, ...); not compared.
    """

    id: int
    source: str
    hash: str
    score: float
    signature: tuple[float, ...]
    island: int | None
    length: int
    sample_id: int | str | None = None
    meta: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class PromptRequest:
    """What `sample()` returns: build a prompt from these parents and register the result on `island`.

    Attributes:
      island: the island the parents come from (register the child there).
      parents: the parent programs in ascending score.
      request_id: running number of prompts drawn from this database.
    """

    island: int
    parents: tuple[ProgramRecord, ...]
    request_id: int


class ProgramDatabase:
    """Islands of programs; see the module docstring for the sampling rules."""

    def __init__(self, config: DatabaseConfig, seed: int) -> None:
        self.config, self.seed = config, seed
        self._rng = random.Random(seed)
        self._islands = [Island() for _ in range(config.islands)]
        self._records: list[ProgramRecord] = []
        self._by_hash: dict[str, int] = {}
        self._best: ProgramRecord | None = None
        self._samples = self._duplicates = self._resets = self._requests = 0

    def temperature(self, island: int) -> float:
        """The cluster temperature island `island` samples at now."""
        c = self.config
        step = (self._islands[island].samples % c.cluster_temperature_period) * c.temperature_steps \
            // c.cluster_temperature_period
        return c.cluster_temperature_init * (1 - step / c.temperature_steps)

    def register(self, program_source: str, signature: tuple[float, ...], score: float,
                 island: int | None = None, meta: dict | None = None, *, sample_id: int | str | None = None,
                 program_hash: str | None = None, length: int | None = None) -> ProgramRecord:
        """Add an evaluated program to `island` (None: every island, for the baseline).

        A program whose hash is already on the island is not added again: its existing record is
        returned and counted as a duplicate. `program_hash`/`length` skip recomputing them.
        """
        if not math.isfinite(score) or not all(math.isfinite(s) for s in signature):
            raise ValueError(f"score and signature must be finite, got {score} and {tuple(signature)}")
        if island is not None and not 0 <= island < len(self._islands):
            raise ValueError(f"island {island} is out of range [0, {len(self._islands)})")
        if program_hash is None or length is None:
            computed_hash, computed_length = hash_and_length(program_source)
            program_hash = program_hash or computed_hash
            length = computed_length if length is None else length
        targets = range(len(self._islands)) if island is None else (island,)
        fresh = [i for i in targets if program_hash not in self._islands[i].hashes]
        self._duplicates += program_hash in self._by_hash
        for i in targets:
            self._islands[i].samples += 1
        if fresh:
            record = ProgramRecord(len(self._records), program_source, program_hash, float(score),
                                   tuple(float(s) for s in signature), island, int(length), sample_id, dict(meta or {}))
            self._records.append(record)
            self._by_hash.setdefault(program_hash, record.id)
            for i in fresh:
                self._islands[i].add(record)
            if self._best is None or record.score > self._best.score:
                self._best = record
        else:
            record = self._records[self._islands[targets[0]].hashes[program_hash]]
        if island is not None:
            self._samples += 1
            if self._samples % self.config.samples_between_resets == 0:
                self._reset()
        return record

    def lookup(self, program_hash: str) -> ProgramRecord | None:
        """The first program registered with this hash (reuse its score instead of evaluating), or None."""
        pid = self._by_hash.get(program_hash)
        return None if pid is None else self._records[pid]

    def sample(self) -> PromptRequest:
        """Parents for the next prompt, from a uniformly chosen non-empty island."""
        live = [i for i, isl in enumerate(self._islands) if isl.clusters]
        if not live:
            raise ValueError("the database is empty: register the baseline program first")
        i = live[self._rng.randrange(len(live))]
        isl = self._islands[i]
        chosen = isl.choose(self.config.functions_per_prompt, self.temperature(i), self._rng)
        t = self.config.length_temperature
        parents = tuple(self._records[isl.clusters[c].pick(self._rng.random(), t)] for c in chosen)
        self._requests += 1
        return PromptRequest(island=i, parents=parents, request_id=self._requests - 1)

    def _reset(self) -> None:
        """Empty the weaker half of the islands; reseed each with the best of a random stronger island."""
        n = len(self._islands)
        order = sorted(range(n), key=lambda i: (self._islands[i].best.score if self._islands[i].best
                                                 else -math.inf, self._rng.random()))
        weak, strong = order[: n // 2], order[n // 2:]
        for i in weak:
            founder = self._islands[strong[self._rng.randrange(len(strong))]].best
            self._islands[i] = Island()
            if founder is not None:
                self._islands[i].add(founder)
        self._resets += bool(weak)

    def best(self) -> ProgramRecord:
        """The highest-scoring program ever registered (the earliest on ties)."""
        if self._best is None:
            raise ValueError("the database is empty: register the baseline program first")
        return self._best

    def best_per_island(self) -> tuple[ProgramRecord | None, ...]:
        return tuple(isl.best for isl in self._islands)

    def stats(self) -> dict:
        """Counts for progress displays and the run store (JSON-able)."""
        return {
            "programs": len(self._records), "samples_registered": self._samples, "duplicates": self._duplicates,
            "resets": self._resets, "prompts": self._requests,
            "best_score": None if self._best is None else self._best.score,
            "islands": [{"programs": len(isl.hashes), "clusters": len(isl.clusters), "samples": isl.samples,
                         "best_score": None if isl.best is None else isl.best.score,
                         "temperature": self.temperature(i)} for i, isl in enumerate(self._islands)],
        }

    def to_dict(self) -> dict:
        """JSON-able state, RNG included: `from_dict(to_dict())` continues exactly where this left off."""
        state = self._rng.getstate()
        return {
            "format": 1, "config": asdict(self.config), "seed": self.seed,
            "rng": [state[0], list(state[1]), state[2]],
            "counters": [self._samples, self._duplicates, self._resets, self._requests],
            "records": [{**asdict(r), "signature": list(r.signature)} for r in self._records],
            "best": None if self._best is None else self._best.id,
            "islands": [{"samples": isl.samples, "best": None if isl.best is None else isl.best.id,
                         "clusters": [c.ids for c in isl.clusters]} for isl in self._islands],
        }

    @classmethod
    def from_dict(cls, data: dict) -> "ProgramDatabase":
        if data.get("format") != 1:
            raise ValueError(f"unknown database format {data.get('format')!r}")
        db = cls(DatabaseConfig(**data["config"]), data["seed"])
        version, internal, gauss = data["rng"]
        db._rng.setstate((version, tuple(internal), gauss))
        db._samples, db._duplicates, db._resets, db._requests = data["counters"]
        db._records = [ProgramRecord(**{**r, "signature": tuple(r["signature"])}) for r in data["records"]]
        db._by_hash = {}
        for r in db._records:
            db._by_hash.setdefault(r.hash, r.id)
        db._best = None if data["best"] is None else db._records[data["best"]]
        for isl, saved in zip(db._islands, data["islands"]):
            for ids in saved["clusters"]:
                for pid in ids:
                    isl.add(db._records[pid])
            isl.samples = saved["samples"]
            isl.best = None if saved["best"] is None else db._records[saved["best"]]
        return db
