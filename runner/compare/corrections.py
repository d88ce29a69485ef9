"""Corrections for many comparisons: how many of N mixtures beat their baseline, counted honestly.

run: mixft compare smoke --correction holm|fdr|none

A sweep compares every mixture that holds a task with that task's baseline: N comparisons, and with
a 95% interval each, chance alone gives about N x 2.5% a ▲. A family is the comparisons of one model,
recipe and task against one kind of reference; within it the p-values are adjusted:
- holm (default): Holm's step-down, which keeps the chance of any false ▲/▼ in the family at most
  1 - confidence, whatever the dependence between the comparisons (they share a baseline);
- fdr: Benjamini-Hochberg (scipy's false_discovery_control), which keeps the expected share of false
  claims among the claims at most 1 - confidence;
- none: the raw p-values, as each interval alone says.
Comparisons whose interval makes no claim (one seed, no seed-variance estimate) have no p-value and
stay out of the family.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

CORRECTIONS = ("holm", "fdr", "none")
DEFAULT = "holm"
T = TypeVar("T")


def adjust(p_values: Sequence[float], method: str) -> list[float]:
    """Adjusted p-values, in the order given.

    Args:
        p_values: One family's raw two-sided p-values.
        method: holm, fdr (Benjamini-Hochberg) or none.
    """
    if method == "none" or not p_values:
        return list(p_values)
    if method == "fdr":
        from scipy.stats import false_discovery_control

        return [float(p) for p in false_discovery_control(list(p_values), method="bh")]
    if method != "holm":
        raise ValueError(f"unknown correction {method!r}; choose from {', '.join(CORRECTIONS)}")
    m, adjusted, running = len(p_values), [0.0] * len(p_values), 0.0
    for rank, i in enumerate(sorted(range(m), key=lambda j: p_values[j])):
        running = max(running, min(1.0, (m - rank) * p_values[i]))  # step-down, kept monotone
        adjusted[i] = running
    return adjusted


def adjust_families(
    items: Sequence[T], family: Callable[[T], Hashable], p_value: Callable[[T], float | None], method: str
) -> list[float | None]:
    """Each item's adjusted p-value within its family (None where it has no p-value)."""
    members: dict[Hashable, list[int]] = {}
    for i, item in enumerate(items):
        if p_value(item) is not None:
            members.setdefault(family(item), []).append(i)
    out: list[float | None] = [None] * len(items)
    for indices in members.values():
        for i, p in zip(indices, adjust([p_value(items[i]) or 0.0 for i in indices], method), strict=True):
            out[i] = p
    return out
