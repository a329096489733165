"""`funsearch show RUN_DIR`: best program, score over samples, failures, yield funnel per model, costs
(the numbers come from store/summary.py)."""
from __future__ import annotations

import json
from pathlib import Path

import typer

from funsearch.cli.output import fail
from funsearch.weights.labels import model_label


def render(info: dict) -> str:
    lines = [f"run {info['run_dir']}: {info['samples']} samples, stopped: {info['stop_reason'] or 'not cleanly'}"]
    sim = info.get("simulated")
    if sim:
        lines.append(f"SIMULATED engine (not a model): completions replayed from {sim['from']}, latencies of "
                     f"{'+'.join(sim['sizes'])} on {sim['hardware']} at batch {sim['batch']} (roofline)")
    if info["baseline"]:
        lines.append(f"baseline score {info['baseline']['score']:.6g}  {_metrics(info['baseline']['metrics'])}")
    if info["best"]:
        b = info["best"]
        lines.append(f"best score {b['score']:.6g} (sample {b['sample_id']}, island {b['island']})  "
                     f"{_metrics(b.get('metrics'))}")
    if info["best_trajectory"]:
        lines.append("best over samples: " + ", ".join(f"#{r['sample_id']}: {r['score']:.6g}"
                                                       for r in info["best_trajectory"][-12:]))
    lines.append("outcomes: " + ", ".join(f"{k} {v}" for k, v in info["failures"].items()))
    lines.append("yield per model: samples > extracted > compiles > runs > valid > new best"
                 " | tokens, seconds per valid program")
    for r in info["per_model"]:
        tpv = "-" if r["tokens_per_valid"] is None else f"{r['tokens_per_valid']:.0f}"
        spv = "-" if r["seconds_per_valid"] is None else f"{r['seconds_per_valid']:.1f}"
        label = model_label(r["model"])  # a spec's name, not its path
        lines.append(f"  {label:>8}: {r['samples']} > {r['extracted']} > {r['compiles']} > {r['runs']} > "
                     f"{r['valid']} > {r['new_best']}  (dup {r['duplicates']}: {r.get('copies', 0)} copies of a "
                     f"parent; no-op {r.get('noops', 0)}, cascade stops {r.get('cascade_stops', 0)})"
                     f"  | {tpv} tok, {spv} s"
                     f"  | tokens {r['prompt_tokens']}+{r['completion_tokens']}, {r['seconds'] or 0:.1f} s")
    if len(info.get("strategies") or []) > 1 or any(r["strategy"] != "classic" for r in info.get("strategies") or []):
        lines.append("prompt strategies: " + ", ".join(
            f"{r['strategy']} {r['samples']} samples > {r['valid']} valid > {r['new_best']} new best "
            f"(dup {r['duplicates']}, no-op {r['noops']})" for r in info["strategies"]))
    st = info.get("staleness")
    if st:
        lines.append(f"staleness (programs registered on the island while a sample was out): mean {st['mean']:.2f}, "
                     f"median {st['p50']}, p90 {st['p90']}, max {st['max']}, zero for {100 * st['zero_fraction']:.0f}%")
    ev = info["evaluations"]
    lines.append(f"evaluations: {ev['n']}, {ev['seconds'] or 0:.2f} s wall, {ev['cpu_seconds'] or 0:.2f} CPU-s")
    ledger = info.get("ledger") or {}
    t = ledger.get("totals")
    if t:
        lines.append(f"cost measured ({ledger['measured_hw']}): ${t['measured_dollars']:.5f}, "
                     f"{t['measured_gpu_seconds']:.1f} device-s | "
                     f"modelled ({ledger['modelled_hw'] or ledger['measured_hw']}): "
                     f"${t['modelled_dollars']:.5f}, {t['modelled_gpu_seconds']:.2f} device-s | "
                     f"wall {t['wall_seconds']:.0f} s")
    u = info.get("utilisation")
    if u:
        lines.append(f"utilisation: proposers {100 * u['proposers']:.0f}% ({u['proposer_count']}), "
                     f"evaluators {100 * u['evaluators']:.0f}% ({u['evaluator_count']}) over {u['wall_seconds']:.0f} s")
        if u.get("registration"):
            lines.append(f"pipeline: {u['registration']} registration, {u['in_flight']} in flight per engine "
                         f"(window {u['window']}; peak {u['peak_outstanding']} outstanding, "
                         f"{u['peak_eval_queue']} waiting for evaluation), {u['samples_per_second']:.2f} samples/s")
    stats = (info.get("pool") or {}).get("stats")
    if stats:
        lines.append("pool: " + json.dumps(stats, default=str))
    lines += _heldout(info.get("heldout"))
    if info["best"]:
        lines += ["", info["best"]["source"]]
    return "\n".join(lines)


def _heldout(heldout: dict | None) -> list[str]:
    """The best program on the train split and on every held-out split."""
    if not heldout:
        return []
    out = [f"best program, train ({heldout['train_split']}): {_metrics(heldout.get('train'))}"]
    for split, got in heldout["splits"].items():
        shown = _metrics(got["metrics"]) if got["valid"] else f"invalid ({got['failure']}): {got['message']}"
        out.append(f"  held out {split}: {shown}")
    return out


def _metrics(metrics) -> str:
    if isinstance(metrics, str):
        metrics = json.loads(metrics)
    return "  ".join(f"{k} {v:.4g}" for k, v in (metrics or {}).items())


def register(app: typer.Typer) -> None:
    @app.command()
    def show(run_dir: Path = typer.Argument(..., help="a run directory"),
             as_json: bool = typer.Option(False, "--json", help="print one JSON object")) -> None:
        """Best program, score over samples, failure counts, yield funnel per model, tokens and cost."""
        from funsearch.store.run_store import StoreError
        from funsearch.store.summary import summarise

        try:
            info = summarise(run_dir)
        except StoreError as exc:
            fail(str(exc))
        typer.echo(json.dumps(info, default=str) if as_json else render(info))
