"""`funsearch sweep`: expand an experiment into cells, run them (resumably), and write SWEEP_DIR/results.csv.

A cell is one run: (problem, size, mode, seed) to the largest budget. Every smaller budget is read
from the run's rows (`budget_checkpoints`), so one long run per cell yields the whole curve.
Modes: evolve (the search itself), best_of_n, single_island and random_mutation (the baselines).

Layout:  SWEEP_DIR/experiment.json   the validated experiment
         SWEEP_DIR/cells/<key>/      one run directory per cell (run.sqlite, config.json, log.txt)
         SWEEP_DIR/results.csv       one row per (finished run, budget checkpoint)
Resume: a cell whose store has a stop_reason (other than "interrupted") is finished and skipped; a cell
with a store but no clean stop is resumed with run_search(..., resume=True).
With the scripted backend each seed replays the completion list in its own seeded order.
"""
from __future__ import annotations

import csv
import json
import math
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from funsearch.budget import BudgetUnit
from funsearch.experiment import ExperimentConfig

CPUS_PER_CELL = 2  # a cell's proposer and evaluator actors take one logical CPU each
MODES = ("evolve", "best_of_n", "single_island", "random_mutation")
NO_SIZE = "-"
COLUMNS = ("problem", "size", "mode", "seed", "budget", "budget_amount", "unit", "score", "metric_name", "metric",
           "baseline_score", "samples", "valid", "valid_rate", "tokens", "measured_cost", "modelled_cost",
           "spent", "reached", "run_budget", "stop_reason", "cell")


@dataclass(frozen=True)
class Cell:
    """One run of a sweep.

    Attributes:
      problem: problem file; size: model size (NO_SIZE for random_mutation); mode: one of MODES.
      seed: run seed; budget_index: index of the budget the run goes to (the largest in a grid).
      last_index: index of the largest budget (cells to it have no budget suffix in their key).
    """

    problem: str
    size: str
    mode: str
    seed: int
    budget_index: int
    last_index: int

    @property
    def key(self) -> str:
        parts = [Path(self.problem).stem] + ([self.size] if self.size != NO_SIZE else []) + [self.mode, f"s{self.seed}"]
        if self.budget_index != self.last_index:
            parts.append(f"b{self.budget_index}")
        return "__".join(parts)


def expand(exp: ExperimentConfig) -> list[Cell]:
    """The grid: problem x size x seed (evolve), plus each baseline x seed, all to the largest budget."""
    last = len(exp.budgets) - 1
    cells = []
    for problem in exp.problems:
        for seed in exp.seeds:
            cells += [Cell(problem, size, "evolve", seed, last, last) for size in exp.sizes]
            for mode in exp.baselines:
                size = NO_SIZE if mode == "random_mutation" else exp.llm_baseline_size
                cells.append(Cell(problem, size, mode, seed, last, last))
    return cells


def cell_config(exp: ExperimentConfig, cell: Cell, scripted_file: str | None = None):
    """The RunConfig of a cell."""
    from funsearch.config import make_config

    return make_config(
        problem=str(Path(cell.problem).resolve()), model_sizes=exp.sizes[0] if cell.size == NO_SIZE else cell.size,
        backend=exp.backend, scripted_file=scripted_file or exp.scripted_file, base_url=exp.base_url,
        api_key_env=exp.api_key_env, threads=exp.threads, samples=exp.max_samples,
        budget=exp.budgets[cell.budget_index], hardware=exp.hardware, price_as=exp.price_as, seed=cell.seed,
        islands=1 if cell.mode == "single_island" else exp.islands, eval_timeout=exp.eval_timeout,
        max_tokens=exp.max_tokens, temperature=exp.temperature,
        mode="evolve" if cell.mode == "single_island" else cell.mode)


def shuffled_script(texts: list, seed: int) -> list:
    """The scripted completions in the seed's own order (pure)."""
    texts = list(texts)
    random.Random(f"scripted-{seed}").shuffle(texts)
    return texts


# --- reading a finished run (pure) --------------------------------------------------------------------------
def budget_checkpoints(samples: list[dict], evaluations: list[dict], programs: list[dict], amounts, unit: BudgetUnit,
                       price_per_hour: float | None = None, stop_reason: str | None = None) -> list[dict]:
    """The run's state at each budget: walk samples in id order with cumulative spend, keep the last state <= b.

    Spend per sample in `unit`: dollars = modelled cost of the sample plus of the evaluation it triggered (the
    seed program's evaluation, sample_id -1, is spent first); gpu_seconds = the sample's modelled dollars at
    the price-as profile's hourly price; tokens = prompt + completion tokens; samples = 1.
    Each state: spent, samples, valid (new valid programs), tokens, measured_cost, modelled_cost (dollars),
    best score, its program hash, reached (whether the run spent b: its total passed b, or it stopped because
    its budget, the largest of `amounts`, could not pay for another sample).
    """
    evals = {e["sample_id"]: e for e in evaluations}
    best_by_sample: dict[int, tuple[float, str]] = {}
    for p in programs:
        sid = p["sample_id"] if p["sample_id"] is not None else -1
        if p["score"] is not None and (sid not in best_by_sample or p["score"] > best_by_sample[sid][0]):
            best_by_sample[sid] = (p["score"], p["hash"])
    seed_eval = evals.get(-1)
    state = {"spent": 0.0, "samples": 0, "valid": 0, "tokens": 0, "measured_cost": 0.0, "modelled_cost": 0.0,
             "score": None, "hash": None}
    if seed_eval is not None:
        state.update(measured_cost=seed_eval["measured_cost"] or 0.0, modelled_cost=seed_eval["modelled_cost"] or 0.0)
        if unit is BudgetUnit.DOLLARS:
            state["spent"] = state["modelled_cost"]
        if seed_eval["valid"]:
            state.update(score=seed_eval["score"], hash=seed_eval["program_hash"])
    if -1 in best_by_sample and (state["score"] is None or best_by_sample[-1][0] > state["score"]):
        state.update(score=best_by_sample[-1][0], hash=best_by_sample[-1][1])
    states = [dict(state)]
    for s in samples:
        e = evals.get(s["id"]) or {}
        tokens = (s["prompt_tokens"] or 0) + (s["completion_tokens"] or 0)
        modelled = (s["modelled_cost"] or 0.0) + (e.get("modelled_cost") or 0.0)
        step = {BudgetUnit.DOLLARS: modelled, BudgetUnit.TOKENS: tokens, BudgetUnit.SAMPLES: 1,
                BudgetUnit.GPU_SECONDS: (s["modelled_cost"] or 0.0) * 3600 / price_per_hour if price_per_hour
                else 0.0}[unit]
        state["spent"] += step
        state["samples"] += 1
        state["tokens"] += tokens
        state["measured_cost"] += (s["measured_cost"] or 0.0) + (e.get("measured_cost") or 0.0)
        state["modelled_cost"] += modelled
        state["valid"] += int(s["failure"] is None and s["program_hash"] is not None and bool(e.get("valid", 1)))
        found = best_by_sample.get(s["id"])
        if found and (state["score"] is None or found[0] > state["score"]):
            state.update(score=found[0], hash=found[1])
        states.append(dict(state))
    total = states[-1]["spent"]
    out = []
    for amount in amounts:
        within = [st for st in states if st["spent"] <= amount * (1 + 1e-9)] or states[:1]
        reached = total >= amount * (1 - 1e-9) or stop_reason == "budget"
        out.append(dict(within[-1], budget_amount=amount, reached=reached))
    return out


def metric_of(metrics: dict | None) -> tuple[str, float | None]:
    """The problem's headline metric: the first one its metrics() returns."""
    if not metrics:
        return "", None
    name = next(iter(metrics))
    return name, metrics[name]


# --- the edge: stores, cells, CSV -------------------------------------------------------------------------------
def cell_status(run_dir: Path) -> str:
    """"new", "unfinished" or "finished" (see the module docstring)."""
    from funsearch.store import RunStore, StoreError

    if not (run_dir / "run.sqlite").is_file() or not (run_dir / "config.json").is_file():
        return "new"
    try:
        store = RunStore(run_dir)
    except StoreError:
        return "new"
    try:
        reason = store.meta("stop_reason")
    finally:
        store.close()
    return "finished" if reason and reason != "interrupted" else "unfinished"


def run_rows(exp: ExperimentConfig, cell: Cell, run_dir: Path) -> list[dict]:
    """results.csv rows of a finished cell."""
    from funsearch.cost import load_hardware
    from funsearch.store import RunStore

    store = RunStore(run_dir)
    try:
        samples = store.query("SELECT id, prompt_tokens, completion_tokens, failure, program_hash, measured_cost, "
                              "modelled_cost FROM samples ORDER BY id")
        evaluations = store.query("SELECT sample_id, program_hash, valid, score, metrics, measured_cost, "
                                  "modelled_cost FROM evaluations ORDER BY sample_id")
        programs = store.query("SELECT sample_id, hash, score FROM programs ORDER BY id")
        stop_reason = store.meta("stop_reason")
    finally:
        store.close()
    price = load_hardware().get(exp.price_as).price_per_hour if exp.price_as else None
    amounts = exp.budget_amounts[: cell.budget_index + 1]
    metrics_by_hash = {e["program_hash"]: e["metrics"] for e in evaluations if e["valid"]}
    seed_eval = next((e for e in evaluations if e["sample_id"] == -1), None)
    rows = []
    for text, state in zip(exp.budgets, budget_checkpoints(samples, evaluations, programs, amounts,
                                                           exp.budget_unit, price, stop_reason)):
        name, value = metric_of(metrics_by_hash.get(state["hash"]))
        rows.append({
            "problem": Path(cell.problem).stem, "size": cell.size, "mode": cell.mode, "seed": cell.seed,
            "budget": text, "budget_amount": state["budget_amount"], "unit": exp.budget_unit.value,
            "score": state["score"], "metric_name": name, "metric": value,
            "baseline_score": seed_eval["score"] if seed_eval else None, "samples": state["samples"],
            "valid": state["valid"], "valid_rate": state["valid"] / state["samples"] if state["samples"] else 0.0,
            "tokens": state["tokens"], "measured_cost": state["measured_cost"],
            "modelled_cost": state["modelled_cost"], "spent": state["spent"], "reached": state["reached"],
            "run_budget": exp.budgets[cell.budget_index], "stop_reason": stop_reason, "cell": cell.key})
    return rows


def write_results(path: Path, rows: list[dict]) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if row.get(k) is None else row[k]) for k in COLUMNS})
    tmp.replace(path)


def read_results(path: Path) -> list[dict]:
    """results.csv back into typed rows (numbers as float/int, empty as None, reached as bool)."""
    ints = {"seed", "samples", "valid", "tokens"}
    floats = {"budget_amount", "score", "metric", "baseline_score", "valid_rate", "measured_cost", "modelled_cost",
              "spent"}
    rows = []
    with open(path, newline="") as f:
        for raw in csv.DictReader(f):
            row: dict = dict(raw)
            for k in ints | floats:
                v = raw.get(k, "")
                row[k] = None if v in ("", None) else (int(float(v)) if k in ints else float(v))
            row["reached"] = raw.get("reached") == "True"
            rows.append(row)
    return rows


class Sweep:
    """Runs the cells of one experiment in SWEEP_DIR, resumably, and keeps results.csv current."""

    def __init__(self, exp: ExperimentConfig, sweep_dir: Path, echo: Callable[[str], None] = print,
                 parallel: int = 1, address: str | None = None):
        self.exp, self.dir, self.echo, self.parallel, self.address = exp, Path(sweep_dir), echo, parallel, address
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "cells").mkdir(exist_ok=True)
        (self.dir / "experiment.json").write_text(exp.model_dump_json(indent=2))
        self.known: dict[str, Cell] = {}

    def run_dir(self, cell: Cell) -> Path:
        return self.dir / "cells" / cell.key

    def status(self, cell: Cell) -> str:
        return cell_status(self.run_dir(cell))

    def run_cells(self, cells: list[Cell]) -> None:
        """Run the cells not finished yet (skipping finished ones), then rewrite results.csv."""
        for cell in cells:
            self.known[cell.key] = cell
        todo = [c for c in cells if self.status(c) != "finished"]
        if len(todo) < len(cells):
            self.echo(f"{len(cells) - len(todo)} of {len(cells)} cells already finished (skipped)")
        if todo and self.parallel > 1:
            self._run_parallel(todo)
        else:
            for k, cell in enumerate(todo, 1):
                self._run_one(cell, k, len(todo))
        self.write()

    def _prepare(self, cell: Cell) -> tuple[dict, bool]:
        """(RunConfig as a dict, resume?) for a cell, starting it over when its directory is unusable."""
        run_dir = self.run_dir(cell)
        status = self.status(cell)
        if status == "new" and run_dir.exists():
            shutil.rmtree(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
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
        self.echo(f"[{k}/{n}] {cell.key}: {'resuming' if resume else 'running'} to {self.exp.budgets[cell.budget_index]}")
        summary = execute_cell(cfg, str(self.run_dir(cell)), resume)
        self.echo(f"[{k}/{n}] {cell.key}: {summary['samples']} samples, best {fmt(summary['best_score'])}, "
                  f"stopped: {summary['stop_reason']} ({time.monotonic() - start:.1f} s)")
        if summary["interrupted"]:
            raise KeyboardInterrupt

    def _run_parallel(self, todo: list[Cell]) -> None:
        """Run cells as Ray tasks, as many at once as --parallel and the cluster's CPUs allow (2 CPUs per cell)."""
        import ray

        from funsearch.orchestrator.loop import init_ray

        init_ray(self.address, self.parallel * CPUS_PER_CELL)
        width = max(1, min(self.parallel, int(ray.cluster_resources().get("CPU", 1) // CPUS_PER_CELL)))
        if width < self.parallel:
            self.echo(f"running {width} cells at a time (the cluster has CPUs for {width})")
        task = ray.remote(num_cpus=0, max_retries=0)(execute_cell)
        queue, running, done = list(todo), {}, 0
        try:
            while queue or running:
                while queue and len(running) < width:
                    cell = queue.pop(0)
                    cfg, resume = self._prepare(cell)
                    running[task.remote(cfg, str(self.run_dir(cell)), resume)] = (cell, time.monotonic())
                    self.echo(f"started {cell.key}{' (resuming)' if resume else ''}")
                ready, _ = ray.wait(list(running), num_returns=1)
                cell, start = running.pop(ready[0])
                done += 1
                try:
                    summary = ray.get(ready[0])
                except ray.exceptions.RayError as exc:
                    self.echo(f"[{done}/{len(todo)}] {cell.key}: failed: {' '.join(str(exc).split())[:300]}")
                    continue
                self.echo(f"[{done}/{len(todo)}] {cell.key}: {summary['samples']} samples, best "
                          f"{fmt(summary['best_score'])}, stopped: {summary['stop_reason']} "
                          f"({time.monotonic() - start:.1f} s)")
                self.write()
        except KeyboardInterrupt:
            for ref in running:
                ray.cancel(ref)
            ray.wait(list(running), num_returns=len(running), timeout=30)
            raise

    # --- adaptive ------------------------------------------------------------------------------------------
    def run_adaptive(self) -> None:
        """Baselines as in the grid; then, per problem, evolve runs chosen one at a time by adaptive.choose_next."""
        from funsearch import adaptive

        exp = self.exp
        self.run_cells([c for c in expand(exp) if c.mode != "evolve"])
        plan_path = self.dir / "adaptive.json"
        plan = json.loads(plan_path.read_text()) if plan_path.exists() else {}
        last = len(exp.budgets) - 1
        cap = exp.max_adaptive_runs or len(exp.sizes) * len(exp.seeds)
        for problem in exp.problems:
            steps = plan.setdefault(problem, [])
            cells = [Cell(problem, s["size"], "evolve", s["seed"], s["budget_index"], last) for s in steps]
            self.run_cells(cells)
            while True:
                obs = self.observations(cells)
                post = adaptive.fit_posterior(obs, exp.sizes, exp.budget_amounts)
                if not cells:
                    todo = adaptive.initial_design(exp.sizes, exp.budget_amounts)
                    choice_gain = [None] * len(todo)
                else:
                    reason = adaptive.should_stop(post, exp.target_confidence, len(cells), cap)
                    answer = ", ".join(f"{b}: {s} ({p:.2f})" for b, (s, p) in zip(exp.budgets, post.answer()))
                    if reason:
                        self.echo(f"adaptive {Path(problem).stem}: stopped ({reason}) after {len(cells)} runs; {answer}")
                        break
                    choice = adaptive.choose_next(post, target=exp.target_confidence)
                    todo, choice_gain = [(choice.size, choice.budget_index)], [choice.gain]
                    self.echo(f"adaptive {Path(problem).stem}: confidence {post.confidence():.2f} [{answer}]; next "
                              f"{choice.size} to {exp.budgets[choice.budget_index]} (expected gain "
                              f"{choice.gain:.3f} bits)")
                new = []
                for (size, j), gain in zip(todo, choice_gain):
                    used = {c.seed for c in cells if c.size == size}
                    seed = next(s for s in list(exp.seeds) + list(range(max(exp.seeds) + 1, 10 ** 6)) if s not in used)
                    cell = Cell(problem, size, "evolve", seed, j, last)
                    cells.append(cell)
                    new.append(cell)
                    steps.append({"size": size, "seed": seed, "budget_index": j, "gain": gain,
                                  "confidence_before": post.confidence() if obs else None})
                plan_path.write_text(json.dumps(plan, indent=2))
                self.run_cells(new)

    def observations(self, cells: list[Cell]) -> dict[tuple[str, int], list[float]]:
        """{(size, budget index): [score of each finished run at that budget]} of the given evolve cells."""
        obs: dict[tuple[str, int], list[float]] = {}
        index = {t: j for j, t in enumerate(self.exp.budgets)}
        for cell in cells:
            if self.status(cell) != "finished":
                continue
            for row in run_rows(self.exp, cell, self.run_dir(cell)):
                if row["score"] is not None:
                    obs.setdefault((cell.size, index[row["budget"]]), []).append(row["score"])
        return obs

    def rows(self) -> list[dict]:
        rows = []
        for key, cell in sorted(self.known.items()):
            if self.status(cell) == "finished":
                rows += run_rows(self.exp, cell, self.run_dir(cell))
        return rows

    def write(self) -> Path:
        path = self.dir / "results.csv"
        write_results(path, self.rows())
        return path


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
