"""Printing `mixft compare`: rich tables for people, markdown for notes, CSV and JSON for scripts.

run: mixft compare smoke --format md
"""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from mixft.runner.compare.core import Result

WRAPPED = ("trained on", "best of N")  # long task lists wrap; numbers never do
MISSING_SHOWN = 20  # lines of "not compared" in a table; --format json lists them all
Column = tuple[str, Callable[[dict[str, Any]], str]]


def _num(value: float | None, std: float | None = None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" + (f" ±{std:.3f}" if std is not None else "")


def _delta(row: dict[str, Any]) -> str:
    text = f"{row['delta']:+.3f}"
    if row["ci_low"] is None:
        return text + " (no CI)"
    mark = {1: " ▲", -1: " ▼", 0: ""}[row["significant"]]
    return f"{text} [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]{mark}"


def _mixture(row: dict[str, Any]) -> str:
    text = " + ".join(row["mixture"])
    return text + (f" [{row['regularizer']}]" if row["regularizer"] != "none" else "")


COMMON: list[Column] = [
    ("model", lambda r: r["model"]),
    ("task", lambda r: r["task"]),
    ("metric", lambda r: r["metric"]),
]
COLUMNS: dict[str, list[Column]] = {
    "tasks": [
        *COMMON,
        ("base model", lambda r: _num(r.get("base"))),
        ("reference", lambda r: _num(r["baseline"], r["baseline_std"])),
        ("best of N", _mixture),
        ("score", lambda r: _num(r["score"], r["score_std"])),
        ("delta [CI]", _delta),
        ("better / worse of N", lambda r: f"{r['n_better']} / {r['n_worse']} of {r['n_mixtures']}"),
        ("seeds", lambda r: str(r["n_seeds"])),
    ],
    "all": [
        *COMMON,
        ("trained on", _mixture),
        ("vs", lambda r: r["reference"]),
        ("reference", lambda r: _num(r["baseline"], r["baseline_std"])),
        ("score", lambda r: _num(r["score"], r["score_std"])),
        ("delta [CI]", _delta),
        ("seeds", lambda r: str(r["n_seeds"])),
    ],
    "regularizer": [
        *COMMON,
        ("trained on", _mixture),
        ("without", lambda r: _num(r["baseline"], r["baseline_std"])),
        ("with", lambda r: _num(r["score"], r["score_std"])),
        ("delta [CI]", _delta),
        ("seeds", lambda r: str(r["n_seeds"])),
    ],
    "forgetting": [
        ("model", lambda r: r["model"]),
        ("suite task", lambda r: f"{r['suite']}/{r['task']}"),
        ("metric", lambda r: r["metric"] + (" (lower is better)" if r["higher_is_better"] is False else "")),
        ("trained on", _mixture),
        ("vs", lambda r: r["reference"]),
        ("reference", lambda r: _num(r["baseline"], r["baseline_std"])),
        ("score", lambda r: _num(r["score"], r["score_std"])),
        ("delta [CI]", _delta),
        ("seeds", lambda r: str(r["n_seeds"])),
        ("docs", lambda r: "-" if r["n_examples"] is None else str(r["n_examples"])),
    ],
}


def _groups(result: Result) -> list[tuple[str, list[dict[str, Any]]]]:
    """(title suffix, rows) per table of the view."""
    if result.view == "all":
        return [("", result.rows)]
    if result.view == "forgetting":
        return [
            (" (against the base model)", [r for r in result.rows if r["reference"] == "base"]),
            (
                " (regularised, against the same run without it)",
                [r for r in result.rows if r["reference"] != "base"],
            ),
        ]
    return [
        ("", [r for r in result.rows if not r["held_out"]]),
        (
            " (held-out tasks" + (", against the base model)" if result.view == "tasks" else ")"),
            [r for r in result.rows if r["held_out"]],
        ),
    ]


def _sections(result: Result) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, headers, cells) per table of the view."""
    if result.view == "pairs":
        return _pair_sections(result)
    columns = COLUMNS[result.view]
    headers = [name for name, _ in columns]
    groups = _groups(result)
    out = []
    for suffix, rows in groups:
        if rows:
            out.append(
                (
                    f"{result.sweep}: {result.view}{suffix}",
                    headers,
                    [[fmt(r) for _, fmt in columns] for r in rows],
                )
            )
    return out


def _pair_sections(result: Result) -> list[tuple[str, list[str], list[list[str]]]]:
    from mixft.runner.compare.views import pair_matrix

    out = []
    for (model, recipe), matrix in sorted(pair_matrix(result.rows).items()):
        others = sorted({b for row in matrix.values() for b in row})
        cells = []
        for task in sorted(matrix):
            cells.append([task] + [_pair_cell(matrix[task].get(b)) for b in others])
        title = f"{result.sweep}: delta on the row task of training on row + column ({model}, {recipe})"
        out.append((title, ["scored on \\ added", *others], cells))
    return out


def _pair_cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return "-"
    mark = {1: "▲", -1: "▼", 0: "", None: ""}[row["significant"]]
    return f"{row['delta']:+.3f}{mark}"


def empty(result: Result) -> str:
    """What to say when a view has no rows."""
    if result.view == "pairs" and result.report.comparisons:
        return f"{result.sweep}: no two-task mixtures (without a regulariser) to set in a task x task matrix"
    if result.view == "regularizer" and not any(run.additions for run in result.report.runs):
        return f"{result.sweep}: no run adds regulariser data (regularizer=general, ...) to a mixture"
    if result.view == "forgetting" and not any(run.suite_metrics for run in result.report.runs):
        return f"{result.sweep}: no suite results to compare (score lm-eval suites with eval.suites=[...])"
    return f"{result.sweep}: nothing compared yet"


def footer(result: Result) -> list[str]:
    """Lines under a table: what is not done or not compared, and how to read a best-of-N pick."""
    lines = []
    counts = Counter(run.state for run in result.report.runs)
    if counts["done"] < len(result.report.runs):
        states = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        lines.append(
            f"{len(result.report.runs)} runs in the sweep: {states} (see `mixft status {result.sweep}`)"
        )
    for line in result.missing[:MISSING_SHOWN]:
        lines.append(f"not compared: {line}")
    if len(result.missing) > MISSING_SHOWN:
        lines.append(f"... and {len(result.missing) - MISSING_SHOWN} more (--format json lists them all)")
    level = f"{result.options.confidence:.0%}"
    unit = "suite documents" if result.view == "forgetting" else "eval examples"
    lines.append(f"delta [CI]: {level} paired bootstrap over {unit}; ▲/▼: the interval excludes 0.")
    if result.view == "tasks":
        lines.append(
            "best of N is picked on the rows it is scored on, so its delta is biased upwards; "
            f"by chance alone about N x {(1 - result.options.confidence) / 2:.1%} mixtures would show ▲."
        )
    return lines


def table(result: Result) -> None:
    """Print the view as rich tables, then the footer."""
    from rich.table import Table
    from rich.text import Text

    from mixft.cli.render import wide_console

    console = wide_console()
    sections = _sections(result)
    if not sections:
        console.print(empty(result), highlight=False, markup=False)
    for title, headers, cells in sections:
        grid = Table(title=title, title_justify="left")
        for header in headers:
            grid.add_column(header, overflow="fold", no_wrap=header not in WRAPPED)
        for row in cells:
            grid.add_row(*(Text(cell) for cell in row))  # "[general]" is text, not rich markup
        console.print(grid)
    for line in footer(result):
        console.print(line, highlight=False, markup=False, soft_wrap=True)


def markdown(result: Result) -> None:
    """Print the view as markdown tables, then the footer as a list."""
    sections = _sections(result)
    if not sections:
        typer.echo(empty(result) + "\n")
    for title, headers, cells in sections:
        typer.echo(f"### {title}\n")
        typer.echo("| " + " | ".join(headers) + " |")
        typer.echo("|" + "---|" * len(headers))
        for row in cells:
            typer.echo("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
        typer.echo("")
    for line in footer(result):
        typer.echo(f"- {line}")


def as_json(result: Result) -> None:
    """Print {sweep, view, metric, confidence, rows, missing, not_done} as JSON (forgetting: metric is
    "primary", each row names its own)."""
    payload = {
        "sweep": result.sweep,
        "view": result.view,
        "metric": "primary" if result.view == "forgetting" else result.options.metric,
        "confidence": result.options.confidence,
        "rows": result.rows,
        "missing": result.missing,
        "not_done": [{"id": r.id, "state": r.state, "error": r.error} for r in result.report.not_done],
    }
    typer.echo(json.dumps(payload, indent=2))


def as_csv(result: Result) -> None:
    """Print the rows as CSV (lists joined with '+'); what is missing goes to stderr."""
    keys = list(dict.fromkeys(k for row in result.rows for k in row))
    writer = csv.DictWriter(sys.stdout, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    for row in result.rows:
        writer.writerow({k: "+".join(v) if isinstance(v, list) else v for k, v in row.items()})
    for line in result.missing:
        typer.echo(f"not compared: {line}", err=True)
