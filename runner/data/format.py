"""Rows to chat messages: the prompts mixft writes, the answers the loss is computed on.

run: mixft data show finqa -n 2    (the messages, then the text after the model's chat template)

A row becomes one user turn (instruction, a blank line, the input) and one assistant turn (the
answer as label text or number). The model's own chat template turns them into tokens.
"""

from __future__ import annotations

from typing import Any

from mixft.runner.errors import ConfigError
from mixft.runner.schema import TaskConfig

# Bump when the layout of the user turn changes: it is part of every tokenisation cache key.
FORMAT_VERSION = 1


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


def answer_text(task: TaskConfig, raw: Any, where: str) -> str:
    """The answer as the model should write it: a label text (after the label map) or free text."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise ConfigError(f"{where}: field '{task.columns.output}' is empty")
    text = str(raw).strip()
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
    instruction = str(row[cols.instruction]).strip() if cols.instruction else task.prompt.strip()
    text = row[cols.input]
    if text is None or not str(text).strip():
        raise ConfigError(f"{where}: field '{cols.input}' is empty")
    text = str(text)
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
