"""The cells of a sweep: one run each, (problem, size, mode, seed) to a budget, its key, RunConfig and status.

A cell's key names its run directory (SWEEP_DIR/cells/<key>/); a grid cell and an adaptive cell with the same
(problem, size, mode, seed) to the largest budget are the same run. Each prepared cell writes its definition
to cell.json in its directory, so results.csv can list every run the sweep folder holds.
"""
from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path

from funsearch.study.experiment import ExperimentConfig

MODES = ("evolve", "best_of_n", "single_island", "random_mutation")
NO_SIZE = "-"


@dataclass(frozen=True)
class Cell:
    """One run of a sweep.

    Attributes:
      problem: problem file; size: model size (NO_SIZE for random_mutation); mode: one of MODES.
      seed: run seed; budget_index: index of the budget the run goes to (the largest in a grid).
      last_index: index of the largest budget (cells to it have no budget suffix in their key).
      variant: the experiment's variant (named run settings) an evolve cell runs with; "" for none.
    """

    problem: str
    size: str
    mode: str
    seed: int
    budget_index: int
    last_index: int
    variant: str = ""

    @property
    def arm(self) -> str:
        """What results and reports compare: the size, or "size/variant" in an ablation."""
        return f"{self.size}/{self.variant}" if self.variant else self.size

    @property
    def key(self) -> str:
        parts = [Path(self.problem).stem] + ([self.size] if self.size != NO_SIZE else []) + \
            ([self.variant] if self.variant else []) + [self.mode, f"s{self.seed}"]
        if self.budget_index != self.last_index:
            parts.append(f"b{self.budget_index}")
        return "__".join(parts)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> "Cell":
        data = json.loads(text)
        return cls(str(data["problem"]), str(data["size"]), str(data["mode"]), int(data["seed"]),
                   int(data["budget_index"]), int(data["last_index"]), str(data.get("variant", "")))


def expand(exp: ExperimentConfig) -> list[Cell]:
    """The grid: problem x size x variant x seed (evolve), plus each baseline x seed, all to the largest budget.

    Seed-major: every problem, size and baseline gets seed 0 before any gets seed 1, so a sweep stopped part-way
    (they take several sittings) leaves balanced results: whole seeds, not whole problems."""
    last = len(exp.budgets) - 1
    cells = []
    for seed in exp.seeds:
        for problem in exp.problems:
            cells += [Cell(problem, size, "evolve", seed, last, last, variant)
                      for size in exp.sizes for variant in (list(exp.variants) or [""])]
            for mode in exp.baselines:
                size = NO_SIZE if mode == "random_mutation" else exp.llm_baseline_size
                cells.append(Cell(problem, size, mode, seed, last, last))
    return cells


SELECTABLE = ("problem", "size", "mode", "seed", "variant")


def select_cells(cells: list[Cell], only: list[str]) -> list[Cell]:
    """The cells every `KEY=V1,V2` filter of `only` admits (`funsearch sweep --only`), in the grid's order.

    KEY is problem (the file's stem or path), size, mode, seed or variant; filters combine with "and". A filter
    that names an unknown key, or admits no cell, raises ValueError (one line, naming what there is)."""
    for spec in only:
        key, sep, values = spec.partition("=")
        key, wanted = key.strip(), {v.strip() for v in values.split(",") if v.strip()}
        if not sep or key not in SELECTABLE or not wanted:
            raise ValueError(f"--only {spec!r}: give KEY=VALUE[,VALUE...] with KEY one of {', '.join(SELECTABLE)}")
        kept = [c for c in cells if _field(c, key) & wanted]
        if not kept:
            there = sorted({v for c in cells for v in _field(c, key)} - {NO_SIZE}, key=lambda v: (len(v), v))
            raise ValueError(f"--only {spec!r} admits no cell; {key}: {', '.join(there) or '(none)'}")
        cells = kept
    return cells


def _field(cell: Cell, key: str) -> set[str]:
    """The values a cell answers to for `key` (a problem by its stem and by its path)."""
    if key == "problem":
        return {Path(cell.problem).stem, cell.problem}
    return {str(getattr(cell, key))}


def cell_config(exp: ExperimentConfig, cell: Cell, scripted_file: str | None = None):
    """The RunConfig of a cell."""
    from funsearch.config import make_config

    return make_config(
        problem=str(Path(cell.problem).resolve()), model_sizes=exp.sizes[0] if cell.size == NO_SIZE else cell.size,
        backend=exp.backend, scripted_file=scripted_file or exp.scripted_file, base_url=exp.base_url,
        api_key_env=exp.api_key_env, threads=exp.threads, samples=exp.max_samples,
        budget=exp.budgets[cell.budget_index], hardware=exp.hardware, price_as=exp.price_as, seed=cell.seed,
        modelled_batch=exp.modelled_batch,
        islands=1 if cell.mode == "single_island" else exp.islands, eval_timeout=exp.eval_timeout,
        max_tokens=exp.max_tokens, temperature=exp.temperature,
        mode="evolve" if cell.mode == "single_island" else cell.mode, **exp.variants.get(cell.variant, {}))


def shuffled_script(texts: list, seed: int) -> list:
    """The scripted completions in the seed's own order (pure)."""
    texts = list(texts)
    random.Random(f"scripted-{seed}").shuffle(texts)
    return texts


def cell_status(run_dir: Path) -> str:
    """"new" (no usable store), "unfinished" or "finished".

    Unfinished: no stop reason, "interrupted", or a run that stopped but has not recorded the held-out evaluation
    its config asks for yet (it is being evaluated, or the process died there: resuming it stops at once and
    evaluates). So a cell is compacted only once its store is complete.
    """
    from funsearch.store.run_store import RunStore, StoreError

    if not (run_dir / "run.sqlite").is_file() or not (run_dir / "config.json").is_file():
        return "new"
    try:
        store = RunStore(run_dir)
    except StoreError:
        return "new"
    try:
        reason, config, heldout = store.meta("stop_reason"), store.meta("config") or {}, store.meta("heldout")
    finally:
        store.close()
    if not reason or reason == "interrupted":
        return "unfinished"
    return "unfinished" if config.get("heldout") is True and heldout is None else "finished"


def recorded_cells(cells_dir: Path, exp: ExperimentConfig) -> list[Cell]:
    """Every cell whose directory under cells_dir records its definition (cell.json) and fits the experiment.

    Directories from before cell.json was written are matched by key against the experiment's grid.
    """
    grid = {c.key: c for c in expand(exp)}
    out = []
    for run_dir in sorted(p for p in Path(cells_dir).glob("*") if p.is_dir()):
        path = run_dir / "cell.json"
        try:
            cell = Cell.from_json(path.read_text()) if path.is_file() else grid.get(run_dir.name)
        except (ValueError, KeyError, TypeError):
            cell = grid.get(run_dir.name)
        if cell is None or cell.key != run_dir.name or cell.budget_index >= len(exp.budgets):
            continue
        out.append(cell)
    return out
