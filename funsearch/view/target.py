"""What `funsearch view` looks at: a run directory (run.sqlite) or a sweep directory (results.csv, cells/), and
the stamp that changes whenever a file behind the view changes (the key of every cached answer)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

RUN_FILE = "run.sqlite"


class TargetError(Exception):
    """Not a run or sweep directory, or an unknown cell. One line."""


def _stat(path: Path) -> tuple:
    try:
        st = os.stat(path)
    except OSError:
        return (0, 0)
    return (st.st_mtime_ns, st.st_size)


def run_stamp(run_dir: Path) -> tuple:
    """Changes with every commit to the run's store (the main file and its write-ahead log)."""
    return _stat(run_dir / RUN_FILE) + _stat(run_dir / (RUN_FILE + "-wal"))


@dataclass(frozen=True)
class Target:
    """kind "run": `root` holds run.sqlite; kind "sweep": `root` holds results.csv and cells/<cell>/run.sqlite."""

    kind: str
    root: Path

    def cells(self) -> list[str]:
        """The sweep's cells that have a run store, by name."""
        cells = self.root / "cells"
        if self.kind != "sweep" or not cells.is_dir():
            return []
        return sorted(p.name for p in cells.iterdir() if (p / RUN_FILE).is_file())

    def run_dir(self, cell: str | None = None) -> Path:
        """The run directory of the run (cell None) or of one cell of the sweep (its name, as `cells` lists it:
        nothing else is ever opened)."""
        if self.kind == "run":
            if cell:
                raise TargetError(f"a run has no cells: {cell!r}")
            return self.root
        if not cell or cell not in self.cells():
            raise TargetError(f"no such cell in {self.root}: {cell!r}")
        return self.root / "cells" / cell

    def stamp(self, cell: str | None = None) -> tuple:
        if self.kind == "run" or cell:
            return run_stamp(self.run_dir(cell))
        parts = _stat(self.root / "results.csv") + _stat(self.root / "experiment.json")
        for name in self.cells():
            parts += (name,) + run_stamp(self.root / "cells" / name)
        return parts


def open_target(path: str | Path) -> Target:
    """The run or sweep at `path`; TargetError (one line) when it is neither."""
    root = Path(path)
    if not root.is_dir():
        raise TargetError(f"not a directory: {root}")
    if (root / RUN_FILE).is_file():
        return Target("run", root.resolve())
    if (root / "results.csv").is_file() or (root / "experiment.json").is_file() or (root / "cells").is_dir():
        return Target("sweep", root.resolve())
    raise TargetError(f"neither a run directory (no {RUN_FILE}) nor a sweep directory (no results.csv): {root}")
