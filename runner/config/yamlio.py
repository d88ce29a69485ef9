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


def key_line(path: Path, dotted: str) -> int | None:
    """The line (1-based) where `dotted` (`columns.input`) is written in a YAML file, if it is."""
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    line = None
    for part in dotted.split(".") if dotted else ():
        if not isinstance(node, yaml.MappingNode):
            break
        match = next(((k, v) for k, v in node.value if getattr(k, "value", None) == part), None)
        if match is None:
            break
        line, node = match[0].start_mark.line + 1, match[1]
    return line


def bad_field(path: Path, exc: Exception, prefix: str = "") -> str:
    """One line for an OmegaConf error raised while typing a YAML file against its schema:
    `file:LINE: unknown field 'x'` or `file:LINE: bad value for 'x': reason`."""
    key = str(getattr(exc, "full_key", "") or "")
    if prefix and key.startswith(f"{prefix}."):
        key = key[len(prefix) + 1 :]
    line = key_line(path, key)
    where = f"{path}:{line}" if line else str(path)
    reason = (str(getattr(exc, "msg", "") or exc).strip().splitlines() or [type(exc).__name__])[0]
    if "not in struct" in reason or reason.startswith("Key '"):
        return f"{where}: unknown field '{key}'; `mixft config show` lists the fields"
    return f"{where}: bad value for '{key}': {reason}"
