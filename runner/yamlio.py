"""Read YAML files with errors that name the file and line.

run: mixft plan path/to/sweep.yaml    (a malformed file -> "sweep.yaml:12: ..." and exit code 2)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mixft.runner.errors import ConfigError


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text; `source` names it in errors ("file.yaml:LINE: problem")."""
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "not valid YAML"
        raise ConfigError(f"{source}{line}: malformed YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: malformed YAML: {exc}") from None


def load_yaml(path: Path) -> Any:
    """Read and parse a YAML file (UTF-8)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_yaml(text, str(path))
