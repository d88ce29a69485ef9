"""`mixft launch-spec`: write the file a cloud launcher needs to run a sweep on one multi-GPU box, or
on a Ray cluster of N boxes.

run: mixft launch-spec skypilot cocktail_paper --gpus H100:8 --bucket my-mixft-store -o sweep.sky.yaml
     mixft launch-spec skypilot cocktail_paper --nodes 4 --gpus H100:8 --bucket my-mixft-store -o sweep.sky.yaml
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class Target(StrEnum):
    skypilot = "skypilot"


class Store(StrEnum):
    s3 = "s3"
    gcs = "gcs"
    azure = "azure"
    r2 = "r2"
    ibm = "ibm"
    oci = "oci"
    nebius = "nebius"
    coreweave = "coreweave"


class MountMode(StrEnum):
    mount_cached = "MOUNT_CACHED"
    mount = "MOUNT"


def launch_spec(
    target: Annotated[
        Target, typer.Argument(help="The launcher: skypilot (a task YAML for `sky jobs launch`).")
    ],
    sweep: Annotated[str, typer.Argument(help="A packaged sweep name or a YAML path inside the repo.")],
    bucket: Annotated[
        str | None,
        typer.Option(
            help="Bucket that holds the store ($MIXFT_HOME); SkyPilot creates it if new. Required.",
            show_default=False,
        ),
    ] = None,
    overrides: Annotated[list[str] | None, typer.Argument(help="Overrides, as for `mixft sweep`.")] = None,
    store: Annotated[Store, typer.Option(help="Where the bucket lives.")] = Store.s3,
    mount_mode: Annotated[
        MountMode, typer.Option(help="MOUNT_CACHED (local write cache) or MOUNT (no appends).")
    ] = MountMode.mount_cached,
    gpus: Annotated[str, typer.Option(help="Accelerators of the box (of each node), NAME:COUNT.")] = "H100:8",
    nodes: Annotated[
        int, typer.Option(help="Boxes; N > 1: one Ray cluster, the head runs the sweep with --executor ray.")
    ] = 1,
    gpus_per_run: Annotated[int, typer.Option(help="GPUs per run, passed to `mixft sweep`.")] = 1,
    spot: Annotated[bool, typer.Option("--spot/--on-demand", help="Spot box (the job recovers).")] = False,
    disk_size: Annotated[int, typer.Option(help="Boot disk, GB.")] = 512,
    secret: Annotated[
        list[str] | None,
        typer.Option(help="Secret to pass by name (repeatable); HF_TOKEN, WANDB_API_KEY when set."),
    ] = None,
    workdir: Annotated[str, typer.Option(help="The repo to upload and install, as seen at launch.")] = ".",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here, not stdout.")] = None,
) -> None:
    """Write a launch spec that installs mixft on one cloud box (or N, as a Ray cluster) and runs a sweep there, resumably."""
    from mixft.runner.errors import ConfigError
    from mixft.runner.execute.launch_spec import SkyPilotOptions, skypilot_spec
    from mixft.runner.store.atomic import write_text

    if bucket is None:
        raise ConfigError(
            "--bucket is required: the bucket that holds the store on the box, e.g. --bucket my-mixft-store"
        )
    opts = SkyPilotOptions(
        bucket,
        gpus,
        store.value,
        mount_mode.value,
        spot,
        disk_size,
        gpus_per_run,
        secret or [],
        workdir,
        nodes,
    )
    text = skypilot_spec(sweep, overrides or [], opts, target=output.name if output else "TASK.yaml")
    if output is None:
        typer.echo(text, nl=False)
        return
    write_text(output, text)
    command, _, where = text.splitlines()[0].removeprefix("# run: ").partition("    (")
    typer.echo(f"wrote {output}; launch it{' from the repo root' if where else ''} with: {command}", err=True)
