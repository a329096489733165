"""The report's PNG plots (matplotlib, Agg): score or metric vs budget per size, yield funnels, fitted curves.

PNGs carry no Software stamp, so the same data give the same bytes (`funsearch report` is reproducible)."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from funsearch.study.cells import NO_SIZE

STAGES = ("samples", "extracted", "compiles", "runs", "valid", "new_best")
# Where the programs that ran but are not "valid" went (hatched bars after the funnel): a duplicate is never
# evaluated, a no-op repeats a parent's outputs on the probe, a cascade stop lost clearly there.
SETTLED = ("duplicates", "noops", "cascade_stops")
SETTLED_LABELS = ("duplicate", "no-op", "cascade stop")
MODE_STYLE = {"evolve": "-", "best_of_n": "--", "single_island": "-.", "random_mutation": ":"}


def label(mode: str, size: str) -> str:
    if mode == "evolve":
        return size
    return mode if size == NO_SIZE else f"{mode} ({size})"


def _save(fig, path: Path) -> None:
    """Write a PNG whose bytes depend on the figure only (no matplotlib version stamp): reports are reproducible."""
    fig.savefig(path, dpi=110, metadata={"Software": None})


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(points, path: Path, title: str, ylabel: str, log_x: bool, xlabel: str) -> None:
    """Mean and 95 % band over seeds per (mode, size) against the budget (analysis.CurvePoint)."""
    fig, ax = _pyplot().subplots(figsize=(7, 4.5))
    groups = defaultdict(list)
    for p in points:
        groups[(p.mode, p.size)].append(p)
    for (mode, size), pts in sorted(groups.items(), key=lambda kv: (kv[0][0] != "evolve", kv[0])):
        xs = [p.budget_amount for p in pts]
        line, = ax.plot(xs, [p.mean for p in pts], MODE_STYLE.get(mode, "-"), marker="o", label=label(mode, size))
        ax.fill_between(xs, [p.lo for p in pts], [p.hi for p in pts], color=line.get_color(), alpha=0.15)
    if log_x:
        ax.set_xscale("log")
    _finish(fig, ax, path, title, ylabel, xlabel)


def funnel_bars(counts: dict) -> list[tuple[str, int]]:
    """(x label, count) of each bar of one arm's funnel: the stages, then the settled kinds (0 where a cell from
    before they were counted lacks them)."""
    return ([(s.replace("_", " "), counts[s]) for s in STAGES]
            + [(name, counts.get(s, 0)) for s, name in zip(SETTLED, SETTLED_LABELS)])


def plot_funnel(funnel: dict, path: Path, title: str) -> None:
    """Bars per stage for each (problem, mode, size) of `funnel`, counts summed over seeds; then, hatched, the
    duplicates, no-ops and cascade stops (programs that ran or were recognised without counting as valid)."""
    import numpy as np

    plt = _pyplot()
    keys = sorted(funnel, key=lambda k: (k[1] != "evolve", k[1], k[2]))
    bars_in_all = len(keys) * (len(STAGES) + len(SETTLED))
    fig, ax = plt.subplots(figsize=(max(7.0, 0.3 * bars_in_all), 4.5))  # room for each bar's count
    width = 0.8 / max(1, len(keys))
    x = np.arange(len(STAGES) + len(SETTLED), dtype=float)
    x[len(STAGES):] += 0.5  # a gap between the funnel and where the rest of "runs" went
    for i, key in enumerate(keys):
        counts = [count for _, count in funnel_bars(funnel[key])]
        bars = ax.bar(x + i * width - 0.4 + width / 2, counts, width, label=label(key[1], key[2]))
        for bar in bars[len(STAGES):]:
            bar.set_hatch("//")
        ax.bar_label(bars, fontsize=7, rotation=90 if len(keys) > 2 else 0, padding=2)
    ax.margins(y=0.12)
    ax.axvline(len(STAGES) - 0.25, color="grey", lw=0.8, ls=":")
    ax.set_xticks(x, [name for name, _ in funnel_bars(funnel[keys[0]])] if keys else [], fontsize=8)
    ax.set_ylabel("count (all seeds)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    plt.close(fig)


def plot_fits(rows, fits, found, path: Path, title: str, xlabel: str) -> None:
    """Each size's fitted curve over its points, crossovers (with their intervals) and the extrapolated range."""
    import numpy as np

    fig, ax = _pyplot().subplots(figsize=(7, 4.5))
    budgets = sorted({r["budget_amount"] for r in rows})
    xs = np.geomspace(budgets[0], budgets[-1] * 10, 200)
    for size, fit in sorted(fits.items()):
        pts = [r for r in rows if r["mode"] == "evolve" and r["size"] == size]
        line, = ax.plot(xs, fit(xs), label=f"{size}: a={fit.params[0]:.4g}±{fit.stderr[0]:.2g}")
        ax.scatter([r["budget_amount"] for r in pts], [r["score"] for r in pts], color=line.get_color(), s=14)
    for c in found:
        ax.axvline(c.budget, color="grey", ls="--", lw=1)
        if c.lo is not None:
            ax.axvspan(c.lo, c.hi, color="grey", alpha=0.1)
    ax.axvspan(budgets[-1], xs[-1], color="yellow", alpha=0.08, label="extrapolated")
    ax.set_xscale("log")
    _finish(fig, ax, path, title, "score (higher is better)", xlabel)


def _finish(fig, ax, path: Path, title: str, ylabel: str, xlabel: str) -> None:
    """Labels, grid and legend of a budget plot; write the PNG and free the figure."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)
    _pyplot().close(fig)
