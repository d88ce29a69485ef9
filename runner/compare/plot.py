"""Heatmap of `mixft compare`'s deltas: what was trained (rows) x the task scored (columns); and the
forgetting plot: per suite task, the delta against the base model at each regulariser.

run: mixft compare smoke --plot deltas.png    |    mixft compare smoke --view forgetting --plot forgetting.png

One panel per model and recipe. Colour is the delta against the single-task baseline (held-out
columns: against the base model) on a diverging scale centred on zero: blue better, red worse, grey
not compared. A * marks an interval that excludes zero.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

MAX_ANNOTATED = 600  # cells per panel; more would be unreadable at any size


def label(row: dict[str, Any]) -> str:
    """A mixture's label: its tasks joined by +, its regulariser in brackets."""
    text = "+".join(row["mixture"])
    return text + (f" [{row['regularizer']}]" if row["regularizer"] != "none" else "")


def _panel(ax: Any, rows: list[dict[str, Any]], limit: float, cmap: Any, norm: Any) -> Any:
    import numpy as np

    ordered = sorted(
        rows, key=lambda r: (len(r["mixture"]), r["mixture"], r["regularizer"] != "none", r["regularizer"])
    )
    mixtures = list(dict.fromkeys(label(r) for r in ordered))
    tasks = sorted(
        {r["task"] for r in rows}, key=lambda t: (any(r["held_out"] for r in rows if r["task"] == t), t)
    )
    cells = np.full((len(mixtures), len(tasks)), np.nan)
    marks = {}
    for r in rows:
        i, j = mixtures.index(label(r)), tasks.index(r["task"])
        cells[i, j] = r["delta"]
        marks[(i, j)] = "*" if r["significant"] else ""
    image = ax.imshow(cells, cmap=cmap, norm=norm, aspect="auto", interpolation="nearest")
    held = {r["task"] for r in rows if r["held_out"]}
    ax.set_xticks(
        range(len(tasks)), [t + (" (held out)" if t in held else "") for t in tasks], rotation=40, ha="right"
    )
    ax.set_yticks(range(len(mixtures)), mixtures)
    if cells.size <= MAX_ANNOTATED:
        for (i, j), mark in marks.items():
            value = cells[i, j]
            colour = "white" if abs(value) > 0.6 * limit else "black"
            ax.text(j, i, f"{value:+.2f}{mark}", ha="center", va="center", fontsize=7, color=colour)
    return image


def heatmap(rows: list[dict[str, Any]], path: Path, title: str, scale: str) -> Path:
    """Write the heatmap of comparison rows (`views.all_rows`) as a PNG.

    Args:
        rows: Comparison rows with model, recipe, mixture, regularizer, task, delta, significant, held_out.
        path: The PNG to write (its folder is created).
        title: Figure title.
        scale: Colour bar label: what the delta is measured against.

    Returns:
        The path written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    panels: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        panels[(row["model"], row["recipe"])].append(row)
    limit = max((abs(r["delta"]) for r in rows), default=0.0) or 0.01
    norm = TwoSlopeNorm(vcenter=0.0, vmin=-limit, vmax=limit)
    cmap = plt.get_cmap("RdBu").with_extremes(bad="#e0e0e0")
    n_rows = max((len({label(r) for r in group}) for group in panels.values()), default=1)
    n_cols = max((len({r["task"] for r in group}) for group in panels.values()), default=1)
    size = (len(panels) * (2.0 + 0.75 * n_cols) + 1.5, max(3.2, 2.0 + 0.3 * n_rows))
    fig, axes = plt.subplots(1, max(1, len(panels)), figsize=size, squeeze=False, layout="constrained")
    image = None
    for ax, ((model, recipe), group) in zip(axes[0], sorted(panels.items()), strict=False):
        image = _panel(ax, group, limit, cmap, norm)
        ax.set_title(f"{model} · {recipe}", fontsize=10)
    if image is not None:
        bar = fig.colorbar(image, ax=axes[0].tolist(), shrink=0.8)
        bar.set_label("delta")
    else:
        axes[0][0].text(0.5, 0.5, "nothing compared yet", ha="center", va="center")
        axes[0][0].set_axis_off()
    fig.suptitle(f"{title}\n{scale}; * the interval excludes 0", fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _forgetting_panel(ax: Any, rows: list[dict[str, Any]], regularizers: list[str], colour: Any) -> None:
    """One suite task: each arm's delta against the base model at its regulariser, spread sideways."""
    import numpy as np

    for i, regularizer in enumerate(regularizers):
        at = sorted(
            (r for r in rows if r["regularizer"] == regularizer),
            key=lambda r: (r["model"], len(r["mixture"]), r["mixture"]),
        )
        offsets = np.linspace(-0.3, 0.3, len(at)) if len(at) > 1 else [0.0]
        for x, r in zip(offsets, at, strict=True):
            error = None
            if r["ci_low"] is not None:
                error = [[r["delta"] - r["ci_low"]], [r["ci_high"] - r["delta"]]]
            marker = "o" if len(r["mixture"]) == 1 else "s"
            ax.errorbar(
                i + x, r["delta"], yerr=error, fmt=marker, color=colour(r["model"]), ms=4, capsize=2, lw=0.8
            )
    ax.axhline(0.0, color="grey", lw=0.8, ls="--")
    ax.set_xticks(range(len(regularizers)), regularizers)
    ax.set_xlim(-0.5, len(regularizers) - 0.5)
    ax.set_ylabel("delta vs base model")


def forgetting_plot(rows: list[dict[str, Any]], path: Path, title: str) -> Path:
    """Write the forgetting plot as a PNG: per suite task, every arm's delta against the base model
    (with its interval as a bar) at its regulariser; colour: model; o: single task, s: mixture.

    Args:
        rows: Rows of the forgetting view (`forgetting.KEYS`); rows against other references are left out.
        path: The PNG to write (its folder is created).
        title: Figure title.

    Returns:
        The path written.
    """
    import math

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    panels: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row["reference"] == "base":
            panels[(row["suite"], row["task"])].append(row)
    regularizers = sorted(
        {r["regularizer"] for g in panels.values() for r in g}, key=lambda g: (g != "none", g)
    )
    models = sorted({r["model"] for g in panels.values() for r in g})
    palette = plt.get_cmap("tab10")

    def colour(model: str) -> Any:
        return palette(models.index(model) % 10)

    n_cols = min(3, max(1, len(panels)))
    n_rows = max(1, math.ceil(len(panels) / n_cols))
    size = (4.0 * n_cols + 2.0, 3.2 * n_rows + 0.8)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=size, squeeze=False, layout="constrained")
    for ax, ((suite, task), group) in zip(axes.flat, sorted(panels.items()), strict=False):
        _forgetting_panel(ax, group, regularizers, colour)
        ax.set_title(f"{suite}/{task} ({group[0]['metric']})", fontsize=10)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_axis_off()
    if not panels:
        axes[0][0].text(0.5, 0.5, "nothing compared yet", ha="center", va="center")
    handles = [Line2D([], [], color=colour(m), marker="o", ls="", label=m) for m in models]
    handles += [
        Line2D([], [], color="black", marker=k, ls="", label=v)
        for k, v in (("o", "single task"), ("s", "mixture"))
    ]
    fig.legend(handles=handles, loc="outside right upper", fontsize=8)
    fig.suptitle(f"{title}\nbars: the interval of each delta", fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
