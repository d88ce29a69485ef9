"""Printing plans and configs: rich tables for people, JSON and CSV for scripts.

run: mixft plan smoke --format csv
"""

from __future__ import annotations

import csv
import dataclasses
import json
import sys
from collections import Counter
from typing import TYPE_CHECKING, Any

import typer

from mixft.cli import costs

if TYPE_CHECKING:
    from mixft.runner.config.schema import Config
    from mixft.runner.plan.cost import PlanCost
    from mixft.runner.plan.grid import Plan

ROW_KEYS = (
    "id",
    "training",
    "model",
    "tasks",
    "regularizer",
    "seed",
    "role",
    "added",
    "calibration",
    "recipe",
    "eval_tasks",
    "run_dir",
    "work",
    "why",
)
# `mixft plan` adds these after ROW_KEYS (runner/plan/cost.py says how each is estimated)
COST_KEYS = (
    "tokens",
    "tokens_source",
    "epochs",
    "train_flops",
    "eval_flops",
    "gpu_hours",
    "disk_gb",
    "memory_gb",
    "gpu",
    "mfu",
)


def plan_rows(plan: Plan, cost: PlanCost | None = None) -> list[dict[str, Any]]:
    """One dict per run: the stable keys of `mixft plan --format json`, then COST_KEYS when given."""
    from mixft.runner.paths import run_dir
    from mixft.runner.plan.work import work_of

    work = work_of(plan.runs)
    rows = [
        {**run.row(), "run_dir": str(run_dir(run.id)), "work": work[run.id].what, "why": work[run.id].why}
        for run in plan.runs
    ]
    if cost is not None:
        assumed = {"gpu": cost.hardware.gpu, "mfu": cost.hardware.mfu}
        rows = [{**row, **cost.runs[row["id"]].row(), **assumed} for row in rows]
    return rows


def work_totals(rows: list[dict[str, Any]]) -> str:
    """One line: what a sweep would do now: trainings to run, runs to evaluate, runs done; and why."""
    trainings = {row["training"] for row in rows if row["work"] == "train"}
    evals = sum(row["work"] != "done" for row in rows)
    done = len(rows) - evals
    reasons = sorted({row["why"] for row in rows if row["why"]})
    line = f"to do: {len(trainings)} trainings, {evals} evaluations; {done} runs done"
    return line + "".join(f"; {reason}" for reason in reasons[:3])


def totals(plan: Plan) -> str:
    """One line: runs per role, how many were added, trained runs and models."""
    roles = Counter(run.role for run in plan.runs)
    added = sum(run.added and run.role == "baseline" for run in plan.runs)
    models = len({run.config.model.name for run in plan.runs})
    trained = roles["baseline"] + roles["mixture"]
    return (
        f"{len(plan.runs)} runs: {trained} trained ({roles['mixture']} mixtures, "
        f"{roles['baseline']} single-task baselines, {added} of them added*), "
        f"{roles['base']} base-model evaluation{'s' * (roles['base'] != 1)}; {models} model{'s' * (models != 1)}"
    )


# Terminal columns below which the per-run cost columns would squeeze the task lists unreadable.
WIDE = 120


def plan_table(plan: Plan, cost: PlanCost | None = None) -> None:
    """Print the plan as a table with a totals line; `*` marks baselines the sweep added.

    With `cost`, a second line gives the sweep's tokens, FLOPs and GPU-hours, and on a terminal at
    least WIDE columns wide each run also shows its training tokens (`~`: estimated) and GPU-hours.
    """
    from rich.table import Table

    console = wide_console()
    per_run = cost is not None and console.width >= WIDE
    table = Table(title=f"sweep {plan.sweep}", title_justify="left")
    columns = ["id", "model", "tasks", "regularizer", "seed", "role", "work"]
    for column in columns + (["tokens", "GPU-h", "mem GB"] if per_run else []):
        table.add_column(column, no_wrap=column != "tasks", justify="left" if column in columns else "right")
    rows = plan_rows(plan)
    for row in rows:
        if row["role"] == "base":  # no training: regulariser and seed do not apply
            cells = [row["id"], row["model"], "-", "-", "-", "base"]
        else:
            role = (
                row["role"] + ("*" if row["added"] else "") + (" (calibration)" if row["calibration"] else "")
            )
            tasks = " + ".join(row["tasks"])
            cells = [row["id"], row["model"], tasks, row["regularizer"], str(row["seed"]), role]
        cells.append(row["work"])
        if per_run and cost is not None:
            run = cost.runs[row["id"]]
            estimated = "~" * (run.tokens_source != "cache")
            cells += [
                "-" if row["role"] == "base" else estimated + costs.count(run.tokens),
                costs.hours(run.gpu_hours),
            ]
            cells.append(f"{run.memory_bytes / 1e9:.3g}")
        table.add_row(*cells)
    console.print(table)
    console.print(totals(plan))
    console.print(work_totals(rows))
    if cost is not None:
        console.print(costs.cost_totals(cost))
        console.print(costs.packing_line(plan, cost))
    line = calibration_line(plan, cost)
    if line:
        console.print(line)


def calibration_line(plan: Plan, cost: PlanCost | None) -> str | None:
    """What the sweep's calibration_seeds cost: runs, and GPU-hours against the whole sweep's."""
    extra = [run for run in plan.runs if run.calibration]
    if not extra:
        return None
    line = f"calibration: {len(extra)} baselines at further seeds (compare's seed variance for one-seed arms)"
    if cost is None:
        return line
    mine = sum(cost.runs[run.id].gpu_hours for run in extra)
    total = sum(c.gpu_hours for c in cost.runs.values())
    share = f" ({mine / total:.0%} of the sweep)" if total else ""
    return f"{line}: {costs.hours(mine)} GPU-h{share}"


def plan_json(plan: Plan, cost: PlanCost | None = None) -> None:
    """Print the plan as one JSON array of run objects, one run per line."""
    lines = ",\n".join(json.dumps(row) for row in plan_rows(plan, cost))
    typer.echo(f"[\n{lines}\n]")


def plan_csv(plan: Plan, cost: PlanCost | None = None) -> None:
    """Print the plan as CSV; list fields are joined with '+'."""
    keys = ROW_KEYS + (COST_KEYS if cost else ())
    writer = csv.DictWriter(sys.stdout, fieldnames=keys, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in plan_rows(plan, cost):
        writer.writerow({k: "+".join(v) if isinstance(v, list) else v for k, v in row.items()})


def config_yaml(cfg: Config) -> str:
    """A resolved config as YAML, in schema order."""
    import yaml

    return yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False, allow_unicode=True)


def task_table(tasks: dict[str, Any]) -> None:
    """Print the task catalogue."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="tasks", title_justify="left")
    for column in ("task", "kind", "metric", "source", "splits", "training rows"):
        table.add_column(column, overflow="fold", no_wrap=column == "task")
    for name, task in tasks.items():
        src = task.source
        source = src.path or (src.hf_id + (f" ({src.hf_config})" if src.hf_config else ""))
        if task.pool_ratio is not None:
            size = f"{task.pool_ratio:g} x pool"
        elif not task.trainable:
            size = "held out"
        else:
            size = f"<= {task.max_examples:,}" if task.max_examples else "all"
        splits = f"{src.train_split or '-'} / {src.eval_split or '-'}"
        table.add_row(name, task.kind, task.metric, source, splits, size)
    Console().print(table)


def examples(shown: list[dict[str, Any]]) -> None:
    """Print rendered examples, each under a rule naming its row and token count."""
    for item in shown:
        typer.secho(f"--- {item['origin']} row {item['row']} ({item['tokens']} tokens)", fg=typer.colors.CYAN)
        typer.echo(item["text"])


def stats_table(runs: list[dict[str, Any]]) -> None:
    """Print each mix: rows and tokens per source, requested and realised, and shares."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for run in runs:
        manifest = run["manifest"]
        title = (
            f"{run['id']}  {run['model']}  {' + '.join(run['tasks']) or '-'}  regulariser {run['regularizer']}"
            f"  seed {manifest['seed']}: {manifest['total_rows']:,} rows, {manifest['total_tokens']:,} tokens"
        )
        table = Table(title=title, title_justify="left")
        for column in ("source", "role", "available", "requested", "realised", "tokens", "share"):
            table.add_column(column, justify="left" if column in ("source", "role") else "right")
        for name, src in manifest["sources"].items():
            share = f"{src['share_realised']:.1%}"
            if src["share_requested"] is not None:
                share += f" (asked {src['share_requested']:.1%})"
            table.add_row(
                name,
                src["role"],
                f"{src['available_rows']:,}",
                f"{src['requested_rows']:,}",
                f"{src['realised_rows']:,}",
                f"{src['tokens']:,}",
                share,
            )
        console.print(table)


def stats_json(runs: list[dict[str, Any]]) -> None:
    """Print every mix's manifest as one JSON array."""
    typer.echo(json.dumps(runs, indent=2))


def status_renderable(name: str, rows: list[dict[str, Any]]) -> Any:
    """A rich Group: counts per state, then the runs that are running or failed."""
    from rich.console import Group
    from rich.table import Table

    counts = Counter(row["state"] for row in rows)
    header = f"sweep {name}: {len(rows)} runs  " + "  ".join(f"{s} {n}" for s, n in sorted(counts.items()))
    trainings = {row["training"]: row["training_state"] for row in rows if row["training_state"] != "base"}
    states = Counter(trainings.values())
    header += f"\n{len(trainings)} trainings  " + "  ".join(f"{s} {n}" for s, n in sorted(states.items()))
    table = Table(title=header, title_justify="left")
    for column in ("id", "state", "model", "tasks", "attempts", "progress", "eta", "detail"):
        table.add_column(column, overflow="fold")
    for row in rows:
        live = row.get("live")
        if row["state"] not in ("running", "failed", "interrupted") and not live:
            continue
        progress = f"{row['progress']:.0%}" if row["progress"] is not None else "-"
        eta = f"{row['eta_s'] / 60:.1f} min" if row["eta_s"] is not None else "-"
        detail = (
            row["error"] or row["holder"] or (f"{live['executor']} {live['state'].lower()}" if live else "")
        )
        table.add_row(
            row["id"],
            row["state"],
            row["model"] or "-",
            " + ".join(row["tasks"]) or "-",
            str(row["attempts"]),
            progress,
            eta,
            detail,
        )
    return Group(table) if table.row_count else Group(header)


def status_view(name: str, rows: list[dict[str, Any]]) -> None:
    """Print the status once."""
    wide_console().print(status_renderable(name, rows))


def wide_console() -> Any:
    """A rich console; in a pipe or a CI log 200 columns wide, so tables are not squeezed into 80."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=200)
