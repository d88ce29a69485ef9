"""mixft's memory estimate against published measurements: within 0.95x-1.4x of each (known_memory.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.plan.known_memory import BEGIN, END, HIGH, LOW, known, markdown

DOCS = Path(__file__).resolve().parents[2] / "docs" / "executors.md"
ROWS = known()


@pytest.mark.parametrize("k", [k for k in ROWS if k.checked], ids=lambda k: k.row["id"])
def test_the_estimate_lies_within_its_band_of_each_published_peak(k) -> None:
    assert LOW <= k.ratio <= HIGH, (
        f"{k.row['id']}: mixft {k.estimate_gb:.1f} GB against {k.row['measured_gb']} GB published "
        f"({k.ratio:.2f}x; allowed {LOW}-{HIGH}): {k.row['case']}"
    )


def test_every_row_says_how_it_was_measured() -> None:
    for k in ROWS:
        r = k.row
        assert r["compare"] in ("peak", "budget") and set(r["stack"]) == {"fused_logits", "kbit_upcast"}, r[
            "id"
        ]
        assert r["source"] and r["case"] and (k.checked or r.get("reason")), r["id"]


def test_the_docs_print_the_table_as_it_is_now() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert BEGIN in text and END in text, f"{DOCS} lacks the {BEGIN} ... {END} block"
    printed = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert printed == markdown(ROWS), "regenerate it: .venv/bin/python -m tests.plan.known_memory"
