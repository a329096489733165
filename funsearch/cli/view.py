"""`funsearch view RUN_DIR|SWEEP_DIR`: a local web page of a run or a sweep that follows it while it is written,
or (--html FILE) the same view as one self-contained file (funsearch/view/)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from funsearch.cli.output import fail


def register(app: typer.Typer) -> None:
    @app.command()
    def view(
        path: Path = typer.Argument(..., help="a run directory (run.sqlite) or a sweep directory (results.csv)"),
        port: int = typer.Option(8765, "--port", min=0, max=65535, help="port (0: any free one)"),
        host: str = typer.Option("127.0.0.1", "--host", help="interface to listen on (only this machine by "
                                                             "default)"),
        html: Optional[Path] = typer.Option(None, "--html", help="write the view as one offline HTML file "
                                                                 "instead of serving it"),
    ) -> None:
        """Serve a web view of a run or sweep on 127.0.0.1: curves, yield funnels, islands, the lineage with each
        program's source, diffs, scores, prompt and completion; sweeps: curves, best sizes, decomposition."""
        from funsearch.store.run_store import StoreError
        from funsearch.view.api import NotFound
        from funsearch.view.server import ServeError, serve
        from funsearch.view.static import write_html
        from funsearch.view.target import TargetError, open_target

        try:
            target = open_target(path)
            if html is not None:
                typer.echo(f"view: wrote {write_html(target, html)}")
                return
            serve(target, host, port, echo=lambda line: typer.echo(line))
        except (TargetError, ServeError, StoreError, NotFound) as exc:
            fail(str(exc))
