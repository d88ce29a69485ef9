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

from mixft.cli import compare, config, data, init, launch, plan, run, search, status, store, sweep, sync
from mixft.runner.config.search_path import CONF_GROUPS, pin_search_path, shadowed, shown, use_project
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
app.command("init")(init.init)
app.command("plan")(plan.plan)
app.command("run")(run.run)
app.command("sweep")(sweep.sweep)
app.command("eval")(sweep.evaluate)
app.command("search")(search.search)
app.command("status")(status.status)
app.command("sync")(sync.sync_command)
app.command("compare")(compare.compare)
app.command("launch-spec")(launch.launch_spec)


@app.callback()
def main(
    ctx: typer.Context,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks.")] = False,
    config_dir: Annotated[
        list[str] | None,
        typer.Option(
            "--config-dir",
            help="A project folder (its conf/<group>/*.yaml and sweeps/*.yaml) read before the "
            "packaged configs; repeat for several. The directory mixft runs in counts when it has "
            "conf/ or sweeps/; MIXFT_CONFIG_PATH=dir1:dir2 adds more.",
        ),
    ] = None,
) -> None:
    """Run model x mixture x regulariser fine-tuning sweeps and compare every mixture with its
    single-task baselines."""
    ctx.meta[DEBUG_KEY] = debug
    try:
        for folder in reversed(config_dir or []):  # the first one given ends up first
            use_project(folder)
        pin_search_path()
        for group, option, path in shadowed(CONF_GROUPS):
            typer.secho(
                f"notice: {shown(path)} shadows the packaged {group} '{option}'", err=True, fg="yellow"
            )
    except ConfigError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(code=2) from None


@app.command()
def version() -> None:
    """Print the installed version and the store location."""
    typer.echo(f"mixft {package_version('mixft')}")
    typer.echo(f"store: {store_root()}")


if __name__ == "__main__":
    app()
