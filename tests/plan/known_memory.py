"""mixft's memory estimate beside published measurements (tests/data/memory_measurements.yaml).

run: .venv/bin/python -m tests.plan.known_memory    (prints the table docs/executors.md holds)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mixft.runner.config.load import load_config
from mixft.runner.config.run import resolve
from mixft.runner.plan.memory import ALLOCATOR_SLACK, CUDA_CONTEXT, estimate_memory
from mixft.runner.plan.stack import Stack

TABLE = Path(__file__).resolve().parents[1] / "data" / "memory_measurements.yaml"
LOW, HIGH = 0.95, 1.4  # the estimate may exceed a measured peak by 40%, never fall 5% below it
BEGIN, END = "<!-- known-memory:begin -->", "<!-- known-memory:end -->"


@dataclass(frozen=True)
class Known:
    row: dict[str, Any]
    estimate_gb: float

    @property
    def ratio(self) -> float:
        """mixft's figure over the published one."""
        return self.estimate_gb / self.row["measured_gb"]

    @property
    def checked(self) -> bool:
        """Whether the test holds this row to LOW..HIGH."""
        return bool(self.row.get("check", True))


def _estimate_gb(row: dict[str, Any], models: dict[str, list[str]]) -> float:
    overrides = [*models[row["model"]], "mixture.tasks=[fpb]", *row["overrides"]]
    m = estimate_memory(resolve(load_config(overrides)), stack=Stack(**row["stack"], label=row["source"]))
    term = row.get("term")
    value = {None: m.peak, "weights": m.weights, "model_states": m.weights + m.trainable}[term]
    if row["compare"] == "budget":
        value = value * ALLOCATOR_SLACK + CUDA_CONTEXT
    return value / 1e9


def known() -> list[Known]:
    """Every row of the table with mixft's estimate under its conditions, in GB."""
    data = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    return [Known(row, _estimate_gb(row, data["models"])) for row in data["rows"]]


def markdown(rows: list[Known]) -> str:
    """The table as docs/executors.md prints it."""
    lines = [
        "| source | case | stack | published GB | mixft GB | ratio | checked |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for k in rows:
        r = k.row
        stack = "fused logits" if r["stack"]["fused_logits"] else "materialised logits"
        stack += ", QLoRA embeddings fp32" if r["stack"]["kbit_upcast"] else ""
        what = r["compare"] + (f" ({r['term']})" if r.get("term") else "")
        check = "yes" if k.checked else f"no: {r['reason']}"
        lines.append(
            f"| {r['source']} | {r['case']} | {stack} | {r['measured_gb']:g} | {k.estimate_gb:.1f} {what} "
            f"| {k.ratio:.2f} | {check} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(known()))
