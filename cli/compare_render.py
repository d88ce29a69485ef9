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


MARKS = {1: " ▲", -1: " ▼", 0: "", None: ""}
# what each interval holds (intervals.py's methods), in a table's narrow column
CI_FROM = {"seeds": "seeds + rows", "pooled": "rows + pooled seeds", "rows": "rows only", None: "-"}


def _delta(row: dict[str, Any], key: str = "delta") -> str:
    text = f"{row[key]:+.3f}"
    if row["ci_low"] is None:
        return text + " (no CI)"
    return f"{text} [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]{MARKS[row['significant']]}"


def _improvement(row: dict[str, Any]) -> str:
    return f"{row['prob_improvement']:.2f} [{row['pi_low']:.2f}, {row['pi_high']:.2f}]"


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
        ("CI from", lambda r: CI_FROM[r["ci_method"]]),
    ],
    "summary": [
        ("model", lambda r: r["model"]),
        ("mixture", _mixture),
        ("tasks", lambda r: str(r["n_tasks"])),
        ("mean delta [CI]", lambda r: _delta(r, "mean_delta")),
        ("P(better) [CI]", _improvement),
        ("seeds", lambda r: str(r["n_seeds"])),
        ("CI from", lambda r: "tasks + seeds + rows" if r["ci_method"] == "seeds" else "tasks + rows only"),
    ],
    "all": [
        *COMMON,
        ("trained on", _mixture),
        ("vs", lambda r: r["reference"]),
        ("reference", lambda r: _num(r["baseline"], r["baseline_std"])),
        ("score", lambda r: _num(r["score"], r["score_std"])),
        ("delta [CI]", _delta),
        ("seeds", lambda r: str(r["n_seeds"])),
        ("CI from", lambda r: CI_FROM[r["ci_method"]]),
    ],
    "regularizer": [
        *COMMON,
        ("trained on", _mixture),
        ("without", lambda r: _num(r["baseline"], r["baseline_std"])),
        ("with", lambda r: _num(r["score"], r["score_std"])),
        ("delta [CI]", _delta),
        ("seeds", lambda r: str(r["n_seeds"])),
        ("CI from", lambda r: CI_FROM[r["ci_method"]]),
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
        ("CI from", lambda r: CI_FROM[r["ci_method"]]),
        ("docs", lambda r: "-" if r["n_examples"] is None else str(r["n_examples"])),
    ],
}


def _groups(result: Result) -> list[tuple[str, list[dict[str, Any]]]]:
    """(title suffix, rows) per table of the view."""
    if result.view in ("all", "summary"):
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


def sections(result: Result) -> list[tuple[str, list[str], list[list[str]]]]:
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
    return f"{row['delta']:+.3f}{MARKS[row['significant']].strip()}"


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
    lines.extend(how_to_read(result))
    return lines


def how_to_read(result: Result) -> list[str]:
    """What the intervals hold and what ▲/▼ claim, for the view's footer or a table's caption."""
    o = result.options
    level, unit = f"{o.confidence:.0%}", "suite documents" if result.view == "forgetting" else "eval rows"
    if result.view == "summary":
        return [
            f"mean delta and P(better) over the arm's target tasks; {level} stratified bootstrap over tasks, "
            f"seeds and {unit} (rliable's); ▲/▼: the interval excludes 0 and every task has 2+ seeds a side."
        ]
    corrected = {"holm": "Holm", "fdr": "Benjamini-Hochberg", "none": "no"}[o.correction]
    lines = [
        f"delta [CI]: {level} interval over seeds and {unit}; with one seed over {unit} only, and no ▲/▼ "
        "unless arms at several seeds give a pooled seed variance (a sweep's calibration_seeds).",
        f"▲/▼: better/worse at {1 - o.confidence:.0%} after {corrected} correction across the mixtures "
        "of a task (--correction).",
    ]
    if result.view == "tasks":
        chance = (
            f"; uncorrected, chance alone gives about N x {(1 - o.confidence) / 2:.1%} mixtures a ▲"
            if o.correction == "none"
            else ""
        )
        lines.append(
            f"best of N is picked on the rows it is scored on, so its delta is biased upwards{chance}."
        )
    return lines


def table(result: Result) -> None:
    """Print the view as rich tables, then the footer."""
    from rich.table import Table
    from rich.text import Text

    from mixft.cli.render import wide_console

    console = wide_console()
    found = sections(result)
    if not found:
        console.print(empty(result), highlight=False, markup=False)
    for title, headers, cells in found:
        grid = Table(title=title, title_justify="left")
        for header in headers:
            grid.add_column(header, overflow="fold", no_wrap=header not in WRAPPED)
        for row in cells:
            grid.add_row(*(Text(cell) for cell in row))  # "[general]" is text, not rich markup
        console.print(grid)
    for line in footer(result):
        console.print(line, highlight=False, markup=False, soft_wrap=True)


def markdown(result: Result) -> None:
    """Print the view as markdown tables (the tasks view adds its models x tasks table), then the
    footer as a list."""
    from mixft.cli.compare_paper import markdown_grid

    found = sections(result)
    if not found:
        typer.echo(empty(result) + "\n")
    for title, headers, cells in found:
        typer.echo(f"### {title}\n")
        typer.echo("| " + " | ".join(headers) + " |")
        typer.echo("|" + "---|" * len(headers))
        for row in cells:
            typer.echo("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
        typer.echo("")
    markdown_grid(result)
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


def latex(result: Result) -> None:
    """Print booktabs tables (compare_paper.py)."""
    from mixft.cli import compare_paper

    compare_paper.latex(result)


def as_csv(result: Result) -> None:
    """Print the rows as CSV (lists joined with '+'); what is missing goes to stderr."""
    keys = list(dict.fromkeys(k for row in result.rows for k in row))
    writer = csv.DictWriter(sys.stdout, fieldnames=keys, lineterminator="\n")
    writer.writeheader()
    for row in result.rows:
        writer.writerow({k: "+".join(v) if isinstance(v, list) else v for k, v in row.items()})
    for line in result.missing:
        typer.echo(f"not compared: {line}", err=True)
