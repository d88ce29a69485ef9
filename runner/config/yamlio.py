"""Read YAML files with errors that name the file and line.

run: mixft plan path/to/sweep.yaml    (a malformed file -> "sweep.yaml:12: ..." and exit code 2)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mixft.runner.errors import ConfigError

# Far beyond any config or sweep file; a YAML alias bomb (lists of aliases of lists...) or a runaway
# nesting stops here instead of expanding in OmegaConf (exponential time, or a RecursionError).
MAX_VALUES = 100_000
MAX_DEPTH = 32


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text; `source` names it in errors ("file.yaml:LINE: problem")."""
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "not valid YAML"
        raise ConfigError(f"{source}{line}: malformed YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: malformed YAML: {exc}") from None
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError) as exc:
        # PyYAML's constructors raise these for tagged or dated values they cannot build:
        # "2024-02-30", "!!int abc", "!!bool maybe"
        raise ConfigError(
            f"{source}: malformed YAML: a value cannot be read ({type(exc).__name__}: {exc}); "
            "quote it to keep it as text"
        ) from None
    check_shape(data, source)
    return data


def check_shape(data: Any, source: str) -> None:
    """Refuse a document with more than MAX_VALUES values (aliases counted as expanded) or values
    nested deeper than MAX_DEPTH."""
    stack, count = [(data, 1)], 0
    while stack:
        item, depth = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise ConfigError(
                f"{source}: more than {MAX_VALUES:,} values once YAML aliases (*name) are expanded; "
                "write the file out without aliases of aliases"
            )
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        if children and depth >= MAX_DEPTH:
            raise ConfigError(f"{source}: values nested more than {MAX_DEPTH} levels deep; flatten them")
        stack.extend((child, depth + 1) for child in children)


def load_yaml(path: Path) -> Any:
    """Read and parse a YAML file (UTF-8)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse_yaml(text, str(path))
