"""Why an arm wins (pure): the decomposition of its gain per dollar, its funnel and failures, held-out metrics.

Per (problem, mode, arm, budget), pooled over the runs (seeds) and with a 95 % bootstrap interval over runs:
  samples per modelled dollar  x  P(valid and new)  x  P(improves its island's best | valid and new)  x  mean gain
  = score gained on islands per dollar (sum of gains / sum of modelled dollars: the four factors multiply to it).
Rows are results rows (results.csv: samples, valid, improvements, gain, modelled_cost, eval_cost per checkpoint);
the other tables read compact cells (compact.py: funnel, failures, cost, staleness, heldout). No I/O.
"""
from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from funsearch.study.analysis import bootstrap_ci

FACTORS = (("samples_per_dollar", "samples", "modelled_cost"), ("p_valid_new", "valid", "samples"),
           ("p_improve", "improvements", "valid"), ("mean_gain", "gain", "improvements"),
           ("gain_per_dollar", "gain", "modelled_cost"), ("eval_share", "eval_cost", "modelled_cost"))
FUNNEL = ("samples", "extracted", "compiles", "runs", "valid", "new_best", "duplicates", "copies", "noops",
          "cascade_stops", "behaviour_new")


def pooled_ratio(pairs: list[tuple[float, float]], seed: int = 0, n_boot: int = 2000) -> tuple:
    """(sum num / sum den, lo, hi): the pooled ratio over runs and its 95 % bootstrap interval (runs resampled);
    (None, None, None) when the denominator is zero."""
    num = np.asarray([p[0] for p in pairs], dtype=float)
    den = np.asarray([p[1] for p in pairs], dtype=float)
    if not len(pairs) or den.sum() <= 0:
        return None, None, None
    value = float(num.sum() / den.sum())
    if len(pairs) == 1:
        return value, value, value
    idx = np.random.default_rng(seed).integers(0, len(pairs), size=(n_boot, len(pairs)))
    d = den[idx].sum(axis=1)
    ratios = num[idx].sum(axis=1)[d > 0] / d[d > 0]
    lo, hi = np.percentile(ratios, [2.5, 97.5])
    return value, float(lo), float(hi)


def _groups(rows, keys) -> dict:
    out = defaultdict(list)
    for r in rows:
        out[tuple(r[k] for k in keys)].append(r)
    return out


def decomposition(rows) -> list[dict]:
    """Per (problem, mode, size, budget): runs and each factor of FACTORS as (value, lo, hi), in budget order."""
    out = []
    groups = _groups(rows, ("problem", "mode", "size", "budget"))
    for key, group in sorted(groups.items(), key=lambda kv: (kv[0][:3], kv[1][0]["budget_amount"])):
        entry = dict(zip(("problem", "mode", "size", "budget"), key), runs=len(group))
        for name, num, den in FACTORS:
            entry[name] = pooled_ratio([(r.get(num) or 0.0, r.get(den) or 0.0) for r in group])
        out.append(entry)
    return out


def _arm(data: dict) -> tuple[str, str, str]:
    row = data["rows"][0] if data["rows"] else {}
    return row.get("problem", ""), data["cell"]["mode"], row.get("size", data["cell"]["size"])


def funnels(compacts) -> dict[tuple[str, str, str], dict]:
    """(problem, mode, arm) -> runs, the funnel summed over runs, failures by class, modelled dollars of samples and
    of evaluations, and the staleness histogram summed over runs."""
    out: dict = {}
    for data in compacts:
        total = out.setdefault(_arm(data), {"runs": 0, "funnel": dict.fromkeys(FUNNEL, 0), "failures": {},
                                            "samples_modelled": 0.0, "evaluations_modelled": 0.0, "staleness": {}})
        total["runs"] += 1
        for k in FUNNEL:
            total["funnel"][k] += data["funnel"].get(k) or 0
        for k, n in data["failures"].items():
            total["failures"][k] = total["failures"].get(k, 0) + n
        total["samples_modelled"] += data["cost"]["samples_modelled"] or 0.0
        total["evaluations_modelled"] += data["cost"]["evaluations_modelled"] or 0.0
        for k, n in ((data.get("staleness") or {}).get("histogram") or {}).items():
            total["staleness"][int(k)] = total["staleness"].get(int(k), 0) + n
    return out


def staleness_summary(histogram: dict[int, int]) -> tuple[float, int] | None:
    """(mean, 90th percentile) of a staleness histogram; None when empty."""
    n = sum(histogram.values())
    if not n:
        return None
    seen, p90 = 0, max(histogram)
    for v in sorted(histogram):
        seen += histogram[v]
        if seen > min(n - 1, int(0.9 * n)):
            p90 = v
            break
    return sum(v * c for v, c in histogram.items()) / n, p90


def _headline(metrics: dict | None) -> tuple[str, float | None]:
    if not metrics:
        return "", None
    name = next(iter(metrics))
    value = metrics[name]
    return name, float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def heldout(compacts) -> dict[tuple[str, str, str], dict]:
    """(problem, mode, arm) -> {"runs", "metric" (headline name), "splits": {"train (<split>)" or split: (mean, lo,
    hi, valid runs, runs)}}: the headline metric of each run's best program on its training split and on each
    held-out split (mean over runs whose program was valid there, 95 % bootstrap interval)."""
    values: dict = {}
    for data in compacts:
        h = data.get("heldout")
        entry = values.setdefault(_arm(data), {"runs": 0, "metric": "", "splits": {}})
        entry["runs"] += 1
        if not h:
            continue
        name, train = _headline(h.get("train"))
        entry["metric"] = entry["metric"] or name
        entry["splits"].setdefault(f"train ({h.get('train_split')})", []).append(train)
        for split, result in (h.get("splits") or {}).items():
            _, value = _headline(result.get("metrics") if result.get("valid") else None)
            entry["splits"].setdefault(split, []).append(value)
    out = {}
    for key, entry in values.items():
        splits = {}
        for split, vals in entry["splits"].items():
            ok = [v for v in vals if v is not None]
            mean, lo, hi = bootstrap_ci(ok) if ok else (None, None, None)
            splits[split] = (mean, lo, hi, len(ok), len(vals))
        out[key] = {"runs": entry["runs"], "metric": entry["metric"], "splits": splits}
    return out


def best_changes(answers) -> list[tuple]:
    """Budgets where the best arm (by mean score, analysis.best_sizes) changes between adjacent budgets of a problem:
    (problem, budget before, best before, budget after, best after, confidence after)."""
    out = []
    for prev, nxt in zip(answers, answers[1:]):
        if prev.problem == nxt.problem and prev.best != nxt.best:
            out.append((nxt.problem, prev.budget, prev.best, nxt.budget, nxt.best, nxt.confidence))
    return out
