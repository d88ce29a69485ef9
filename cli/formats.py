"""Output formats of the commands: one list of names, and the subset each command prints.

run: mixft plan smoke --format json    |    mixft compare smoke --format md
"""

from __future__ import annotations

from enum import StrEnum


class Format(StrEnum):
    table = "table"  # rich tables (plain lines for `mixft run`), for people
    md = "md"  # markdown tables, for notes
    csv = "csv"  # for spreadsheets and scripts
    json = "json"  # for scripts
    latex = "latex"  # booktabs tables, for papers


def formats(name: str, *members: Format) -> type[StrEnum]:
    """An enum of the formats one command prints (Typer lists exactly these as its choices)."""
    return StrEnum(name, {member.name: member.value for member in members})  # type: ignore[return-value]


PlanFormat = formats("PlanFormat", Format.table, Format.json, Format.csv)
CompareFormat = formats("CompareFormat", Format.table, Format.md, Format.csv, Format.json, Format.latex)
TableOrJson = formats("TableOrJson", Format.table, Format.json)
