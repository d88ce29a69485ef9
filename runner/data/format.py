"""Rows to chat messages: the prompts mixft writes, the answers the loss is computed on.

run: mixft data show finqa -n 2    (the messages, then the text after the model's chat template)

A row becomes one user turn (instruction, a blank line, the input) and one assistant turn (the
answer as label text or number). The model's own chat template turns them into tokens.
"""

from __future__ import annotations

import math
from typing import Any

from mixft.runner.config.schema import TaskConfig
from mixft.runner.errors import ConfigError, clip

# Bump when the layout of the user turn changes: it is part of every tokenisation cache key.
# 2: empty (NaN) and nested cells are errors, not the texts "nan" and "{...}"; a null instruction is none
# (it was the text "None")
FORMAT_VERSION = 2


def required_columns(task: TaskConfig) -> list[str]:
    """Source columns a task reads."""
    cols = task.columns
    return [c for c in (cols.instruction, cols.input, cols.output) if c is not None]


def check_columns(task: TaskConfig, columns: list[str], origin: str) -> None:
    """Every column the task reads must be in the source."""
    for column in required_columns(task):
        if column not in columns:
            raise ConfigError(
                f"{origin}: missing column '{column}' for task '{task.name}'; the file has: {', '.join(columns)}"
            )


def cell_text(value: Any, column: str, where: str) -> str:
    """A cell as text (not stripped): a string, or a number or boolean written out.

    Args:
        value: The cell as the reader returned it.
        column: Its column, for errors.
        where: Names the row in errors ("file.jsonl row 12").

    Raises:
        ConfigError: The cell is empty (None, NaN, blank) or nested (a list, a mapping, bytes).
    """
    if _blank(value):
        raise ConfigError(f"{where}: field '{column}' is empty")
    if not isinstance(value, (str, int, float)):  # bool is an int
        raise ConfigError(
            f"{where}: field '{column}' holds a {type(value).__name__} ({clip(repr(value), 40)}), "
            "not text; write it as a string"
        )
    return str(value)


def _blank(value: Any) -> bool:
    """None, NaN (a missing cell to pandas and pyarrow) or text of only whitespace."""
    if isinstance(value, float):
        return math.isnan(value)
    return value is None or (isinstance(value, str) and not value.strip())


def answer_text(task: TaskConfig, raw: Any, where: str) -> str:
    """The answer as the model should write it: a label text (after the label map) or free text."""
    text = cell_text(raw, task.columns.output, where).strip()
    integral = isinstance(raw, float) and raw.is_integer() and abs(raw) < 2**53
    if task.label_map and integral and text not in task.label_map:
        text = str(int(raw))  # label 1 read as 1.0: a JSON float, or a parquet column with nulls
    if task.label_map:
        if text not in task.label_map:
            known = ", ".join(task.label_map)
            raise ConfigError(
                f"{where}: field '{task.columns.output}': label {text!r} is not in the label map ({known})"
            )
        text = task.label_map[text]
    if task.kind == "classification":
        canonical = {label.casefold(): label for label in task.labels}
        if text.casefold() not in canonical:
            raise ConfigError(
                f"{where}: field '{task.columns.output}': {text!r} is not a label of task '{task.name}' "
                f"({', '.join(task.labels)})"
            )
        text = canonical[text.casefold()]
    return text


def user_text(task: TaskConfig, row: dict[str, Any], where: str) -> str:
    """The user turn: the instruction, a blank line, then the input."""
    cols = task.columns
    if not cols.instruction:
        instruction = task.prompt.strip()
    elif _blank(row[cols.instruction]):  # OpenOrca leaves many system prompts empty: the input alone
        instruction = ""
    else:
        instruction = cell_text(row[cols.instruction], cols.instruction, where).strip()
    text = cell_text(row[cols.input], cols.input, where)
    if cols.input_after and cols.input_after in text:
        text = text.split(cols.input_after, 1)[1]
    return f"{instruction}\n\n{text.strip()}" if instruction else text.strip()


def to_example(task: TaskConfig, row: dict[str, Any], where: str) -> dict[str, Any]:
    """One row as TRL's conversational prompt/completion example, plus the answer text.

    Args:
        task: The task the row belongs to.
        row: A source row, with the source's own columns.
        where: Names the row in errors ("file.jsonl row 12").
    """
    answer = answer_text(task, row[task.columns.output], where)
    return {
        "prompt": [{"role": "user", "content": user_text(task, row, where)}],
        "completion": [{"role": "assistant", "content": answer}],
        "answer": answer,
    }


def to_examples(
    task: TaskConfig, rows: Any, origin: str, indices: list[int] | None = None
) -> list[dict[str, Any]]:
    """Every row of a Dataset as an example; the first bad row is an error naming its row number.

    Args:
        task: The task the rows belong to.
        rows: A datasets.Dataset with the source's columns.
        origin: The file or hub id, for errors.
        indices: Each row's position in the source (0-based), when `rows` is a selection.
    """
    check_columns(task, list(rows.column_names), origin)
    numbers = indices if indices is not None else range(len(rows))
    return [to_example(task, row, f"{origin} row {n + 1}") for n, row in zip(numbers, rows, strict=True)]
