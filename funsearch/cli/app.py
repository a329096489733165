"""The `funsearch` typer app: each module of cli/ adds its commands with `register(app)`."""
from __future__ import annotations

import typer

from funsearch.cli import cost, models, problems, run, sandbox, show, sweep, view

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="FunSearch-style program search with sandboxed evaluation and cost-matched model-size studies.")

for module in (run, show, models, sandbox, problems, cost, sweep, view):
    module.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
