"""Parse zero-shot model outputs and score them: labels (accuracy, macro-F1) and numbers (tolerance).

run: pytest tests/unit/test_metrics.py    (unreadable outputs count as wrong and show as invalid_rate)
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Sequence
from typing import Any

# ASCII punctuation plus the typographic quotes and dashes models like to wrap answers in.
_EDGE = string.punctuation + string.whitespace + "“”‘’«»„‚‹›…–—"
_PIPE = re.compile(r"\s*\|\s*")
# A sentence break right after a leading label: "Positive. The news..." answered "positive".
_BREAK = re.compile(r"\s*[.!;:]")
# Dashes that mean minus in text copied from reports or typeset by the model.
_MINUS = str.maketrans({"\u2212": "-", "\u2012": "-", "\u2013": "-", "\ufe63": "-", "\uff0d": "-"})
_SCALE = {
    "k": 1e3, "thousand": 1e3, "m": 1e6, "mm": 1e6, "mn": 1e6, "million": 1e6,
    "b": 1e9, "bn": 1e9, "billion": 1e9, "tn": 1e12, "trillion": 1e12,
}  # fmt: skip
_NUMBER = re.compile(
    r"(?<![\w.,])"  # not the tail of a word ("Q4") or of a longer number ("1.2.3")
    r"(?P<num>(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)(?:e[+-]?\d+)?)"
    r"(?![.,]?\d)"  # not the head of a longer number either: "1.2.3" and "1,23" are no numbers
    r"(?:\s?(?P<scale>trillion|billion|million|thousand|tn|bn|mn|mm|k|m|b))?(?!\w)",
    re.IGNORECASE,
)
# Sign and currency just before a number: "-12", "-$12", "$-12", "USD -12", "(12)". A dash after a
# word or digit is a range or a subtraction ("10-12"), not a sign.
_PREFIX = re.compile(
    r"(?P<sign>(?<![\w.])[-(])?(?:(?:us\$|\$|usd|eur|€|£)\s?)?(?P<minus>(?<![\w.])-)?$", re.I
)
_CLOSE = re.compile(r"\s?%?\s?\)")


def normalize(text: str) -> str:
    """Casefold, collapse whitespace and strip surrounding punctuation and quotes.

    Args:
        text: A model output or a label.

    Returns:
        The text in NFKC form, casefolded, single-spaced, with no leading or trailing punctuation.
    """
    text = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return text.strip(_EDGE)


def label_key(text: str) -> str:
    """How labels are compared: `normalize`d, with optional spaces around "|" dropped."""
    # Spaces around "|" are optional in topic labels: "fed|central banks" is "Fed | Central Banks".
    return _PIPE.sub("|", normalize(text))


def _named(text: str, by_key: dict[str, str]) -> set[str]:
    # Longer labels claim their span first, so "stock movement" does not also count as "stock".
    found = set()
    for key in sorted(by_key, key=len, reverse=True):
        text, hits = re.subn(rf"(?<![\w-]){re.escape(key)}(?![\w-])", "\0", text)
        if hits:
            found.add(by_key[key])
    return found


def parse_label(output: str, labels: Sequence[str]) -> str | None:
    """Read which label a model answered.

    In order: the output (or its first line) equals a label after `normalize`; it starts with a label
    and a sentence break ("Positive. It says..."; longest label first); it names exactly one label as a
    whole word or phrase ("Answer: negative"). "nonpositive" names no label; "positive or negative" is
    two labels, so None.

    Args:
        output: Raw generated text.
        labels: The task's labels.

    Returns:
        The label as spelled in `labels`, or None when no single label can be read.

    Raises:
        ValueError: A label is empty after normalisation.
    """
    by_key = {label_key(label): label for label in reversed(labels)}  # reversed: the first spelling wins
    if "" in by_key:
        raise ValueError(f"a label is empty after normalisation: {list(labels)}")
    text = label_key(output)
    for candidate in (text, label_key(output.strip().split("\n", 1)[0])):
        if candidate in by_key:
            return by_key[candidate]
    for key in sorted(by_key, key=len, reverse=True):
        if text.startswith(key) and _BREAK.match(text, len(key)):
            return by_key[key]
    named = _named(text, by_key)
    return named.pop() if len(named) == 1 else None


def parse_number(text: str) -> float | None:
    """Read the answer's number from a model output or a gold answer.

    Handles "1,234.5", "$1,234", "USD 45", "-123", "−123", "(123)", "12.5%" (12.5: the sign is
    dropped, see `numeric_match`) and scales ("3.2 million", "3.2M", "1.5bn", "2k"). Models reason
    before they answer, so the last number wins; "1.2.3" is no number.

    Args:
        text: Raw text.

    Returns:
        The last number in the text, or None when there is none.
    """
    text = text.translate(_MINUS)
    matches = list(_NUMBER.finditer(text))
    if not matches:
        return None
    match = matches[-1]
    value = float(match["num"].replace(",", ""))
    if match["scale"]:
        value *= _SCALE[match["scale"].lower()]
    prefix = _PREFIX.search(text, 0, match.start())
    sign, minus = (prefix["sign"], prefix["minus"]) if prefix else (None, None)
    # An accounting negative needs its closing bracket; "(about 12" is just an aside.
    if "-" in (sign, minus) or (sign == "(" and _CLOSE.match(text, match.end())):
        value = -value
    return value


def numeric_match(pred: float | None, gold: float, rel_tol: float = 0.01) -> bool:
    """Whether a predicted number matches the gold one within a relative tolerance.

    A percentage written as a fraction (or the reverse) also matches: 0.125 for a gold 12.5.

    Args:
        pred: The parsed prediction; None never matches.
        gold: The gold number.
        rel_tol: Allowed |pred - gold| as a share of |gold|; 1e-9 absolute when gold is 0.

    Returns:
        True when pred, pred * 100 or pred / 100 is within tolerance of gold.
    """
    if pred is None:
        return False
    tol = rel_tol * abs(gold) if gold != 0 else 1e-9
    return any(abs(candidate - gold) <= tol for candidate in (pred, pred * 100, pred / 100))


def _check_lengths(preds: Sequence[Any], golds: Sequence[Any]) -> None:
    if not golds:
        raise ValueError("no examples to score")
    if len(preds) != len(golds):
        raise ValueError(f"{len(preds)} predictions for {len(golds)} gold answers")


def classification_metrics(
    preds: Sequence[str | None], golds: Sequence[str], labels: Sequence[str]
) -> dict[str, float]:
    """Accuracy, macro-F1 and the share of unreadable outputs.

    Macro-F1 follows scikit-learn (zero_division=0): the mean F1 over the labels that occur in golds or
    predictions. A None prediction is wrong and counts as a miss for its gold label.

    Args:
        preds: Parsed predictions, None where the output named no label.
        golds: Gold labels, spelled as in `labels`.
        labels: The task's labels.

    Returns:
        {"accuracy", "macro_f1", "invalid_rate", "n"}.

    Raises:
        ValueError: No examples, lengths differ, or a gold or prediction is not in `labels`.
    """
    _check_lengths(preds, golds)
    unknown = ({*golds} | {p for p in preds if p is not None}) - set(labels)
    if unknown:
        raise ValueError(f"not among the labels {list(labels)}: {sorted(unknown)}")
    pairs = list(zip(preds, golds, strict=True))
    f1s = []
    for label in labels:
        tp = sum(p == g == label for p, g in pairs)
        fp = sum(p == label != g for p, g in pairs)
        fn = sum(g == label != p for p, g in pairs)
        if tp + fp + fn:  # the label occurs in golds or predictions
            f1s.append(2 * tp / (2 * tp + fp + fn))
    return {
        "accuracy": sum(p == g for p, g in pairs) / len(pairs),
        "macro_f1": sum(f1s) / len(f1s),
        "invalid_rate": sum(p is None for p in preds) / len(pairs),
        "n": len(pairs),
    }


def numeric_metrics(
    preds: Sequence[float | None], golds: Sequence[float], rel_tol: float = 0.01
) -> dict[str, float]:
    """Share of predictions that match their gold number (see `numeric_match`).

    Args:
        preds: Parsed predictions, None where the output held no number.
        golds: Gold numbers.
        rel_tol: Relative tolerance passed to `numeric_match`.

    Returns:
        {"numeric_accuracy", "invalid_rate", "n"}.

    Raises:
        ValueError: No examples, or lengths differ.
    """
    _check_lengths(preds, golds)
    hits = sum(numeric_match(p, g, rel_tol) for p, g in zip(preds, golds, strict=True))
    n = len(golds)
    return {"numeric_accuracy": hits / n, "invalid_rate": sum(p is None for p in preds) / n, "n": n}
