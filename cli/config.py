"""`mixft config`: list the config groups and their options (and where each comes from), show a
composed config, copy a packaged option into a project folder to edit it.

run: mixft config ls training    |    mixft config show model=phi3_mini training=lora    |    mixft config cp task/fpb
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="List config options and show composed configs.", no_args_is_help=True)

Overrides = Annotated[list[str] | None, typer.Argument(help="Hydra overrides, e.g. model=tiny seed=1.")]


@app.command("ls")
def ls(group: Annotated[str | None, typer.Argument(help="One group, e.g. model or task.")] = None) -> None:
    """List each config group's options (and the sweeps), or one group's options; inside a project
    folder, where each option comes from."""
    from mixft.runner.config.search_path import CONF_GROUPS, origins, projects, shown, sweep_origins
    from mixft.runner.errors import unknown

    listing = {g: origins(g) for g in CONF_GROUPS} | {"sweep": sweep_origins()}
    folders = {s.root: i for i, s in enumerate(projects(), start=1)}

    def mark(paths: list[Path]) -> str:
        project = next((root for root in folders if paths[0].is_relative_to(root)), None)
        if project is None:
            return ""
        return f" [{folders[project]}{', shadows packaged' if len(paths) > 1 else ''}]"

    if group is None:
        for name, options in listing.items():
            typer.echo(f"{name:<12} {', '.join(o + mark(p) for o, p in options.items())}")
        for root, number in folders.items():
            typer.echo(f"[{number}] project folder {root}")
        return
    if group not in listing:
        raise unknown("config group", group, listing)
    width = max(map(len, listing[group]), default=0)
    for option, paths in listing[group].items():
        where = (
            f"{shown(paths[0])}{' (shadows packaged)' if len(paths) > 1 else ''}"
            if mark(paths)
            else "packaged"
        )
        typer.echo(f"{option:<{width}}  {where}" if folders else option)


@app.command("cp")
def cp(
    option: Annotated[str, typer.Argument(help="GROUP/NAME of a packaged option (task/fpb), or sweep/NAME.")],
    dest: Annotated[
        Path | None,
        typer.Argument(help="File or folder to write; default: this project's conf/GROUP/NAME.yaml."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Copy a packaged option (or sweep) into a project folder to edit it: the copy shadows the packaged
    one from then on."""
    from mixft.runner.config.search_path import copy_option

    written = copy_option(option, dest, force=force)
    typer.echo(f"wrote {written}; edit it there (mixft config ls shows it shadowing the packaged one)")


@app.command("show")
def show(overrides: Overrides = None) -> None:
    """Print the resolved config of one run, with its id and role."""
    from mixft.cli.render import config_yaml
    from mixft.runner.config.load import load_config
    from mixft.runner.config.run import resolve, role_of
    from mixft.runner.plan.ids import ids_of

    cfg = resolve(load_config(overrides or []))
    typer.echo(f"# run {ids_of(cfg).run} ({role_of(cfg)})")
    typer.echo(config_yaml(cfg), nl=False)
