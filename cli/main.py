"""The `mixft` command: plan, run and compare fine-tuning sweeps.

run: mixft --help
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import version as package_version
from typing import Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from mixft.cli import compare, config, data, launch, plan, run, status, store, sweep, sync
from mixft.runner.errors import ConfigError
from mixft.runner.paths import store_root

DEBUG_KEY = "mixft.debug"


class MixftGroup(TyperGroup):
    """Prints bad input as one line with exit code 2; tracebacks only with --debug."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            if ctx.meta.get(DEBUG_KEY):
                raise
            typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
            raise typer.Exit(code=2) from None
        except (typer.Exit, typer.Abort, TyperException, KeyboardInterrupt):
            raise
        except BrokenPipeError:  # `mixft ... | head`: the reader left; stop quietly, like other tools
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(code=141) from None
        except Exception as exc:
            if ctx.meta.get(DEBUG_KEY):
                raise
            typer.secho(
                f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
                err=True,
                fg=typer.colors.RED,
            )
            raise typer.Exit(code=1) from None


app = typer.Typer(
    cls=MixftGroup,
    name="mixft",
    help="Run model x mixture x regulariser fine-tuning sweeps and compare every mixture with "
    "its single-task baselines.",
    epilog="Store: $MIXFT_HOME, default ~/.mixft.  Overrides use Hydra's grammar: key=value.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(config.app, name="config")
app.add_typer(data.app, name="data")
app.add_typer(store.app, name="store")
app.command("plan")(plan.plan)
app.command("run")(run.run)
app.command("sweep")(sweep.sweep)
app.command("eval")(sweep.evaluate)
app.command("status")(status.status)
app.command("sync")(sync.sync_command)
app.command("compare")(compare.compare)
app.command("launch-spec")(launch.launch_spec)


@app.callback()
def main(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks.")] = False,
) -> None:
    """Run model x mixture x regulariser fine-tuning sweeps and compare every mixture with its
    single-task baselines."""
    ctx.meta[DEBUG_KEY] = debug


@app.command()
def version() -> None:
    """Print the installed version and the store location."""
    typer.echo(f"mixft {package_version('mixft')}")
    typer.echo(f"store: {store_root()}")


if __name__ == "__main__":
    app()
