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
# click's usage error and the base of its errors, found from the BadParameter typer re-exports: recent
# typer releases carry a click of their own (typer._click), older ones use click itself
UsageError = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")
ClickError = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def usage_line(exc: Any) -> str:
    """A usage error as one line, like every other error of the CLI: "error: " what is wrong, and the
    help of the command it was given to.

    Click's own message may span lines (a choice list, typer's "Value error, " prefix): joined."""
    command = exc.ctx.command_path if exc.ctx is not None else "mixft"
    message = " ".join(exc.format_message().replace("Value error, ", "").split()).rstrip(".")
    return f"error: {message}; see {command} --help"


class MixftGroup(TyperGroup):
    """Prints bad input as one line with exit code 2; tracebacks only with --debug."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        """Click's main, with every usage error (unknown option, extra argument, bad value) as one line
        on stderr and exit code 2, where typer would draw a boxed panel."""
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # `mixft`, `mixft config`: their help
                text = exc.ctx.get_help()  # typer's rich help prints itself and returns ""
                if text:
                    typer.echo(text)
            else:
                typer.secho(usage_line(exc), err=True, fg=typer.colors.RED)
            sys.exit(exc.exit_code)
        except ClickError as exc:
            typer.secho(f"error: {' '.join(exc.format_message().split())}", err=True, fg=typer.colors.RED)
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)  # an int: the code a typer.Exit carried

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
