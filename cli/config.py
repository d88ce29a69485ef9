"""`mixft config`: list the config groups and their options, show a composed config.

run: mixft config ls training    |    mixft config show model=phi3_mini training=lora
"""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="List config options and show composed configs.", no_args_is_help=True)

Overrides = Annotated[list[str] | None, typer.Argument(help="Hydra overrides, e.g. model=tiny seed=1.")]


@app.command("ls")
def ls(group: Annotated[str | None, typer.Argument(help="One group, e.g. model or task.")] = None) -> None:
    """List each config group's options (and the packaged sweeps), or one group's options."""
    from mixft.runner.config.catalog import group_options
    from mixft.runner.config.schema import GROUPS
    from mixft.runner.errors import unknown
    from mixft.runner.plan.sweepfile import packaged_sweeps

    listing = {g: list(group_options(g)) for g in GROUPS} | {"sweep": packaged_sweeps()}
    if group is None:
        for name, options in listing.items():
            typer.echo(f"{name:<12} {', '.join(options)}")
        return
    if group not in listing:
        raise unknown("config group", group, listing)
    for option in listing[group]:
        typer.echo(option)


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
