"""`funsearch sweep`: run an experiment's cells (resumably) and keep SWEEP_DIR/results.csv current.

A cell is one run: (problem, size, mode, seed) to the largest budget (cells.py). Every smaller budget is read
from the run's ledger rows (budget_curves.py), so one long run per cell yields the whole curve.
Modes: evolve (the search itself), best_of_n, single_island and random_mutation (the baselines).
`--adaptive` chooses which evolve cells to run (adaptive_sweep.py, adaptive.py); `--parallel` runs cells as
Ray tasks (orchestrator/tasks.py). `--reuse DIR` takes a cell finished in another folder of the same experiment
(same key, same defining settings) instead of running it again: an adaptive sweep replayed over a grid's runs.

Layout (folder.py):  experiment.json, compact/<key>.json (a finished cell, committed), cells/<key>/ (its run
directory: run.sqlite, config.json, cell.json, log.txt; git-ignored), adaptive.json, results.csv.
Resume: a cell with a compact file, or whose store has a stop_reason (other than "interrupted"), is finished
and skipped (its compact file is written as it finishes); a cell with a store but no clean stop is resumed
with run_search(..., resume=True). A folder holding another experiment's results is refused before any run.
With the scripted backend each seed replays the completion list in its own seeded order.
"""
from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path
from typing import Callable

from funsearch.study.cells import Cell, cell_config, shuffled_script
from funsearch.study.experiment import ExperimentConfig
from funsearch.study.folder import SweepFolder

CPUS_PER_CELL = 2  # a cell's proposer and evaluator actors take one logical CPU each


class Sweep:
    """Runs the cells of one experiment in SWEEP_DIR, resumably, and keeps results.csv current."""

    def __init__(self, exp: ExperimentConfig, sweep_dir: Path, echo: Callable[[str], None] = print,
                 parallel: int = 1, address: str | None = None, reuse: Path | None = None):
        self.exp, self.dir, self.echo, self.parallel, self.address = exp, Path(sweep_dir), echo, parallel, address
        self.reuse = SweepFolder.open(reuse) if reuse is not None else None
        if self.reuse is not None:
            self.reuse.check_compacts_against(exp)    # before anything is written
        self.folder = SweepFolder(exp, self.dir)
        self.folder.adopt()                     # refuses another experiment's folder, before any run
        self.known: dict[str, Cell] = {}

    def run_dir(self, cell: Cell) -> Path:
        return self.folder.run_dir(cell)

    def status(self, cell: Cell) -> str:
        return self.folder.status(cell)

    def cell_rows(self, cell: Cell) -> list[dict]:
        """results.csv rows of a finished cell (from its compact summary, written from the store when missing)."""
        data = self.folder.compact_of(cell.key, cell)
        return data["rows"] if data else []

    def run_cells(self, cells: list[Cell]) -> None:
        """Run the cells not finished yet (skipping finished ones), then rewrite results.csv."""
        for cell in cells:
            self.known[cell.key] = cell
        if self.reuse is not None:
            self._take_reused(cells)
        todo = [c for c in cells if self.status(c) != "finished"]
        if len(todo) < len(cells):
            self.echo(f"{len(cells) - len(todo)} of {len(cells)} cells already finished (skipped)")
        if todo and self.parallel > 1:
            self._run_parallel(todo)
        else:
            for k, cell in enumerate(todo, 1):
                self._run_one(cell, k, len(todo))
        self.write()

    def _take_reused(self, cells: list[Cell]) -> None:
        """Copy the compact summaries of cells that --reuse's folder finished (and this one did not)."""
        taken = [c.key for c in cells if self.status(c) != "finished" and self.folder.take(self.reuse, c.key)]
        if taken:
            self.echo(f"{len(taken)} cells reused from {self.reuse.dir}: {', '.join(taken)}")

    def _prepare(self, cell: Cell) -> tuple[dict, bool]:
        """(RunConfig as a dict, resume?) for a cell, starting it over when its directory is unusable."""
        run_dir = self.run_dir(cell)
        status = self.status(cell)
        if status == "new" and run_dir.exists():
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "cell.json").write_text(cell.to_json())
        scripted = None
        if self.exp.backend == "scripted" and cell.mode != "random_mutation":
            scripted = run_dir / "completions.json"
            if not scripted.exists():
                texts = json.loads(Path(self.exp.scripted_file).read_text())
                scripted.write_text(json.dumps(shuffled_script(texts, cell.seed)))
            scripted = str(scripted.resolve())
        cfg = cell_config(self.exp, cell, scripted)
        if self.address:
            cfg = cfg.model_copy(update={"address": self.address})
        return cfg.model_dump(), status == "unfinished"

    def _run_one(self, cell: Cell, k: int, n: int) -> None:
        cfg, resume = self._prepare(cell)
        start = time.monotonic()
        self.echo(f"[{k}/{n}] {cell.key}: {'resuming' if resume else 'running'} to "
                  f"{self.exp.budgets[cell.budget_index]}")
        summary = execute_cell(cfg, str(self.run_dir(cell)), resume)
        self.folder.compact_of(cell.key, cell)
        self.echo(f"[{k}/{n}] {cell.key}: {summary['samples']} samples, best {fmt(summary['best_score'])}, "
                  f"stopped: {summary['stop_reason']} ({time.monotonic() - start:.1f} s)")
        if summary["interrupted"]:
            raise KeyboardInterrupt

    def _run_parallel(self, todo: list[Cell]) -> None:
        """Run cells as Ray tasks (orchestrator/tasks.py), as many at once as --parallel and the cluster's CPUs
        allow (2 CPUs per cell)."""
        from funsearch.orchestrator.tasks import run_as_tasks

        done = []

        def start(cell: Cell) -> tuple:
            cfg, resume = self._prepare(cell)
            self.echo(f"started {cell.key}{' (resuming)' if resume else ''}")
            return cfg, str(self.run_dir(cell)), resume

        def finish(cell: Cell, summary: dict | None, error: str | None, seconds: float) -> None:
            done.append(cell)
            if error is not None:
                self.echo(f"[{len(done)}/{len(todo)}] {cell.key}: failed: {error}")
                return
            self.folder.compact_of(cell.key, cell)
            self.echo(f"[{len(done)}/{len(todo)}] {cell.key}: {summary['samples']} samples, best "
                      f"{fmt(summary['best_score'])}, stopped: {summary['stop_reason']} ({seconds:.1f} s)")
            self.write()

        run_as_tasks(execute_cell, todo, start, finish, parallel=self.parallel, cpus_each=CPUS_PER_CELL,
                     address=self.address, echo=self.echo)

    def run_adaptive(self) -> None:
        """Baselines as in the grid; then, per problem, evolve runs chosen one at a time (adaptive_sweep.py)."""
        from funsearch.study.adaptive_sweep import run_adaptive

        run_adaptive(self)

    def cells(self) -> list[Cell]:
        """Every cell of this sweep: those run in this process and those recorded (cells/, compact/) by earlier ones."""
        return self.folder.cells(self.known)

    def rows(self) -> list[dict]:
        """results.csv rows of every finished cell (grid and adaptive runs alike)."""
        return self.folder.rows(self.known)

    def write(self) -> Path:
        return self.folder.write_results(self.known)


def execute_cell(cfg: dict, run_dir: str, resume: bool) -> dict:
    """Run one cell to its stop (in this process or a Ray task); its progress lines go to RUN_DIR/log.txt."""
    from funsearch.config import RunConfig
    from funsearch.orchestrator import run_search

    with open(Path(run_dir) / "log.txt", "a") as log:
        def echo(line: str) -> None:
            log.write(line.lstrip("\r") + "\n")
            log.flush()
        summary = run_search(RunConfig.model_validate(cfg), Path(run_dir), resume=resume, echo=echo)
    return {"samples": summary.samples, "best_score": summary.best_score, "stop_reason": summary.stop_reason,
            "interrupted": summary.interrupted}


def fmt(value) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.6g}"
