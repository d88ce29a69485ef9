"""`mixft init [DIR]`: a new project folder with one example task, one sweep and a README.

run: mixft init demo && cd demo && mixft sweep demo && mixft compare demo
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def init(
    folder: Annotated[Path, typer.Argument(help="The project folder to create (or an empty one).")] = Path(
        "."
    ),
) -> None:
    """Start a project: an example task on local files, a sweep of it, and a README of the next commands."""
    from mixft.runner.config.project import SWEEP, init_project
    from mixft.runner.errors import ConfigError

    try:
        written = init_project(folder)
    except OSError as exc:  # a folder that cannot be made or written (/proc/x, read-only, a file)
        raise ConfigError(
            f"cannot write a project into {folder}: {exc.strerror or exc}"
            f"{f' ({exc.filename})' if exc.filename and str(exc.filename) != str(folder) else ''}; "
            "choose a folder you can write"
        ) from None
    for path in written:
        typer.echo(f"wrote {path}")
    where = "" if folder.resolve() == Path.cwd().resolve() else f"cd {folder} && "
    typer.echo(f"next: {where}mixft sweep {SWEEP} && mixft compare {SWEEP}    (README.md says more)")
