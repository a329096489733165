"""A sweep folder and what it holds: the experiment, every cell's run store and compact summary, results.csv.

Layout:  experiment.json        the validated experiment (a folder holds one experiment: `incompatibility`)
         compact/<key>.json     one finished cell (compact.py): committed; enough for results.csv and the report
         cells/<key>/           one run directory per cell (run.sqlite, ...): git-ignored (.gitignore here)
         adaptive.json          --adaptive: the runs it chose, in order, and why
         results.csv            one row per (finished cell, budget checkpoint), rebuilt from compact/
A cell is finished when its compact file exists, or its run store has a clean stop (then the compact file is
written from it). So a fresh clone of a committed folder resumes the sweep: finished cells are never rerun.
"""
from __future__ import annotations

import json
from pathlib import Path

from funsearch.store.cell_facts import recorded_problem_sha256
from funsearch.study import compact
from funsearch.study.cells import Cell, cell_status, expand, recorded_cells
from funsearch.study.experiment import ExperimentConfig, ExperimentError, incompatibility
from funsearch.study.results import write_results
from funsearch.weights.verify import sha256_file

GITIGNORE = "# run stores (every prompt and completion) stay local; compact/ holds what results and reports need\n" \
            "cells/\n*.tmp\n"


class SweepFolder:
    """One experiment's folder: cells, their status and compact summaries, results.csv."""

    def __init__(self, exp: ExperimentConfig, sweep_dir: str | Path):
        self.exp, self.dir = exp, Path(sweep_dir)
        self._compact: dict[str, dict] = {}

    @classmethod
    def open(cls, sweep_dir: str | Path) -> "SweepFolder":
        """The folder as saved (its experiment.json); ExperimentError when it has none or an unreadable one."""
        path = Path(sweep_dir) / "experiment.json"
        try:
            exp = ExperimentConfig.model_validate(json.loads(path.read_text()))
        except FileNotFoundError:
            raise ExperimentError(f"{sweep_dir}: no experiment.json (not a sweep folder)") from None
        except ValueError as exc:
            raise ExperimentError(f"{path}: unreadable: {str(exc).splitlines()[0]}") from None
        return cls(exp, sweep_dir)

    def adopt(self) -> None:
        """Make the folder this experiment's: refuse one holding another experiment's results (experiment.json
        or a compact file), else save experiment.json and the .gitignore that keeps run stores out of git."""
        saved = self.dir / "experiment.json"
        if saved.is_file():
            try:
                why = incompatibility(json.loads(saved.read_text()), self.exp)
            except ValueError:
                why = "experiment.json: unreadable"
            if why:
                raise ExperimentError(f"{self.dir} holds another experiment's results ({why}): not merged; "
                                      "use another --out")
        self.check_compacts()
        self.check_problems()
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "cells").mkdir(exist_ok=True)
        saved.write_text(self.exp.model_dump_json(indent=2))
        if not (self.dir / ".gitignore").exists():
            (self.dir / ".gitignore").write_text(GITIGNORE)

    def check_compacts(self) -> None:
        """Every compact file must be of this experiment (same defining fields)."""
        self.check_compacts_against(self.exp)

    def check_compacts_against(self, exp: ExperimentConfig) -> None:
        """Every compact file must be of `exp` (same defining fields)."""
        for path in sorted((self.dir / compact.FOLDER).glob("*.json")):
            data = self._read(path)
            why = incompatibility(data["experiment"], exp)
            if why:
                raise ExperimentError(f"{path} is another experiment's cell ({why}): not merged")

    def check_problems(self) -> None:
        """Every cell run so far (finished or not) must have run on the problem file's text as it is now: a cell
        scored by an older text of the file is another problem's result. Cells from before the hash was recorded
        are not checked."""
        current: dict[str, str | None] = {}
        for cell in self.cells():
            data = self.compact_of(cell.key)
            recorded = data.get("problem_sha256") if data else recorded_problem_sha256(self.run_dir(cell))
            if cell.problem not in current:
                path = Path(cell.problem)
                current[cell.problem] = sha256_file(path) if path.is_file() else None
            now = current[cell.problem]
            if recorded and now and recorded != now:
                raise ExperimentError(f"{cell.problem} has changed since cell {cell.key} ran (sha256 {recorded[:12]} "
                                      f"then, {now[:12]} now): not merged; use another --out")

    def take(self, other: "SweepFolder", key: str) -> bool:
        """Copy `other`'s compact summary of cell `key` here, if it has one; True when copied."""
        source = compact.path_of(other.dir, key)
        if not source.is_file():
            return False
        compact.write(compact.path_of(self.dir, key), self._read(source))
        return True

    def _read(self, path: Path) -> dict:
        try:
            return compact.read(path)
        except compact.CompactError as exc:
            raise ExperimentError(str(exc)) from None

    # --- cells ---------------------------------------------------------------------------------------------
    def run_dir(self, cell: Cell) -> Path:
        return self.dir / "cells" / cell.key

    def grid(self) -> list[Cell]:
        return expand(self.exp)

    def status(self, cell: Cell) -> str:
        """"finished" (a compact file, or a cleanly stopped store), "unfinished" (a store to resume) or "new"."""
        if compact.path_of(self.dir, cell.key).is_file():
            return "finished"
        return cell_status(self.run_dir(cell))

    def cells(self, known: dict[str, Cell] | None = None) -> list[Cell]:
        """Every cell of this folder, sorted by key: `known` ones, those recorded in cells/ and in compact/."""
        found = dict(known or {})
        for cell in recorded_cells(self.dir / "cells", self.exp):
            found.setdefault(cell.key, cell)
        for path in sorted((self.dir / compact.FOLDER).glob("*.json")):
            cell = compact.cell_of(self.compact_of(path.stem))
            if cell.key == path.stem and cell.budget_index < len(self.exp.budgets):
                found.setdefault(cell.key, cell)
        return [found[k] for k in sorted(found)]

    def compact_of(self, key: str, cell: Cell | None = None) -> dict | None:
        """The compact summary of a finished cell (written from its run store the first time); None if unfinished."""
        if key in self._compact:
            return self._compact[key]
        path = compact.path_of(self.dir, key)
        if path.is_file():
            data = self._read(path)
        elif cell is not None and cell_status(self.run_dir(cell)) == "finished":
            data = compact.build(self.exp, cell, self.run_dir(cell))
            compact.write(path, data)
        else:
            return None
        self._compact[key] = data
        return data

    def compacts(self, known: dict[str, Cell] | None = None) -> list[dict]:
        """The compact summaries of every finished cell, by key."""
        out = []
        for cell in self.cells(known):
            data = self.compact_of(cell.key, cell)
            if data is not None:
                out.append(data)
        return out

    def rows(self, known: dict[str, Cell] | None = None) -> list[dict]:
        """results.csv rows of every finished cell (grid and adaptive runs alike), in key order."""
        return [row for data in self.compacts(known) for row in data["rows"]]

    def write_results(self, known: dict[str, Cell] | None = None) -> Path:
        path = self.dir / "results.csv"
        write_results(path, self.rows(known))
        return path

    def progress(self) -> tuple[int, int]:
        """(finished grid cells, grid cells) of the experiment."""
        grid = self.grid()
        return sum(self.status(c) == "finished" for c in grid), len(grid)
