"""Answer parsing, task metrics and the scorer registry: labels, numbers, tolerance, accuracy and macro-F1."""

from __future__ import annotations

import pytest

from mixft.runner.errors import ConfigError
from mixft.runner.scoring.metrics import (
    classification_metrics,
    normalize,
    numeric_match,
    numeric_metrics,
    parse_label,
    parse_number,
)
from mixft.runner.scoring.scorers import SCORERS, TASK_KINDS, column_of, score_example, scorer_for

SENTIMENT = ["negative", "neutral", "positive"]
YES_NO = ["Yes", "No"]
MARKET = ["Bearish", "Bullish", "Neutral"]
TOPICS = ["Fed | Central Banks", "M&A | Investments", "Stock Commentary", "Stock Movement", "Markets"]
NESTED = ["Stock", "Stock Movement"]
PROMPT = "Classify the sentiment of this financial news sentence. Answer with one word: negative, neutral or positive."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Positive.", "positive"),
        ("  Fed  |\tCentral\nBanks ", "fed | central banks"),
        ('"Neutral"', "neutral"),
        ("\u201cBullish\u201d!", "bullish"),
        ("**Yes**", "yes"),
        ("M&A | Investments", "m&a | investments"),
        ("...", ""),
        ("", ""),
    ],
)
def test_normalize(text, expected):
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("output", "labels", "expected"),
    [
        # exact after normalising
        ("Positive.", SENTIMENT, "positive"),
        (" positive\n", SENTIMENT, "positive"),
        ("yes", YES_NO, "Yes"),
        ("NO!", YES_NO, "No"),
        ("bullish", MARKET, "Bullish"),
        ("Fed | Central Banks", TOPICS, "Fed | Central Banks"),
        ("fed|central banks", TOPICS, "Fed | Central Banks"),
        ("FED |central banks.", TOPICS, "Fed | Central Banks"),
        ("m&a|investments", TOPICS, "M&A | Investments"),
        # the first line is the answer, whatever the explanation after it says
        ("Positive\n\nThe outlook is not negative.", SENTIMENT, "positive"),
        # leading label and a sentence break
        ("Negative. The text is not positive", SENTIMENT, "negative"),
        ("Stock Movement. Markets fell", TOPICS, "Stock Movement"),
        ("No: the headline talks about gold", YES_NO, "No"),
        # the one label named somewhere
        ("Answer: negative", SENTIMENT, "negative"),
        ("The sentiment is neutral", SENTIMENT, "neutral"),
        ("Sentiment: positive positive", SENTIMENT, "positive"),
        ("Yes, it does", YES_NO, "Yes"),
        ("The topic is fed|central banks", TOPICS, "Fed | Central Banks"),
        # longest label first: "Stock Movement" is not also "Stock"
        ("Stock Movement", NESTED, "Stock Movement"),
        ("stock movement up", NESTED, "Stock Movement"),
        ("Stock", NESTED, "Stock"),
        ("stock movement, then stock", NESTED, None),
        # two labels named
        ("positive or negative", SENTIMENT, None),
        ("negative, neutral or positive", SENTIMENT, None),
        ("Markets and stock movement", TOPICS, None),
        ("Yes/No", YES_NO, None),
        # the prompt repeated back names every label
        (PROMPT, SENTIMENT, None),
        (PROMPT + "\nAnswer: positive", SENTIMENT, None),
        # a label inside a longer word names nothing
        ("nonpositive", SENTIMENT, None),
        ("non-positive", SENTIMENT, None),
        ("Nobody knows", YES_NO, None),
        ("Not sure", YES_NO, None),
        ("Stocks", NESTED, None),
        # nothing to read
        ("", SENTIMENT, None),
        ("   \n\t", SENTIMENT, None),
        ("N/A", SENTIMENT, None),
        ("asdf qwerty 123", SENTIMENT, None),
        ("positive", [], None),
    ],
)
def test_parse_label(output, labels, expected):
    assert parse_label(output, labels) == expected


def test_parse_label_rejects_an_empty_label():
    with pytest.raises(ValueError, match="empty"):
        parse_label("positive", ["positive", "..."])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42.0),
        ("1,234.5", 1234.5),
        ("$1,234", 1234.0),
        ("(123)", -123.0),
        ("($1,234.5)", -1234.5),
        ("(12.5%)", -12.5),
        ("-123", -123.0),
        ("-$1,234", -1234.0),
        ("$-12", -12.0),
        ("USD -45", -45.0),
        ("\u221212", -12.0),
        ("12.5%", 12.5),
        ("3.2 million", 3.2e6),
        ("3.2M", 3.2e6),
        ("1.5bn", 1.5e9),
        ("2k", 2e3),
        ("$4.1 billion", 4.1e9),
        ("USD 45", 45.0),
        ("45 dollars", 45.0),
        ("Answer: 7", 7.0),
        ("The answer is 12.", 12.0),
        ("The answer is 1,234.5.", 1234.5),
        (".5", 0.5),
        ("1.5e3", 1500.0),
        # the last number is the answer
        ("Revenue rose from 100 to 150, so the change is 50", 50.0),
        ("In 2019, the total was 1,234", 1234.0),
        # a dash after a digit is a range or a subtraction, not a sign
        ("10-12", 12.0),
        ("150 - 100 = 50", 50.0),
        # a bracket that does not close is an aside, not a negative
        ("(about 12", 12.0),
        # a scale letter must stand alone
        ("3 months", 3.0),
        # nothing number-like
        ("", None),
        ("   ", None),
        ("N/A", None),
        ("no answer", None),
        ("1.2.3", None),
        ("1,23", None),
        ("12abc", None),
        ("Q4", None),
    ],
)
def test_parse_number(text, expected):
    assert parse_number(text) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("pred", "gold", "expected"),
    [
        (12.5, 12.5, True),
        (12.6, 12.5, True),  # |0.1| <= 0.01 * 12.5 = 0.125
        (12.7, 12.5, False),  # |0.2| > 0.125
        (-12.5, 12.5, False),
        (-100.5, -100.0, True),
        (0.125, 12.5, True),  # a percentage answered as a fraction
        (1250.0, 12.5, True),  # a fraction answered as a percentage
        (0.0, 0.0, True),
        (1e-6, 0.0, False),  # gold 0: absolute tolerance 1e-9
        (None, 12.5, False),
        (float("nan"), 12.5, False),
    ],
)
def test_numeric_match(pred, gold, expected):
    assert numeric_match(pred, gold) is expected


def test_numeric_match_uses_rel_tol():
    assert numeric_match(105.0, 100.0, rel_tol=0.05)
    assert not numeric_match(105.0, 100.0, rel_tol=0.01)


def test_classification_metrics_match_hand_computed_macro_f1():
    golds = ["positive", "positive", "negative", "neutral", "neutral", "negative"]
    preds = ["positive", "negative", "negative", None, "neutral", "positive"]
    # positive: tp=1 (0), fp=1 (5), fn=1 (1) -> F1 = 2*1 / (2*1 + 1 + 1) = 1/2
    # negative: tp=1 (2), fp=1 (1), fn=1 (5) -> F1 = 1/2
    # neutral:  tp=1 (4), fp=0,     fn=1 (3, the None) -> F1 = 2 / (2 + 0 + 1) = 2/3
    # macro-F1 = (1/2 + 1/2 + 2/3) / 3 = 5/9; accuracy = 3/6; invalid = 1/6
    got = classification_metrics(preds, golds, SENTIMENT)
    assert got == pytest.approx({"accuracy": 0.5, "macro_f1": 5 / 9, "invalid_rate": 1 / 6, "n": 6})


def test_macro_f1_averages_only_labels_that_occur():
    # positive: tp=1, fp=1, fn=0 -> 2/3; negative: tp=0, fp=0, fn=1 -> 0; neutral never occurs: left out
    # macro-F1 = (2/3 + 0) / 2 = 1/3 (over all three labels it would be 2/9)
    got = classification_metrics(["positive", "positive"], ["positive", "negative"], SENTIMENT)
    assert got["macro_f1"] == pytest.approx(1 / 3)
    assert got["accuracy"] == pytest.approx(0.5)


def test_all_invalid_predictions_score_zero():
    got = classification_metrics([None, None], ["Yes", "No"], YES_NO)
    assert got == {"accuracy": 0.0, "macro_f1": 0.0, "invalid_rate": 1.0, "n": 2}


@pytest.mark.parametrize(
    ("preds", "golds", "message"),
    [
        ([], [], "no examples"),
        (["positive"], ["positive", "negative"], "1 predictions for 2"),
        (["positive"], ["Positive"], "not among the labels"),
        (["bullish"], ["positive"], "not among the labels"),
    ],
)
def test_classification_metrics_reject_bad_input(preds, golds, message):
    with pytest.raises(ValueError, match=message):
        classification_metrics(preds, golds, SENTIMENT)


def test_numeric_metrics():
    # 1234 matches; 0.125 matches 12.5 as a fraction; 7 misses 8; None is invalid and wrong
    got = numeric_metrics([1234.0, 0.125, 7.0, None], [1234.0, 12.5, 8.0, 3.0])
    assert got == pytest.approx({"numeric_accuracy": 0.5, "invalid_rate": 0.25, "n": 4})


@pytest.mark.parametrize(("preds", "golds"), [([], []), ([1.0], [1.0, 2.0])])
def test_numeric_metrics_reject_bad_input(preds, golds):
    with pytest.raises(ValueError):
        numeric_metrics(preds, golds)


@pytest.mark.parametrize(
    ("output", "gold", "kind", "labels", "expected"),
    [
        ("Positive.", "positive", "classification", SENTIMENT, {"prediction": "positive", "correct": True}),
        ("neutral", "Positive", "classification", SENTIMENT, {"prediction": "neutral", "correct": False}),
        ("yes", "Yes", "classification", YES_NO, {"prediction": "Yes", "correct": True}),
        (
            "positive or negative",
            "negative",
            "classification",
            SENTIMENT,
            {"prediction": None, "correct": False},
        ),
        ("The answer is $1,234.", "1,234", "numeric_qa", [], {"prediction": 1234.0, "correct": True}),
        ("0.125", "12.5%", "numeric_qa", [], {"prediction": 0.125, "correct": True}),
        ("(45)", "-45", "numeric_qa", [], {"prediction": -45.0, "correct": True}),
        ("45", "-45", "numeric_qa", [], {"prediction": 45.0, "correct": False}),
        ("N/A", "3.2", "numeric_qa", [], {"prediction": None, "correct": False}),
        ("Yes, it increased", "yes", "numeric_qa", [], {"prediction": "yes", "correct": True}),
        ("No", "yes", "numeric_qa", [], {"prediction": None, "correct": False}),
    ],
)
def test_score_example(output, gold, kind, labels, expected):
    assert score_example(output, gold, kind, labels) == expected


def test_score_example_uses_rel_tol():
    assert score_example("103", "100", "numeric_qa", [], rel_tol=0.05)["correct"]
    assert not score_example("103", "100", "numeric_qa", [])["correct"]


@pytest.mark.parametrize(
    ("gold", "kind", "message"),
    [("positive", "generation", "unknown task kind"), ("bullish", "classification", "not one of the labels")],
)
def test_score_example_rejects(gold, kind, message):
    with pytest.raises(ValueError, match=message):
        score_example("positive", gold, kind, SENTIMENT)


def test_the_registry_names_each_kinds_metric_and_compared_columns():
    assert set(TASK_KINDS) == {*SCORERS, "generation"}
    assert scorer_for("classification").metric == "accuracy_f1"
    assert scorer_for("numeric_qa").compared_metric("macro_f1") == "numeric_accuracy"
    assert scorer_for("classification").compared_metric("macro_f1") == "macro_f1"
    assert (column_of("accuracy"), column_of("macro_f1"), column_of("numeric_accuracy")) == (
        "correct",
        "label",
        "correct",
    )
    with pytest.raises(ConfigError, match="unknown scorable task kind 'generation'"):
        scorer_for("generation")
    with pytest.raises(ValueError, match="unknown metric"):
        column_of("bleu")


def test_aggregates_report_chance_level_and_invalid_outputs():
    verdicts = [
        score_example(out, gold, "classification", SENTIMENT)
        for out, gold in [("positive", "positive"), ("blah", "negative"), ("negative", "negative")]
    ]
    got = SCORERS["classification"].aggregate(verdicts, ["positive", "negative", "negative"], SENTIMENT)
    assert got["accuracy"] == pytest.approx(2 / 3) and got["invalid_rate"] == pytest.approx(1 / 3)
    assert got["majority_rate"] == pytest.approx(2 / 3) and got["n"] == 3
    numbers = [
        score_example("12.5%", "12.5", "numeric_qa", []),
        score_example("no idea", "3", "numeric_qa", []),
    ]
    assert SCORERS["numeric_qa"].aggregate(numbers, ["12.5", "3"], []) == {
        "numeric_accuracy": 0.5,
        "invalid_rate": 0.5,
        "n": 2,
    }
