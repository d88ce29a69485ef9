"""Plain-data helpers every stage may use (a leaf: it imports nothing of mixft).

run: python -c "from mixft.runner.jsonutil import flatten; print(flatten({'a': {'b': 1}}))"
"""

from __future__ import annotations

import json
from typing import Any


def canonical_json(data: Any) -> str:
    """JSON with sorted keys and no spaces: the same text in every process and Python version."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mapping -> {"section.key": value} (how trackers show a config); empty sections stay."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat
