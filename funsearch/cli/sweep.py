"""`funsearch sweep CONFIG` (run an experiment's cells, resumably), `funsearch report SWEEP_DIR` and
`funsearch export SWEEP_DIR DEST` (a committable copy without run stores)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from funsearch.cli.output import fail


def _selected(cells: list, only: list[str]) -> list:
    """select_cells, its refusal a one-line exit."""
    from funsearch.study.cells import select_cells

    try:
        return select_cells(cells, only)
    except ValueError as exc:
        fail(str(exc))


def register(app: typer.Typer) -> None:
    @app.command()
    def sweep(
        config: Path = typer.Argument(..., help="experiment file (experiments/*.toml)"),
        adaptive: bool = typer.Option(False, "--adaptive", help="choose runs by expected information gain about "
                                                                "the best size, instead of the full grid"),
        parallel: int = typer.Option(1, "--parallel", min=1, help="cells at once, as Ray tasks (2 CPUs per cell)"),
        out: Optional[Path] = typer.Option(None, "--out", help="sweep folder (default: the experiment's out, "
                                                               "or sweeps/<name>)"),
        address: Optional[str] = typer.Option(None, "--address", help="Ray cluster: auto | ray://host:port"),
        report: bool = typer.Option(True, "--report/--no-report", help="write report.md when the sweep ends"),
        reuse: Optional[Path] = typer.Option(None, "--reuse", help="another folder of this experiment: take its "
                                                                   "finished cells instead of running them again"),
        only: Optional[list[str]] = typer.Option(None, "--only", help="run only the grid's cells that KEY=V1,V2 "
                                                 "admits (problem, size, mode, seed, variant; repeat to narrow: "
                                                 "--only size=mid --only seed=1,2)"),
    ) -> None:
        """Run an experiment: problem x size x seed runs plus baselines, each to the largest budget; results.csv.

        Re-running continues a stopped or killed sweep: finished cells are skipped, unfinished ones resumed.
        """
        from funsearch.config import ConfigError
        from funsearch.study.cells import expand
        from funsearch.study.experiment import ExperimentError, load_experiment
        from funsearch.study.sweep import Sweep

        try:
            exp = load_experiment(config)
            if adaptive and only:
                fail("--only chooses cells of the grid; --adaptive chooses its own")
            grid = expand(exp)
            cells = _selected(grid, only or [])  # before anything is written
            sweep_dir = exp.out_dir(out)
            runner = Sweep(exp, sweep_dir, echo=lambda line: typer.echo(line, err=True), parallel=parallel,
                           address=address, reuse=reuse)
            if adaptive:
                runner.run_adaptive()
            else:
                of = f" (--only: {len(cells)} of {len(grid)})" if only else ""
                plural = "" if len(cells) == 1 else "s"
                typer.echo(f"sweep {exp.name}: {len(cells)} cell{plural}{of} in {sweep_dir}", err=True)
                runner.run_cells(cells)
        except (ExperimentError, ConfigError) as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            typer.echo(f"\ninterrupted: continue with: funsearch sweep {config}"
                       + (f" --out {out}" if out else "") + (" --adaptive" if adaptive else "")
                       + (f" --reuse {reuse}" if reuse else "")
                       + "".join(f" --only {spec}" for spec in only or []), err=True)
            raise typer.Exit(130) from None
        typer.echo(f"results: {sweep_dir / 'results.csv'}")
        if report:
            from funsearch.study.report import ReportError, write_report
            try:
                typer.echo(f"report: {write_report(sweep_dir)}")
            except ReportError as exc:
                fail(str(exc))

    @app.command("report")
    def report_cmd(sweep_dir: Path = typer.Argument(..., help="a sweep folder (experiment.json, compact/)")) -> None:
        """Write SWEEP_DIR/report.md, results.csv and plots from the cells' compact summaries: the best size per
        budget, metric vs cost per size, held-out metrics, the decomposition, yield funnels. Deterministic."""
        from funsearch.study.report import ReportError, write_report

        try:
            typer.echo(write_report(sweep_dir))
        except ReportError as exc:
            fail(str(exc))

    @app.command("export")
    def export_cmd(
        sweep_dir: Path = typer.Argument(..., help="a sweep folder"),
        dest: Path = typer.Argument(..., help="the committable folder to write, e.g. docs/results/<name>"),
    ) -> None:
        """Copy a sweep's committable data (experiment.json, compact/, adaptive.json) into DEST, without the run
        stores, and rebuild results.csv, report.md and the plots there. DEST resumes like a sweep folder."""
        from funsearch.study.experiment import ExperimentError
        from funsearch.study.export import export
        from funsearch.study.report import ReportError

        try:
            report_path, cells = export(sweep_dir, dest)
        except (ExperimentError, ReportError) as exc:
            fail(str(exc))
        typer.echo(f"exported {cells} finished cells to {dest}; report: {report_path}")
