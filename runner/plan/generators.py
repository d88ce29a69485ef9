"""Mixture generators: the task sets of a sweep's `mixtures:` (singles, pairs, leave_one_out, all,
subsets(K)), counted before any is made.

run: mixft plan cocktail_paper    (its mixtures: singles, pairs, leave_one_out and all of 7 tasks)
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence

from mixft.runner.errors import ConfigError, unknown
from mixft.runner.plan import sweepfile
from mixft.runner.plan.sweepfile import MixtureGrid


def _leave_one_out(tasks: list[str], _: int | None) -> list[tuple[str, ...]]:
    # an exact set difference: leaving out finqa keeps convfinqa
    if len(tasks) < 2:
        return []
    return [tuple(t for t in tasks if t != left_out) for left_out in tasks]


GENERATORS: dict[str, Callable[[list[str], int | None], list[tuple[str, ...]]]] = {
    "singles": lambda tasks, _: [(t,) for t in tasks],
    "pairs": lambda tasks, _: list(itertools.combinations(tasks, 2)),
    "leave_one_out": _leave_one_out,
    "all": lambda tasks, _: [tuple(tasks)] if tasks else [],
    "subsets": lambda tasks, k: list(itertools.combinations(tasks, k or 0)),
}
# Sets each generator makes from n tasks, counted before any is made: subsets(20) of 40 tasks is 1.4e11.
SIZES: dict[str, Callable[[int, int], int]] = {
    "singles": lambda n, _: n,
    "pairs": lambda n, _: math.comb(n, 2),
    "leave_one_out": lambda n, _: n if n >= 2 else 0,
    "all": lambda n, _: 1 if n else 0,
    "subsets": math.comb,
}
_GENERATOR_CALL = re.compile(r"^\s*([a-z_]+)\s*(?:\(\s*(-?[0-9]+)\s*\))?\s*$")


def _generator(text: str, n: int) -> tuple[str, int | None]:
    """Name and argument of one generator, checked against the number of tasks."""
    match = _GENERATOR_CALL.match(text)
    name = match.group(1) if match else text
    if match is None or name not in GENERATORS:
        raise unknown("mixture generator", text, [*GENERATORS, "subsets(K)"])
    digits = match.group(2)
    if (digits is None) == (name == "subsets"):
        raise ConfigError(f"mixture generator '{text}': only subsets takes a number, as subsets(2)")
    # int() refuses 4,300 digits and more; any K that long is out of range anyway
    arg = int(digits) if digits is not None and len(digits) <= 9 else None
    if name == "subsets" and (arg is None or not 1 <= arg <= n):
        raise ConfigError(f"subsets(K) needs 1 <= K <= {n} (the number of tasks), got {digits}")
    return name, arg


def generate_sets(grid: MixtureGrid, known: Sequence[str] | None = None) -> list[tuple[str, ...]]:
    """Task sets of the mixture axis, each sorted, without repeats, in generator order.

    Args:
        grid: The sweep's `mixtures:`.
        known: Task names that exist; when given, `mixtures.tasks` and `sets` may name no other.

    Raises:
        ConfigError: a task named twice or unknown, a bad generator, or more than sweepfile.MAX_RUNS sets.
    """
    if len(set(grid.tasks)) != len(grid.tasks):
        twice = sorted(t for t, n in Counter(grid.tasks).items() if n > 1)
        raise ConfigError(f"mixtures.tasks lists {twice} more than once; name each task once")
    for name in grid.tasks if known is not None else ():
        if name not in known:
            raise unknown("task in mixtures.tasks", name, known)
    calls = [_generator(text, len(grid.tasks)) for text in grid.generators]
    count = sum(SIZES[name](len(grid.tasks), arg or 0) for name, arg in calls) + len(grid.sets)
    if count > sweepfile.MAX_RUNS:
        raise ConfigError(
            f"mixtures make {count:,} task sets, more than the {sweepfile.MAX_RUNS:,} runs one sweep may plan; "
            "use fewer tasks or smaller subsets(K)"
        )
    sets: list[tuple[str, ...]] = []
    for name, arg in calls:
        sets.extend(GENERATORS[name](list(grid.tasks), arg))
    for explicit in grid.sets:
        if len(set(explicit)) != len(explicit):
            raise ConfigError(f"mixtures.sets: {explicit} names a task twice")
        for name in explicit if known is not None else ():
            if name not in known:
                raise unknown("task in mixtures.sets", name, known)
        sets.append(tuple(explicit))
    unique = dict.fromkeys(tuple(sorted(s)) for s in sets if s)
    return list(unique)
