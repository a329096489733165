"""The search-yield targets table, from the committed compact cells of the study and targets experiments.

    python benchmarks/search_yield.py [FOLDER ...]

Default folders: docs/results/size_study_bin_packing, docs/results/size_study_tsp, docs/results/search_targets,
docs/results/diverge_ablation, docs/results/cap_set_diverge, docs/results/tsp_diverge_targets,
docs/results/mid_diverge_copies and docs/results/tsp_whole_tour_diverge (what
`funsearch sweep experiments/<name>.toml --out docs/results/<name>` writes for each; a variant shows beside its
size: "small, default", "small, diverge"). Every figure is over the evolve runs found there, per (problem, size,
experiment folder), with the seeds it rests on and a 95 % bootstrap interval over seeds; nothing is measured here,
so the table is the same on every machine. A target the data cannot speak to yet (no finished run) says so, and
a row resting on fewer seeds than its experiment asks for is marked partial.
"""
from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from funsearch.study import compact  # noqa: E402
from funsearch.study.analysis import bootstrap_ci  # noqa: E402

DEFAULT = ("docs/results/size_study_bin_packing", "docs/results/size_study_tsp", "docs/results/search_targets",
           "docs/results/diverge_ablation", "docs/results/cap_set_diverge", "docs/results/tsp_diverge_targets",
           "docs/results/mid_diverge_copies", "docs/results/tsp_whole_tour_diverge",
           "docs/results/tsp_insertion_targets")
HEADLINE = {"bin_packing": ("or1", ["or2", "or3", "or4", "weibull_5k"]), "tsp": ("train50", ["tsplib"]),
            "tsp_construct": ("train50", ["tsplib"]), "tsp_insertion": ("train50", ["tsplib"]),
            "cap_set": ("n8", ["n7"])}


def runs(folders) -> dict[tuple[str, str, str], list[dict]]:
    """(problem, size, experiment) -> compact cells of finished evolve runs; a variant shows as "size, variant"."""
    out = defaultdict(list)
    for folder in folders:
        for path in sorted((Path(folder) / "compact").glob("*.json")):
            data = compact.read(path)
            cell = data["cell"]
            if cell["mode"] == "evolve":
                size = cell["size"] + (f", {cell['variant']}" if cell.get("variant") else "")
                out[(Path(cell["problem"]).stem, size, Path(folder).name)].append(data)
    return out


def rate(data: dict, key: str) -> float:
    return data["funnel"][key] / max(1, data["funnel"]["samples"])


def pct(values) -> str:
    if not values:
        return "no run yet"
    mean, lo, hi = bootstrap_ci(values)
    return f"{100 * mean:.0f} % [{100 * lo:.0f}, {100 * hi:.0f}] ({len(values)} seed{'' if len(values) == 1 else 's'})"


def beats_seed(data: dict) -> bool:
    best = data["best"]
    return bool(best) and not best.get("seed") and data["seed"] is not None and best["score"] > data["seed"]["score"]


def heldout_metric(data: dict, split: str) -> float | None:
    got = ((data.get("heldout") or {}).get("splits") or {}).get(split)
    if not got or not got["valid"]:
        return None
    return next(iter(got["metrics"].values()), None)


def planned_seeds(folder: Path) -> int | None:
    """How many seeds the folder's experiment asks for (its experiment.json), or None when it does not say."""
    try:
        return len(json.loads((folder / "experiment.json").read_text())["seeds"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def runs_of(group, experiment: str, planned: int | None = None) -> str:
    """The runs' sample counts and the experiment (results folder) they come from; "partial" when fewer seeds
    finished than the experiment asks for."""
    counts = sorted(d["funnel"]["samples"] for d in group)
    drawn = f"{counts[0]}-{counts[-1]}" if counts[0] != counts[-1] else f"{counts[0]}"
    partial = f" (partial: {len(group)} of {planned} seeds)" if planned and len(group) < planned else ""
    return f"{drawn} samples, {experiment}{partial}"


def table(folders) -> list[str]:
    by = runs(folders)
    planned = {Path(folder).name: planned_seeds(Path(folder)) for folder in folders}
    lines = ["| measure | problem | size | measured: mean [95 % CI] (seeds) | runs | target |",
             "|---|---|---|---|---|---|"]
    for (problem, size, experiment), group in sorted(by.items()):
        model = size.split(",")[0]
        if model not in ("small", "mid"):
            continue
        where = runs_of(group, experiment, planned.get(experiment))
        lines.append(f"| copies of a parent or earlier program | {problem} | {size} | "
                     f"{pct([rate(d, 'duplicates') for d in group])} | {where} | <= 15 % |")
        if model == "small":
            new = [(d["funnel"]["valid"] + d["funnel"]["noops"]) / max(1, d["funnel"]["samples"]) for d in group]
            lines.append(f"| valid and new (not a copy; no-ops count) | {problem} | {size} | {pct(new)} | "
                         f"{where} | >= 50 % |")
            probe = [(d["funnel"]["valid"] + d["funnel"]["noops"] + d["funnel"]["cascade_stops"])
                     / max(1, d["funnel"]["samples"]) for d in group]
            lines.append(f"| valid on the probe and new (cascade stops count too) | {problem} | {size} | "
                         f"{pct(probe)} | {where} | (looser) |")
            lines.append(f"| valid and behaviourally new | {problem} | {size} | "
                         f"{pct([rate(d, 'behaviour_new') for d in group])} | {where} | (stricter) |")
        wins = [d for d in group if beats_seed(d)]
        train, held = HEADLINE.get(problem, ("", []))
        detail = ""
        for split in held:
            values = [v for v in (heldout_metric(d, split) for d in wins) if v is not None]
            if values:
                detail += f"; winners on {split}: " + ", ".join(f"{v:.2f}" for v in values)
            every = [v for v in (heldout_metric(d, split) for d in group) if v is not None]
            if problem.startswith("tsp") and every:  # the TSP target: the median of every seed's best
                n = len(every)
                detail += f" (every seed's best: median {statistics.median(every):.2f} over {n} seed{'s' * (n > 1)})"
        lines.append(f"| best program beats the seed on {train} | {problem} | {size} | {len(wins)} of {len(group)} "
                     f"seeds{detail} | {where} | see the issue |")
    return lines


def main(argv: list[str]) -> int:
    folders = [Path(a) for a in argv] or [ROOT / f for f in DEFAULT]
    present = [f for f in folders if (f / "compact").is_dir()]
    if not present:
        print("no compact cells found in " + ", ".join(str(f) for f in folders))
        return 1
    print("\n".join(table(present)))
    missing = [str(f) for f in folders if f not in present]
    if missing:
        print("\nnot run yet: " + ", ".join(missing))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
