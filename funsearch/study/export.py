"""`funsearch export SWEEP_DIR DIR`: a committable copy of a sweep folder, without its run stores.

DIR gets experiment.json, compact/ (every finished cell; cells finished in SWEEP_DIR without a compact file get
one from their store first), adaptive.json and findings.md when there are, and then results.csv, report.md and the PNGs
rebuilt from compact/ alone (report.py). DIR is a sweep folder itself: `funsearch sweep EXPERIMENT --out DIR`
resumes the experiment there (finished cells are never rerun). A DIR holding another experiment is refused.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from funsearch.study import compact
from funsearch.study.folder import SweepFolder
from funsearch.study.report_sections import FINDINGS


def export(sweep_dir: str | Path, dest: str | Path) -> tuple[Path, int]:
    """Copy SWEEP_DIR's committable data into DEST and rebuild its report; (report path, cells copied)."""
    from funsearch.study.report import write_report

    source = SweepFolder.open(sweep_dir)
    source.check_compacts()
    compacts = source.compacts()
    target = SweepFolder(source.exp, dest)
    target.adopt()
    for data in compacts:
        out = compact.path_of(target.dir, data["key"])
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(compact.path_of(source.dir, data["key"]), out)
    for name in ("adaptive.json", FINDINGS):
        if (source.dir / name).is_file():
            shutil.copyfile(source.dir / name, target.dir / name)
    return write_report(target.dir), len(compacts)
