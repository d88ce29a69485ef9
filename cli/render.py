"""Printing plans and configs: rich tables for people, JSON and CSV for scripts.

run: mixft plan smoke --format csv
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import sys
from collections import Counter
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from mixft.runner.grid import Plan
    from mixft.runner.schema import Config

ROW_KEYS = (
    "id",
    "model",
    "tasks",
    "regularizer",
    "seed",
    "role",
    "added",
    "training",
    "eval_tasks",
    "run_dir",
)


def plan_rows(plan: Plan) -> list[dict[str, Any]]:
    """One dict per run: the stable keys of `mixft plan --format json`."""
    from mixft.runner.paths import store_root

    runs = os.path.join(store_root(), "runs")
    return [{**run.row(), "run_dir": os.path.join(runs, run.id)} for run in plan.runs]


def totals(plan: Plan) -> str:
    """One line: runs per role, how many were added, trained runs and models."""
    roles = Counter(run.role for run in plan.runs)
    added = sum(run.added and run.role == "baseline" for run in plan.runs)
    models = len({run.config.model.name for run in plan.runs})
    trained = roles["baseline"] + roles["mixture"]
    return (
        f"{len(plan.runs)} runs: {trained} trained ({roles['mixture']} mixtures, "
        f"{roles['baseline']} single-task baselines, {added} of them added*), "
        f"{roles['base']} base-model evaluations; {models} model{'s' * (models != 1)}"
    )


def plan_table(plan: Plan) -> None:
    """Print the plan as a table with a totals line; `*` marks baselines the sweep added."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"sweep {plan.sweep}", title_justify="left")
    for column in ("id", "model", "tasks", "regularizer", "seed", "role"):
        table.add_column(column, no_wrap=column != "tasks")
    for row in plan_rows(plan):
        if row["role"] == "base":  # no training: regulariser and seed do not apply
            table.add_row(row["id"], row["model"], "-", "-", "-", "base")
            continue
        role = row["role"] + ("*" if row["added"] else "")
        tasks = " + ".join(row["tasks"])
        table.add_row(row["id"], row["model"], tasks, row["regularizer"], str(row["seed"]), role)
    console = Console()
    console.print(table)
    console.print(totals(plan))


def plan_json(plan: Plan) -> None:
    """Print the plan as one JSON array of run objects, one run per line."""
    lines = ",\n".join(json.dumps(row) for row in plan_rows(plan))
    typer.echo(f"[\n{lines}\n]")


def plan_csv(plan: Plan) -> None:
    """Print the plan as CSV; list fields are joined with '+'."""
    writer = csv.DictWriter(sys.stdout, fieldnames=ROW_KEYS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in plan_rows(plan):
        writer.writerow({k: "+".join(v) if isinstance(v, list) else v for k, v in row.items()})


def config_yaml(cfg: Config) -> str:
    """A resolved config as YAML, in schema order."""
    import yaml

    return yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False, allow_unicode=True)
