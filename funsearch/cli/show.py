"""`funsearch show RUN_DIR`: best program, score over samples, failures, yield funnel per model, costs."""
from __future__ import annotations

import json
from pathlib import Path

import typer

RUN_FAILURES = ("runtime_error", "timeout", "memory_error", "crash", "sandbox_error")


def summarise(run_dir: Path) -> dict:
    """Everything `show` prints, computed from the store's rows (works on crashed runs too)."""
    from funsearch.store.run_store import RunStore

    store = RunStore(run_dir)
    try:
        best = store.query("SELECT p.*, e.metrics FROM programs p LEFT JOIN evaluations e "
                           "ON e.program_hash = p.hash ORDER BY p.score DESC, p.id LIMIT 1")
        baseline = store.query("SELECT score, metrics FROM evaluations WHERE sample_id = -1")
        trajectory = store.query("SELECT sample_id, score FROM programs WHERE new_best = 1 ORDER BY sample_id")
        failures = {r["failure"] or "valid": r["n"] for r in store.query(
            "SELECT failure, COUNT(*) AS n FROM samples GROUP BY failure ORDER BY n DESC")}
        funnel = store.query(f"""
            SELECT s.model AS model, COUNT(*) AS samples,
                   COALESCE(SUM(s.failure IS NULL OR s.failure NOT IN ('no_code', 'proposer_error')), 0) AS extracted,
                   COALESCE(SUM(s.source IS NOT NULL), 0) AS compiles,
                   COALESCE(SUM(s.source IS NOT NULL AND e.valid IS NOT NULL AND
                       (e.failure IS NULL OR e.failure NOT IN ({','.join(repr(f) for f in RUN_FAILURES)}))), 0) AS runs,
                   COALESCE(SUM(COALESCE(e.valid, 0) = 1 AND s.failure IS NULL), 0) AS valid,
                   COALESCE(SUM(s.failure = 'duplicate'), 0) AS duplicates,
                   COALESCE(SUM(COALESCE(p.new_best, 0)), 0) AS new_best,
                   COALESCE(SUM(s.prompt_tokens), 0) AS prompt_tokens, COALESCE(SUM(s.completion_tokens), 0) AS completion_tokens,
                   COALESCE(SUM(s.seconds), 0) AS seconds, COALESCE(SUM(s.measured_cost), 0) AS measured_cost,
                   COALESCE(SUM(s.modelled_cost), 0) AS modelled_cost
            FROM samples s
            LEFT JOIN (SELECT program_hash, MAX(valid) AS valid, MIN(failure) AS failure
                       FROM evaluations GROUP BY program_hash) e ON e.program_hash = s.program_hash
            LEFT JOIN programs p ON p.sample_id = s.id
            GROUP BY s.model ORDER BY s.model""")
        for row in funnel:
            valid = row["valid"] or 0
            row["tokens_per_valid"] = (row["completion_tokens"] or 0) / valid if valid else None
            row["seconds_per_valid"] = (row["seconds"] or 0.0) / valid if valid else None
        evals = store.query("SELECT COUNT(*) AS n, SUM(seconds) AS seconds, SUM(cpu_seconds) AS cpu_seconds, "
                            "SUM(measured_cost) AS cost FROM evaluations")[0]
        return {
            "run_dir": str(run_dir),
            "config": store.meta("config"),
            "stop_reason": store.meta("stop_reason"),
            "samples": store.count("samples"),
            "baseline": baseline[0] if baseline else None,
            "best": best[0] if best else None,
            "best_trajectory": trajectory,
            "failures": failures,
            "per_model": funnel,
            "evaluations": evals,
            "ledger": store.meta("ledger"),
            "pool": store.meta("pool"),
            "utilisation": store.meta("utilisation"),
            "protections": store.meta("protections"),
        }
    finally:
        store.close()


def render(info: dict) -> str:
    lines = [f"run {info['run_dir']}: {info['samples']} samples, stopped: {info['stop_reason'] or 'not cleanly'}"]
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
        lines.append(f"  {r['model']:>8}: {r['samples']} > {r['extracted']} > {r['compiles']} > {r['runs']} > "
                     f"{r['valid']} > {r['new_best']}  (dup {r['duplicates']})  | {tpv} tok, {spv} s"
                     f"  | tokens {r['prompt_tokens']}+{r['completion_tokens']}, {r['seconds'] or 0:.1f} s")
    ev = info["evaluations"]
    lines.append(f"evaluations: {ev['n']}, {ev['seconds'] or 0:.2f} s wall, {ev['cpu_seconds'] or 0:.2f} CPU-s")
    ledger = info.get("ledger") or {}
    t = ledger.get("totals")
    if t:
        lines.append(f"cost measured ({ledger['measured_hw']}): ${t['measured_dollars']:.5f}, "
                     f"{t['measured_gpu_seconds']:.1f} device-s | modelled ({ledger['modelled_hw'] or ledger['measured_hw']}): "
                     f"${t['modelled_dollars']:.5f}, {t['modelled_gpu_seconds']:.2f} device-s | wall {t['wall_seconds']:.0f} s")
    u = info.get("utilisation")
    if u:
        lines.append(f"utilisation: proposers {100 * u['proposers']:.0f}% ({u['proposer_count']}), "
                     f"evaluators {100 * u['evaluators']:.0f}% ({u['evaluator_count']}) over {u['wall_seconds']:.0f} s")
    stats = (info.get("pool") or {}).get("stats")
    if stats:
        lines.append("pool: " + json.dumps(stats, default=str))
    if info["best"]:
        lines += ["", info["best"]["source"]]
    return "\n".join(lines)


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

        try:
            info = summarise(run_dir)
        except StoreError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2)
        typer.echo(json.dumps(info, default=str) if as_json else render(info))
