"""`funsearch report SWEEP_DIR`: SWEEP_DIR/report.md with PNG plots, from results.csv and the cells' run stores.

Per problem: best metric vs budget per size and baseline (mean and 95 % bootstrap band over seeds); the yield
funnel per size (samples > extracted > compiles > runs > valid > new best, summed over seeds); improvement
over the seed program per unit of modelled cost; the answer table (best size at each budget, margin,
posterior confidence and the bootstrap's); saturating fits of score vs budget per size with extrapolated crossover budgets.
"""
from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

from funsearch.study import analysis
from funsearch.study.cells import NO_SIZE
from funsearch.study.results import read_results

STAGES = ("samples", "extracted", "compiles", "runs", "valid", "new_best")
MODE_STYLE = {"evolve": "-", "best_of_n": "--", "single_island": "-.", "random_mutation": ":"}


class ReportError(Exception):
    """The sweep folder has no results to report. One line."""


def label(mode: str, size: str) -> str:
    if mode == "evolve":
        return size
    return mode if size == NO_SIZE else f"{mode} ({size})"


def funnels(sweep_dir: Path, rows: list[dict]) -> dict[tuple[str, str, str], dict]:
    """(problem, mode, size) -> yield funnel counts summed over the cells' seeds (from the run stores)."""
    from funsearch.cli.show import summarise

    out: dict = defaultdict(lambda: dict.fromkeys(STAGES, 0))
    seen = set()
    for r in rows:
        if r["cell"] in seen:
            continue
        seen.add(r["cell"])
        run_dir = sweep_dir / "cells" / r["cell"]
        if not (run_dir / "run.sqlite").is_file():
            continue
        for m in summarise(run_dir)["per_model"]:
            total = out[(r["problem"], r["mode"], r["size"])]
            for stage in STAGES:
                total[stage] += m.get(stage) or 0
    return dict(out)


def _plot_curves(points, path: Path, title: str, ylabel: str, log_x: bool) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    groups = defaultdict(list)
    for p in points:
        groups[(p.mode, p.size)].append(p)
    for (mode, size), pts in sorted(groups.items(), key=lambda kv: (kv[0][0] != "evolve", kv[0])):
        xs = [p.budget_amount for p in pts]
        line, = ax.plot(xs, [p.mean for p in pts], MODE_STYLE.get(mode, "-"), marker="o", label=label(mode, size))
        ax.fill_between(xs, [p.lo for p in pts], [p.hi for p in pts], color=line.get_color(), alpha=0.15)
    if log_x:
        ax.set_xscale("log")
    _finish(fig, ax, path, title, ylabel)


def _plot_funnel(funnel: dict, path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(7, 4.5))
    keys = sorted(funnel, key=lambda k: (k[1] != "evolve", k[1], k[2]))
    width = 0.8 / max(1, len(keys))
    x = np.arange(len(STAGES))
    for i, key in enumerate(keys):
        counts = [funnel[key][s] for s in STAGES]
        bars = ax.bar(x + i * width - 0.4 + width / 2, counts, width, label=label(key[1], key[2]))
        ax.bar_label(bars, fontsize=7)
    ax.set_xticks(x, [s.replace("_", " ") for s in STAGES])
    ax.set_ylabel("count (all seeds)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_fits(rows, fits, found, path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(7, 4.5))
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
    _finish(fig, ax, path, title, "score (higher is better)")


def _finish(fig, ax, path: Path, title: str, ylabel: str) -> None:
    """Labels, grid and legend of a budget plot; write the PNG and free the figure."""
    import matplotlib.pyplot as plt

    ax.set_xlabel("budget")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _num(v, digits: int = 4) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}g}"


def write_report(sweep_dir: str | Path) -> Path:
    """Write SWEEP_DIR/report.md and its PNGs; returns the report's path."""
    sweep_dir = Path(sweep_dir)
    results = sweep_dir / "results.csv"
    if not results.is_file():
        raise ReportError(f"no results.csv in {sweep_dir} (run funsearch sweep first)")
    rows = read_results(results)
    if not rows:
        raise ReportError(f"{results} has no finished runs yet")
    meta = json.loads((sweep_dir / "experiment.json").read_text()) if (sweep_dir / "experiment.json").exists() else {}
    for r in rows:
        r["improvement_per_cost"] = analysis.improvement_per_cost(r)
    unit = rows[0]["unit"]
    lines = [f"# Sweep {meta.get('name', sweep_dir.name)}", "",
             f"Budgets in {unit} (modelled on {meta.get('price_as') or 'the measured hardware'}); "
             f"backend {meta.get('backend', '?')}; {len({r['cell'] for r in rows})} runs; "
             f"{len({r['seed'] for r in rows})} seeds. Scores: higher is better. Means over seeds with 95 % "
             "bootstrap intervals. Every budget of a run is read from one long run's ledger rows.", ""]
    capped = sorted({r["cell"] for r in rows if not r["reached"]})
    for problem in sorted({r["problem"] for r in rows}):
        prow = [r for r in rows if r["problem"] == problem]
        amounts = sorted({r["budget_amount"] for r in prow})
        log_x = amounts[-1] / amounts[0] > 3
        metric = next((r["metric_name"] for r in prow if r["metric_name"]), "metric")
        lines += [f"## {problem}", ""]
        # the answer
        answers = analysis.best_sizes(prow)
        lines += ["### The answer: best size at each budget", "",
                  "| budget | best size | runner-up | margin (score) | confidence | bootstrap | mean score per size |",
                  "|---|---|---|---|---|---|---|"]
        for a in answers:
            means = ", ".join(f"{s} {_num(m, 6)} (n={a.n[s]})" for s, m in sorted(a.means.items()))
            tied = [s for s, m in a.means.items() if m == a.means[a.best]]
            best = f"tie: {' = '.join(sorted(tied))}" if len(tied) > 1 else f"**{a.best}**"
            lines.append(f"| {a.budget} | {best} | {a.runner_up or '-'} | {_num(a.margin)} | "
                         f"{a.confidence:.2f} | {a.bootstrap.get(a.best, 1.0):.2f} | {means} |")
        lines += ["", "Confidence: posterior probability that the best size has the highest mean score (a "
                      "Student-t per size and budget, seed-to-seed noise pooled over sizes and budgets: the "
                      "posterior that drives `--adaptive`). Bootstrap: the same probability with seeds "
                      "resampled per size, overconfident with few seeds (two seeds resample to three means).", ""]
        # curves
        metric_points = analysis.curves([dict(r, value=r["metric"]) for r in prow], value="value")
        _plot_curves(metric_points, sweep_dir / f"{problem}_metric.png", f"{problem}: best {metric} vs budget",
                     f"{metric} of the best program", log_x)
        lines += [f"### Best {metric} vs budget", "", f"![{metric} vs budget]({problem}_metric.png)", "",
                  f"| mode | size | budget | {metric} mean [95 % CI] | score mean | samples | valid rate | "
                  "tokens | modelled $ |", "|---|---|---|---|---|---|---|---|---|"]
        score_points = {(p.mode, p.size, p.budget): p for p in analysis.curves(prow)}
        for p in metric_points:
            group = [r for r in prow if (r["mode"], r["size"], r["budget"]) == (p.mode, p.size, p.budget)]
            mean = lambda k: sum(r[k] or 0 for r in group) / len(group)  # noqa: E731
            s = score_points.get((p.mode, p.size, p.budget))
            lines.append(f"| {p.mode} | {p.size} | {p.budget} | {_num(p.mean)} [{_num(p.lo)}, {_num(p.hi)}] | "
                         f"{_num(s.mean if s else None, 6)} | {mean('samples'):.1f} | {mean('valid_rate'):.2f} | "
                         f"{mean('tokens'):.0f} | {_num(mean('modelled_cost'), 3)} |")
        # improvement per cost
        imp = analysis.curves([r for r in prow if r["improvement_per_cost"] is not None], value="improvement_per_cost")
        if imp:
            _plot_curves(imp, sweep_dir / f"{problem}_improvement.png",
                         f"{problem}: score gained over the seed program per modelled $", "score gain per $", log_x)
            lines += ["", "### Improvement per unit of cost", "",
                      f"![improvement per cost]({problem}_improvement.png)", ""]
        # funnel
        funnel = {k: v for k, v in funnels(sweep_dir, prow).items()}
        if funnel:
            _plot_funnel(funnel, sweep_dir / f"{problem}_funnel.png", f"{problem}: yield funnel (all seeds)")
            lines += ["### Yield funnel", "", f"![yield funnel]({problem}_funnel.png)", "",
                      "| mode | size | " + " | ".join(STAGES) + " |", "|---|---|" + "---|" * len(STAGES)]
            for (_, mode, size), counts in sorted(funnel.items()):
                lines.append(f"| {mode} | {size} | " + " | ".join(str(counts[s]) for s in STAGES) + " |")
            lines.append("")
        # fits and crossovers
        lines += ["### Saturating fits and crossovers", ""]
        fits = analysis.fits_by_size(prow, problem)
        if not fits:
            lines += [f"No fit: s(b) = a - c (b/b_ref)^-alpha needs at least 3 budgets per size "
                      f"(this sweep has {len(amounts)}) and scores that change with the budget.", ""]
        else:
            found = analysis.crossovers(problem, fits, amounts[0] / 10, amounts[-1] * 100)
            _plot_fits(prow, fits, found, sweep_dir / f"{problem}_fits.png", f"{problem}: fitted score vs budget")
            lines += [f"![fits]({problem}_fits.png)", "", "| size | a (asymptote) | c | alpha | rmse | points |",
                      "|---|---|---|---|---|---|"]
            for size, f in sorted(fits.items()):
                (a, c, al), (sa, sc, sal) = f.params, f.stderr
                lines.append(f"| {size} | {_num(a, 6)} ± {_num(sa, 2)} | {_num(c)} ± {_num(sc, 2)} | "
                             f"{_num(al, 3)} ± {_num(sal, 2)} | {_num(f.rmse, 3)} | {f.points} |")
            lines.append("")
            if not found:
                lines += [f"No crossover between {_num(amounts[0] / 10)} and {_num(amounts[-1] * 100)}: "
                          "the fitted ranking does not change in that range.", ""]
            for c in found:
                where = "extrapolated" if c.budget > amounts[-1] or c.budget < amounts[0] else "inside the data"
                interval = f"95 % interval [{_num(c.lo)}, {_num(c.hi)}]" if c.lo is not None else "no interval"
                lines.append(f"- {c.first} vs {c.second}: curves cross at {_num(c.budget)} ({where}; {interval}; "
                             f"{c.probability:.0%} of parameter draws cross in range); {c.better_after} is better "
                             "above it.")
            lines.append("")
    if capped:
        lines += ["## Notes", "", f"{len(capped)} runs stopped at the max_samples cap before their largest budget "
                  "(usually random mutation, which spends almost nothing per sample); their later checkpoints "
                  "repeat their final state: " + ", ".join(capped), ""]
    path = sweep_dir / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
