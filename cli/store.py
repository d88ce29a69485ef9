"""`mixft store`: look after the store itself.

run: mixft store migrate --dry-run    then    mixft store migrate
"""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="Look after the store ($MIXFT_HOME).", no_args_is_help=True)


@app.command("migrate")
def migrate(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the moves, change nothing.")] = False,
) -> None:
    """Move run folders of mixft 0.1 to trainings and their evaluations; nothing is trained again."""
    from mixft.runner.plan.ids import identify
    from mixft.runner.store import migrate as store_migrate

    if dry_run:
        moves = store_migrate.plan_migration(identify)
        for move in moves:
            typer.echo(move.line())
    else:
        moves = store_migrate.migrate(identify, typer.echo)
    left = sum(bool(m.error) for m in moves)
    verb = "would move" if dry_run else "moved"
    typer.echo(f"{verb} {len(moves) - left} run folder(s); {left} left as they are")
    if left:
        raise typer.Exit(code=1)
