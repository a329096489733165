"""The report's newer sections (markdown lines): progress, where the best size changes, held-out metrics, the
decomposition, funnel and failure rates, and the adaptive sweep beside the grid. Numbers come from
decomposition.py (pure) over compact cells and results rows; report.py puts the sections together."""
from __future__ import annotations

import json
import math
from pathlib import Path

from funsearch.study import adaptive, analysis
from funsearch.study import decomposition as dec
from funsearch.study.cells import Cell
from funsearch.study.plots import STAGES, plot_funnel

NOT_FAILURES = ("valid", "duplicate", "noop", "cascade_stop")


def _num(v, digits: int = 3) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}g}"


def _ci(triple, digits: int = 3) -> str:
    value, lo, hi = triple[:3]
    return "-" if value is None else f"{_num(value, digits)} [{_num(lo, digits)}, {_num(hi, digits)}]"


def progress_lines(done: int, grid: int) -> list[str]:
    if done < grid:
        return [f"**Partial results: {done} of {grid} cells finished.** Nothing here is final: the answer can "
                "change as the remaining cells finish (`funsearch sweep` on the same experiment and folder runs "
                "them; finished cells are never rerun).", ""]
    return [f"All {grid} cells of the grid finished.", ""]


FINDINGS = "findings.md"   # a person's reading of the data, kept in the sweep folder and shown as written


def findings_lines(sweep_dir: Path) -> list[str]:
    """SWEEP_DIR/findings.md under its own heading, as written (the report's only text not computed from data)."""
    path = Path(sweep_dir) / FINDINGS
    if not path.is_file():
        return []
    return ["## What the data show (written by hand, findings.md)", "", path.read_text().strip(), ""]


def _leader(a) -> str:
    tied = sorted(s for s, m in a.means.items() if m == a.means[a.best])
    return f"tie ({' = '.join(tied)})" if len(tied) > 1 else a.best


def change_lines(answers) -> list[str]:
    """Budgets where the leading size (or tie) changes between adjacent budgets, with the confidence after."""
    changes = [(prev, nxt) for prev, nxt in zip(answers, answers[1:]) if _leader(prev) != _leader(nxt)]
    if len(answers) < 2:
        return []
    if not changes:
        return [f"Where the best size changes: nowhere in the data ({_leader(answers[0])} leads at every budget).",
                ""]
    return ["Where the best size changes (in the data; the fits below extrapolate):", ""] + [
        f"- between {p.budget} and {n.budget}: {_leader(p)} → {_leader(n)} ({_sure(n)} at {n.budget})"
        for p, n in changes] + [""]


def _sure(answer) -> str:
    """The confidence of an answer, or why there is none (a size with one seed: no noise to measure)."""
    return f"confidence {answer.confidence:.2f}" if min(answer.n.values()) > 1 else "one seed: no confidence"


def heldout_lines(compacts: list[dict]) -> list[str]:
    table = dec.heldout(compacts)
    lines = ["### Held-out metric of each run's best program", ""]
    if not any(entry["splits"] for entry in table.values()):
        return lines + ["No run recorded a held-out evaluation (the problem has one split, or runs predate it).", ""]
    splits = sorted({s for e in table.values() for s in e["splits"]}, key=lambda s: (not s.startswith("train"), s))
    metric = next((e["metric"] for e in table.values() if e["metric"]), "metric")
    lines += [f"Headline metric ({metric}) of the best program each run found, re-evaluated on every split at the "
              "end of the run: mean over runs [95 % bootstrap interval] (runs valid there / runs).", "",
              "| mode | size | " + " | ".join(splits) + " |", "|---|---|" + "---|" * len(splits)]
    for (_, mode, size), entry in sorted(table.items()):
        cells = [f"{_ci(entry['splits'][s])} ({entry['splits'][s][3]}/{entry['splits'][s][4]})"
                 if s in entry["splits"] else "-" for s in splits]
        lines.append(f"| {mode} | {size} | " + " | ".join(cells) + " |")
    return lines + [""]


def decomposition_lines(prow: list[dict], compacts: list[dict]) -> list[str]:
    lines = ["### Why: the decomposition", "",
             "samples per modelled $ × P(valid and new) × P(improves its island's best \\| valid and new) × mean "
             "gain when it does = score gained on islands per $ (the product; each factor pooled over runs, 95 % "
             "bootstrap interval over runs). Island bests start at the seed program's score and follow "
             "registrations in sample order; island resets (a weak island restarted from a strong one's best) are "
             "not in the run store, so the last two factors are approximate once a reset has happened.", "",
             "| mode | size | budget | runs | samples per $ | P(valid and new) | P(improves \\| valid and new) | "
             "mean gain | island gain per $ | evaluation share of $ |", "|---|---|---|---|---|---|---|---|---|---|"]
    for d in dec.decomposition(prow):
        lines.append(f"| {d['mode']} | {d['size']} | {d['budget']} | {d['runs']} | {_ci(d['samples_per_dollar'])} | "
                     f"{_ci(d['p_valid_new'])} | {_ci(d['p_improve'])} | {_ci(d['mean_gain'])} | "
                     f"{_ci(d['gain_per_dollar'])} | {_ci(d['eval_share'])} |")
    lines += ["", "Copies, failures and staleness over each whole run (all seeds summed). Behaviourally new: valid "
              "programs whose outputs on the whole split differ from the seed's and every earlier program's (the "
              "same test with or without the cascade, so arms compare fairly; P(valid and new) above counts a "
              "run's valid programs, and without the cascade those include no-ops).", "",
              "| mode | size | samples | copies of a parent | all duplicates | no-ops | cascade stops | failed | "
              "behaviourally new | top failures | evaluation share of $ | staleness mean / p90 |", "|---" * 12 + "|"]
    for (_, mode, size), t in sorted(dec.funnels(compacts).items()):
        n = t["funnel"]["samples"] or 1
        failed = {k: v for k, v in t["failures"].items() if k not in NOT_FAILURES}
        top = ", ".join(f"{k} {v}" for k, v in sorted(failed.items(), key=lambda kv: (-kv[1], kv[0]))[:3]) or "-"
        total = t["samples_modelled"] + t["evaluations_modelled"]
        stale = dec.staleness_summary(t["staleness"])
        rate = {k: f"{t['funnel'][k] / n:.1%}" for k in ("copies", "duplicates", "noops", "cascade_stops",
                                                          "behaviour_new")}
        lines.append(f"| {mode} | {size} | {t['funnel']['samples']} | {rate['copies']} | {rate['duplicates']} | "
                     f"{rate['noops']} | {rate['cascade_stops']} | {sum(failed.values()) / n:.1%} | "
                     f"{rate['behaviour_new']} | {top} | "
                     f"{_num(t['evaluations_modelled'] / total if total > 0 else None)} | "
                     f"{'-' if stale is None else f'{stale[0]:.2f} / {stale[1]}'} |")
    return lines + [""]


def funnel_lines(sweep_dir: Path, problem: str, compacts: list[dict]) -> list[str]:
    table = dec.funnels(compacts)
    if not table:
        return []
    plot_funnel({k: t["funnel"] for k, t in table.items()}, sweep_dir / f"{problem}_funnel.png",
                f"{problem}: yield funnel (all seeds)")
    extra = ("duplicates", "copies", "noops", "cascade_stops")
    lines = ["### Yield funnel", "", f"![yield funnel]({problem}_funnel.png)", "",
             "| mode | size | seeds | " + " | ".join(s.replace("_", " ") for s in STAGES + extra) + " |",
             "|---|---|---|" + "---|" * (len(STAGES) + len(extra))]
    for (_, mode, size), t in sorted(table.items()):
        lines.append(f"| {mode} | {size} | {t['runs']} | " + " | ".join(str(t["funnel"][s]) for s in STAGES + extra)
                     + " |")
    return lines + ["", "samples > extracted (code found) > compiles > runs (no runtime failure) > valid (a new valid "
                        "program) > new best (of the run); duplicates include copies of a parent; no-ops give the "
                        "same outputs as a parent on the probe; cascade stops lost clearly on the probe.", ""]


def adaptive_lines(folder, compacts: list[dict]) -> list[str]:
    """The adaptive sweep's answer and run count beside the grid's, per problem (SWEEP_DIR/adaptive.json)."""
    path = folder.dir / "adaptive.json"
    if not path.is_file():
        return []
    exp, plan = folder.exp, json.loads(path.read_text())
    last = len(exp.budgets) - 1
    cap = exp.max_adaptive_runs or len(exp.sizes) * len(exp.seeds)
    by_key = {c["key"]: c for c in compacts}
    lines = ["## The adaptive sweep beside the grid", "",
             "`funsearch sweep --adaptive` gives each next seed to the size with the largest expected information "
             "about the best size (adaptive.py) and stops at the experiment's target confidence "
             f"({exp.target_confidence}) or after {cap} evolve runs per problem. Its runs are grid cells too.", ""]
    for problem, steps in sorted(plan.items()):
        keys = [Cell(problem, s["size"], "evolve", s["seed"], s.get("budget_index", last), last).key for s in steps]
        rows = [r for k in keys if k in by_key for r in by_key[k]["rows"]]
        post = adaptive.fit_posterior(adaptive.run_curves(rows, exp.budgets), exp.sizes, exp.budget_amounts)
        stop = adaptive.should_stop(post, exp.target_confidence, cap) if rows else None
        grid = {c.key for c in folder.grid() if c.problem == problem and c.mode == "evolve"}
        grid_rows = [r for k in sorted(grid) if k in by_key for r in by_key[k]["rows"]]
        answers = {a.budget: a for a in analysis.best_sizes(grid_rows)}
        counts = ", ".join(f"{s} {sum(1 for st in steps if st['size'] == s)}" for s in exp.sizes)
        lines += [f"### {Path(problem).stem}", "",
                  f"Adaptive: {sum(k in by_key for k in keys)} of {len(steps)} chosen runs finished ({counts}); "
                  f"{'stopped: ' + stop if stop else 'not stopped yet'}. Grid: "
                  f"{sum(k in by_key for k in grid)} of {len(grid)} evolve runs finished.", "",
                  "| budget | grid: best size (confidence) | adaptive: best size (probability) |", "|---|---|---|"]
        for budget, (size, p) in zip(exp.budgets, post.answer() if rows else [(None, 0.0)] * len(exp.budgets)):
            a = answers.get(budget)
            grid_cell = f"{_leader(a)} ({a.confidence:.2f})" if a else "-"
            lines.append(f"| {budget} | {grid_cell} | {size or '-'} ({p:.2f}) |" if size else
                         f"| {budget} | {grid_cell} | - |")
        lines.append("")
    return lines
