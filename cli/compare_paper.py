"""Paper tables of `mixft compare`: models x tasks with each task's best mixture, as booktabs LaTeX
(`--format latex`) and as markdown (under `--format md`'s tables).

run: mixft compare cocktail_paper --format latex > table.tex    (\\usepackage{booktabs,amssymb})
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from mixft.cli.compare_render import MARKS, how_to_read, sections

if TYPE_CHECKING:
    from mixft.runner.compare.core import Result

Grid = tuple[str, list[str], list[list[str]]]  # (title, headers, cells)
LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "#": r"\#", "_": r"\_", "$": r"\$"}
LATEX_SYMBOLS = {"▲": r"$^{\blacktriangle}$", "▼": r"$^{\blacktriangledown}$", "±": r"$\pm$", "≥": r"$\geq$"}


def _cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return "-"
    interval = "" if row["ci_low"] is None else f" [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]"
    wins = f"{row['n_better']}/{row['n_mixtures']}"
    return f"{row['delta']:+.3f}{interval}{MARKS[row['significant']]} ({wins} better)"


def task_grid(result: Result) -> Grid | None:
    """models x tasks of the tasks view (targets only): the best mixture's delta, its interval and mark,
    and how many of the task's N mixtures are better after the correction; None for other views."""
    if result.view != "tasks":
        return None
    rows = [r for r in result.rows if not r["held_out"]]
    if not rows:
        return None
    tasks = sorted({r["task"] for r in rows})
    arms = sorted({(r["model"], r["recipe"]) for r in rows})
    by_cell = {(r["model"], r["recipe"], r["task"]): r for r in rows}
    cells = [[f"{m} ({recipe})", *(_cell(by_cell.get((m, recipe, t))) for t in tasks)] for m, recipe in arms]
    return (
        f"{result.sweep}: best mixture per task, delta against the single-task baseline",
        ["model", *tasks],
        cells,
    )


def caption(result: Result, title: str) -> str:
    """A table's caption: what it shows, the seeds behind it and what the intervals and marks mean."""
    seeds = sorted({r["n_seeds"] for r in result.rows if r.get("n_seeds") is not None})
    count = "-".join(str(s) for s in dict.fromkeys([seeds[0], seeds[-1]])) if seeds else "no"
    return f"{title}. Seeds per comparison: {count}. " + " ".join(how_to_read(result))


def _latex_text(text: str) -> str:
    out = "".join(LATEX_ESCAPES.get(ch, ch) for ch in text)
    for symbol, code in LATEX_SYMBOLS.items():
        out = out.replace(symbol, code)
    return out


def latex_table(title: str, headers: list[str], cells: list[list[str]], text: str) -> str:
    """One booktabs table in a table float, captioned."""
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{_latex_text(text)}}}",
        r"\begin{tabular}{" + "l" * len(headers) + "}",
        r"\toprule",
        " & ".join(_latex_text(h) for h in headers) + r" \\",
        r"\midrule",
        *(" & ".join(_latex_text(c) for c in row) + r" \\" for row in cells),
        r"\bottomrule",
        r"\end{tabular}",
        rf"% {_latex_text(title)}",
        r"\end{table}",
    ]
    return "\n".join(lines)


def latex(result: Result) -> None:
    """Print the view as booktabs tables: the tasks view as models x tasks, others as their tables."""
    grid = task_grid(result)
    tables = [grid] if grid else sections(result)
    if not tables:
        typer.echo(f"% {result.sweep}: nothing to tabulate")
    for title, headers, cells in tables:
        typer.echo(latex_table(title, headers, cells, caption(result, title)) + "\n")


def markdown_grid(result: Result) -> None:
    """Print the tasks view's models x tasks table in markdown, with its caption (nothing for others)."""
    grid = task_grid(result)
    if grid is None:
        return
    title, headers, cells = grid
    typer.echo(f"### {title}\n")
    typer.echo("| " + " | ".join(headers) + " |")
    typer.echo("|" + "---|" * len(headers))
    for row in cells:
        typer.echo("| " + " | ".join(cells_ for cells_ in row) + " |")
    typer.echo(f"\n{caption(result, title)}\n")
