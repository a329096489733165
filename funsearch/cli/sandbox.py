"""`funsearch sandbox`: print the sandbox protections active on this machine, one line each."""
from __future__ import annotations

import json

import typer


def register(app: typer.Typer) -> None:
    @app.command("sandbox")
    def sandbox(
        as_json: bool = typer.Option(False, "--json", help="print a JSON list instead of lines"),
        probe: bool = typer.Option(True, "--probe/--no-probe",
                                   help="start a fork server and let a hardened child confirm each step"),
    ) -> None:
        """Show which sandbox protections are on (and why any are off)."""
        from funsearch.sandbox.client import ForkServer, SandboxError
        from funsearch.sandbox.limits import SandboxLimits
        from funsearch.sandbox.protections import describe_protections

        protections = describe_protections()
        note = fast = ""
        if probe:
            server = ForkServer(None, SandboxLimits())
            try:
                server.start()
                protections = server.protections()
                fast = server.fast_path()
            except SandboxError as exc:
                note = f"probe failed: {exc}"
            finally:
                server.stop()
        if as_json:
            typer.echo(json.dumps([{"name": p.name, "on": p.on, "reason": p.reason} for p in protections]))
            return
        for p in protections:
            typer.echo(p.line())
        off = [p.name for p in protections if not p.on]
        typer.echo(f"{len(protections) - len(off)}/{len(protections)} protections on"
                   + (f"; OFF: {', '.join(off)}" if off else ""))
        for line in (fast, note):
            if line:
                typer.echo(line)
