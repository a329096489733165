"""`funsearch report SWEEP_DIR`: SWEEP_DIR/report.md with PNG plots, from the cells' compact summaries alone.

The report rebuilds results.csv from compact/ (folder.py; finished cells without one get it from their run store
first) and is deterministic: the same compact data give byte-identical report.md, results.csv and PNGs (fixed
bootstrap seeds, sorted groups, PNGs without a creation stamp).
Top: how many grid cells are finished ("partial results" whenever some are not), then SWEEP_DIR/findings.md
when there is one (a person's reading of the data, shown as written). Per problem: the answer table
(best size at each budget, margin, posterior confidence and the bootstrap's) and where the best size changes;
best metric vs budget per size and baseline (mean and 95 % bootstrap band over seeds: the README figure);
improvement over the seed program per unit of modelled cost; the held-out metric of each run's best program; the
decomposition (samples per $ x P(valid and new) x P(improves island best | valid and new) x mean gain), copy and
failure rates, evaluation's share of the cost; the yield funnel; saturating fits with extrapolated crossovers.
Last: the adaptive sweep beside the grid, when SWEEP_DIR/adaptive.json exists. Sections: report_sections.py.
"""
from __future__ import annotations

import math
from pathlib import Path

from funsearch.study import analysis, fitting
from funsearch.study import report_sections as sections
from funsearch.study.experiment import ExperimentError
from funsearch.study.folder import SweepFolder
from funsearch.study.plots import plot_curves, plot_fits


class ReportError(Exception):
    """The sweep folder has no results to report. One line."""


def _num(v, digits: int = 4) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}g}"


def write_report(sweep_dir: str | Path) -> Path:
    """Write SWEEP_DIR/results.csv, report.md and its PNGs from the compact cells; returns the report's path."""
    sweep_dir = Path(sweep_dir)
    try:
        folder = SweepFolder.open(sweep_dir)
        folder.check_compacts()
        compacts = folder.compacts()
    except ExperimentError as exc:
        raise ReportError(str(exc)) from None
    rows = [r for data in compacts for r in data["rows"]]
    if not rows:
        raise ReportError(f"{sweep_dir} has no finished cells yet")
    folder.write_results()
    exp = folder.exp
    for r in rows:
        r["improvement_per_cost"] = analysis.improvement_per_cost(r)
    done, grid = folder.progress()
    lines = [f"# Sweep {exp.name}", ""] + sections.progress_lines(done, grid) + [
        f"Budgets in {rows[0]['unit']} (modelled on {exp.price_as or 'the measured hardware'}, serving batch "
        f"{exp.modelled_batch}; evaluation CPU included); backend {exp.backend}; {len(compacts)} runs; "
        f"{len({r['seed'] for r in rows})} seeds. Scores: higher is better. Means over seeds with 95 % bootstrap "
        "intervals. Every budget of a run is read from one long run's ledger rows.", ""]
    lines += sections.findings_lines(sweep_dir)
    axis = budget_axis(rows[0]["unit"], exp.price_as, exp.modelled_batch)
    for problem in sorted({r["problem"] for r in rows}):
        lines += _problem_section(sweep_dir, problem, [r for r in rows if r["problem"] == problem], axis,
                                  [c for c in compacts if c["rows"] and c["rows"][0]["problem"] == problem])
    lines += sections.adaptive_lines(folder, compacts)
    capped = sorted({r["cell"] for r in rows if not r["reached"]})
    if capped:
        lines += ["## Notes", "", f"{len(capped)} runs stopped at the max_samples cap before their largest budget "
                  "(usually random mutation, which spends almost nothing per sample); their later checkpoints "
                  "repeat their final state: " + ", ".join(capped), ""]
    path = sweep_dir / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def budget_axis(unit: str, price_as: str | None, batch: int) -> str:
    """The x-axis label of a budget plot: the unit, and for modelled units the hardware and batch priced on."""
    names = {"dollars": "$", "gpu_seconds": "GPU-seconds"}
    if unit not in names:
        return f"budget ({unit.replace('_', ' ')})"
    if price_as is None:
        return f"budget (measured {names[unit]})"
    return f"budget (modelled {price_as.upper()} {names[unit]}, batch {batch})"


def _problem_section(sweep_dir: Path, problem: str, prow: list[dict], axis: str, compacts: list[dict]) -> list[str]:
    amounts = sorted({r["budget_amount"] for r in prow})
    log_x = amounts[-1] / amounts[0] > 3
    return ([f"## {problem}", ""] + _answer_lines(prow) + _curve_lines(sweep_dir, problem, prow, log_x, axis)
            + _improvement_lines(sweep_dir, problem, prow, log_x, axis) + sections.heldout_lines(compacts)
            + sections.decomposition_lines(prow, compacts) + sections.funnel_lines(sweep_dir, problem, compacts)
            + _fit_lines(sweep_dir, problem, prow, amounts, axis))


def _answer_lines(prow: list[dict]) -> list[str]:
    lines = ["### The answer: best size at each budget", "",
             "| budget | best size | runner-up | margin (score) | confidence | bootstrap | mean score per size |",
             "|---|---|---|---|---|---|---|"]
    answers = analysis.best_sizes(prow)
    for a in answers:
        means = ", ".join(f"{s} {_num(m, 6)} (n={a.n[s]})" for s, m in sorted(a.means.items()))
        tied = [s for s, m in a.means.items() if m == a.means[a.best]]
        best = f"tie: {' = '.join(sorted(tied))}" if len(tied) > 1 else f"**{a.best}**"
        sure = (f"{a.confidence:.2f} | {a.bootstrap.get(a.best, 1.0):.2f}" if min(a.n.values()) > 1 or len(a.n) == 1
                else "- (one seed) | -")
        lines.append(f"| {a.budget} | {best} | {a.runner_up or '-'} | {_num(a.margin)} | {sure} | {means} |")
    return lines + ["", "Confidence: posterior probability that the best size has the highest mean score (a "
                        "Student-t per size and budget, seed-to-seed noise pooled over sizes and budgets: the "
                        "posterior that drives `--adaptive`). Bootstrap: the same probability with seeds "
                        "resampled per size, overconfident with few seeds (two seeds resample to three means). "
                        "Neither is given while a size has one seed: there is no seed-to-seed noise to measure yet.",
                    ""] + sections.change_lines(answers)


def _curve_lines(sweep_dir: Path, problem: str, prow: list[dict], log_x: bool, axis: str) -> list[str]:
    metric = next((r["metric_name"] for r in prow if r["metric_name"]), "metric")
    metric_points = analysis.curves([dict(r, value=r["metric"]) for r in prow], value="value")
    plot_curves(metric_points, sweep_dir / f"{problem}_metric.png", f"{problem}: best {metric} vs budget",
                f"{metric} of the best program", log_x, axis)
    lines = [f"### Best {metric} vs budget", "", f"![{metric} vs budget]({problem}_metric.png)", "",
             f"| mode | size | budget | {metric} mean [95 % CI] | score mean | samples | valid rate | "
             "tokens | modelled $ |", "|---|---|---|---|---|---|---|---|---|"]
    score_points = {(p.mode, p.size, p.budget): p for p in analysis.curves(prow)}
    for p in metric_points:
        group = [r for r in prow if (r["mode"], r["size"], r["budget"]) == (p.mode, p.size, p.budget)]
        mean = {k: sum(r[k] or 0 for r in group) / len(group) for k in ("samples", "valid_rate", "tokens",
                                                                         "modelled_cost")}
        s = score_points.get((p.mode, p.size, p.budget))
        lines.append(f"| {p.mode} | {p.size} | {p.budget} | {_num(p.mean)} [{_num(p.lo)}, {_num(p.hi)}] | "
                     f"{_num(s.mean if s else None, 6)} | {mean['samples']:.1f} | {mean['valid_rate']:.2f} | "
                     f"{mean['tokens']:.0f} | {_num(mean['modelled_cost'], 3)} |")
    return lines


def _improvement_lines(sweep_dir: Path, problem: str, prow: list[dict], log_x: bool, axis: str) -> list[str]:
    imp = analysis.curves([r for r in prow if r["improvement_per_cost"] is not None], value="improvement_per_cost")
    if not imp:
        return []
    plot_curves(imp, sweep_dir / f"{problem}_improvement.png",
                f"{problem}: score gained over the seed program per modelled $", "score gain per $", log_x, axis)
    return ["", "### Improvement per unit of cost", "", f"![improvement per cost]({problem}_improvement.png)", ""]


def _fit_lines(sweep_dir: Path, problem: str, prow: list[dict], amounts: list[float], axis: str) -> list[str]:
    lines = ["### Saturating fits and crossovers", ""]
    by_size = fitting.fits_by_size(prow, problem)
    if not by_size:
        return lines + [f"No fit: s(b) = a - c (b/b_ref)^-alpha needs at least 3 budgets per size "
                        f"(this sweep has {len(amounts)}) and scores that change with the budget.", ""]
    found = fitting.crossovers(problem, by_size, amounts[0] / 10, amounts[-1] * 100)
    plot_fits(prow, by_size, found, sweep_dir / f"{problem}_fits.png", f"{problem}: fitted score vs budget", axis)
    lines += [f"![fits]({problem}_fits.png)", "", "| size | a (asymptote) | c | alpha | rmse | points |",
              "|---|---|---|---|---|---|"]
    for size, f in sorted(by_size.items()):
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
    return lines + [""]
