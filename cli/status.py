"""`mixft status`: where every run of a sweep stands.

run: mixft status smoke    |    mixft status smoke --watch    |    mixft status smoke --format json
     mixft status smoke eval.max_examples=16    (the runs `mixft sweep smoke eval.max_examples=16` ran)
"""

from __future__ import annotations

import json
import time
from typing import Annotated

import typer

from mixft.cli.formats import Format, TableOrJson


def status(
    name: Annotated[str, typer.Argument(help="A sweep that has run in this store.")],
    overrides: Annotated[
        list[str] | None,
        typer.Argument(help="Overrides, as for `mixft sweep`: the runs they plan (eval.max_examples=16)."),
    ] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Refresh every 2 s until Ctrl-C.")] = False,
    fmt: Annotated[TableOrJson, typer.Option("--format", "-f", help="table or json.")] = Format.table,
) -> None:
    """Counts per state, running runs with progress and ETA, failed runs with their error."""
    from mixft.cli import render
    from mixft.runner.execute.status import sweep_status

    if fmt == Format.json:
        typer.echo(json.dumps(sweep_status(name, overrides), indent=2))
        return
    if not watch:
        render.status_view(name, sweep_status(name, overrides))
        typer.echo(_store_space())
        return
    from rich.live import Live

    with Live(render.status_renderable(name, sweep_status(name, overrides)), refresh_per_second=1) as live:
        try:
            while True:
                time.sleep(2)
                live.update(render.status_renderable(name, sweep_status(name, overrides)))
        except KeyboardInterrupt:
            pass


def _store_space() -> str:
    """ "store /path: 12.3 GB free" (a run that stopped on a full disk resumes once there is room)."""
    from mixft.runner.execute.states import free_bytes
    from mixft.runner.paths import store_root
    from mixft.runner.plan.disk import size_text

    free = free_bytes(store_root())
    return f"store {store_root()}: {'free space unknown' if free is None else size_text(free) + ' free'}"
