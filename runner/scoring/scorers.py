"""How each kind of task is scored: one registry entry per kind, read by evaluation, compare and
config validation.

run: pytest tests/unit/test_metrics.py    |    mixft data ls    (each task's kind and metric)

A scorer parses one model output against its gold answer, aggregates a task's verdicts into its
metrics, and says which per-example column `mixft compare` bootstraps for each metric it reports.
Adding a kind of task is one entry in SCORERS (and its parsing in metrics.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mixft.runner.errors import unknown
from mixft.runner.scoring import metrics

# Kinds of task that are trained on but never scored (regulariser data: open_orca, orca_math).
UNSCORED_KINDS = ("generation",)
# The `metric:` of a task that is not scored.
NO_METRIC = "none"
# Per-example columns compare can bootstrap: "correct" (0/1, the metric is their share) or "label"
# (the predicted label's code; the metric is macro-F1 against the gold codes).
COLUMNS = ("correct", "label")

Verdict = dict[str, Any]  # {"prediction": label, number or None, "correct": bool}


@dataclass(frozen=True)
class Scorer:
    """How tasks of one kind are scored."""

    kind: str
    # the `metric:` a task of this kind declares in its YAML (or NO_METRIC: trained on, not scored)
    metric: str
    # one output against its gold: (output, gold, labels, numeric tolerance) -> verdict
    score: Callable[[str, str, Sequence[str], float], Verdict]
    # a task's verdicts and golds -> its metrics (what metrics.json holds as eval/<task>/<name>)
    aggregate: Callable[[list[Verdict], list[str], Sequence[str]], dict[str, float]]
    # metric compare reports -> the per-example column it bootstraps (COLUMNS); the first is the default
    compared: Mapping[str, str]

    def compared_metric(self, requested: str) -> str:
        """The metric compare reports for a request (`--metric`): the request when this kind has it."""
        return requested if requested in self.compared else next(iter(self.compared))


def _score_label(output: str, gold: str, labels: Sequence[str], rel_tol: float) -> Verdict:
    gold_label = metrics.parse_label(gold, labels)
    if gold_label is None or metrics.label_key(gold_label) != metrics.label_key(gold):
        raise ValueError(f"gold {gold!r} is not one of the labels {list(labels)}")
    prediction = metrics.parse_label(output, labels)
    return {"prediction": prediction, "correct": prediction == gold_label}


def _score_number(output: str, gold: str, labels: Sequence[str], rel_tol: float) -> Verdict:
    gold_number = metrics.parse_number(gold)
    if gold_number is None:  # a gold without a number ("yes") must be named by the output
        prediction: Any = metrics.parse_label(output, [gold])
        return {"prediction": prediction, "correct": prediction is not None}
    prediction = metrics.parse_number(output)
    return {"prediction": prediction, "correct": metrics.numeric_match(prediction, gold_number, rel_tol)}


def _aggregate_labels(verdicts: list[Verdict], golds: list[str], labels: Sequence[str]) -> dict[str, float]:
    result = metrics.classification_metrics([v["prediction"] for v in verdicts], golds, labels)
    result["majority_rate"] = Counter(golds).most_common(1)[0][1] / len(golds)  # chance level
    return result


def _aggregate_numbers(verdicts: list[Verdict], golds: list[str], labels: Sequence[str]) -> dict[str, float]:
    # From the verdicts rather than metrics.numeric_metrics: a gold without a number ("yes") is
    # scored by name, and numeric_metrics only takes numbers.
    n = len(verdicts)
    return {
        "numeric_accuracy": sum(v["correct"] for v in verdicts) / n,
        "invalid_rate": sum(v["prediction"] is None for v in verdicts) / n,
        "n": n,
    }


SCORERS: dict[str, Scorer] = {
    "classification": Scorer(
        "classification",
        "accuracy_f1",
        _score_label,
        _aggregate_labels,
        {"accuracy": "correct", "macro_f1": "label"},
    ),
    "numeric_qa": Scorer(
        "numeric_qa", "numeric_accuracy", _score_number, _aggregate_numbers, {"numeric_accuracy": "correct"}
    ),
}
TASK_KINDS: tuple[str, ...] = (*SCORERS, *UNSCORED_KINDS)


def scorer_for(kind: str) -> Scorer:
    """The scorer of a task kind.

    Raises:
        ConfigError: the kind is unknown or not scored (generation), naming the kinds that are.
    """
    if kind not in SCORERS:
        raise unknown("scorable task kind", kind, SCORERS)
    return SCORERS[kind]


def column_of(metric: str) -> str:
    """The per-example column (COLUMNS) a compared metric is computed from.

    Raises:
        ValueError: no scorer reports this metric.
    """
    for scorer in SCORERS.values():
        if metric in scorer.compared:
            return scorer.compared[metric]
    raise ValueError(f"unknown metric {metric!r}")


def score_example(output: str, gold: str, kind: str, labels: Sequence[str], rel_tol: float = 0.01) -> Verdict:
    """Parse one model output and say whether it is correct.

    Args:
        output: Raw generated text.
        gold: The gold answer as text: a label, or a number such as "1,234" or "12.5%". A numeric_qa
            gold without a number (say "yes") must be named by the output, as `parse_label` reads it.
        kind: A task kind in SCORERS.
        labels: The task's labels (classification only).
        rel_tol: Relative tolerance for numeric answers.

    Returns:
        {"prediction": the label, number or None, "correct": bool}.

    Raises:
        ValueError: An unknown kind, or a classification gold that is not one of the labels.
    """
    if kind not in SCORERS:
        raise ValueError(f"unknown task kind {kind!r}: expected one of {', '.join(SCORERS)}")
    return SCORERS[kind].score(output, gold, labels, rel_tol)
