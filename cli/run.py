"""`mixft run`: train and evaluate one resolved config, and say where its results are.

run: mixft run model=tiny data.samples=true mixture.tasks=[fpb] --format json
"""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Annotated

import typer

from mixft.cli.formats import Format, TableOrJson


def run(
    overrides: Annotated[
        list[str] | None, typer.Argument(help="Overrides, e.g. model=tiny mixture.tasks=\\[fpb].")
    ] = None,
    fmt: Annotated[TableOrJson, typer.Option("--format", "-f", help="table (lines) or json.")] = Format.table,
) -> None:
    """Run one config to completion (a done run is not run again) and print its results."""
    from mixft.runner.errors import ConfigError
    from mixft.runner.execute.entry import EXIT_CLAIMED, Claimed, execute, prepare
    from mixft.runner.paths import run_dir
    from mixft.runner.store.status import last_error_line, read_status

    rid, _ = prepare(overrides or [])
    try:
        # libraries print to stdout (transformers: "[INFO] Running in WANDB offline mode" on import);
        # with --format json, stdout holds the JSON alone
        with contextlib.redirect_stdout(sys.stderr if fmt == Format.json else sys.stdout):
            outcome = execute(rid)
    except ConfigError:
        raise
    except Claimed as exc:
        typer.secho(str(exc), err=True, fg="yellow")
        raise typer.Exit(code=EXIT_CLAIMED) from None
    except Exception:
        last = last_error_line(read_status(run_dir(rid))) or "unknown error"
        typer.secho(f"run {rid} failed: {last} (see {run_dir(rid)}/status.json)", err=True, fg="red")
        raise typer.Exit(code=1) from None
    if fmt == Format.json:
        typer.echo(
            json.dumps(
                {
                    "id": rid,
                    "run_dir": str(outcome.run_dir),
                    "status": outcome.state,
                    "metrics": outcome.metrics,
                },
                indent=2,
            )
        )
        return
    typer.echo(f"run {rid}: {outcome.state}  ({outcome.run_dir})")
    for key, value in sorted(outcome.metrics.items()):
        typer.echo(f"  {key:<40} {value:.4g}")
