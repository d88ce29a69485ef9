"""Deterministic synthetic rows for every task, in each real source's columns, so runs work offline.

run: python -c "from mixft.runner.data.samples import sample_rows; print(sample_rows('fpb', 'train', 3))"

No model or dataset can be downloaded in tests and smoke sweeps, so mixft writes its own data. Each
classification input holds exactly one cue phrase of its class (sample_text.CUES) amid varied filler:
a tiny model can learn the rule, and `label_of` checks it. Numeric answers are computed from the
numbers in the text. Row i is built from its own RNG, seeded with a string (never hash() or the
global state), so rows are identical in every process and a longer sample extends a shorter one. The
value that names a row (company, commodity, person, word) comes from pools split between train and
eval, so the two splits never share an input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from mixft.runner.data import sample_text as txt
from mixft.runner.data.sample_row import Row, split_pool
from mixft.runner.errors import ConfigError, did_you_mean

SAMPLE_TASKS: tuple[str, ...] = (
    "headline",
    "fpb",
    "fin_ner_cls",
    "convfinqa",
    "finqa",
    "twitter_topics",
    "twitter_sa",
    "open_orca",
    "orca_math",
    "fiqa_sa",
)
SPLITS = ("train", "eval")


def sample_rows(task: str, split: str, n: int, seed: int = 0) -> list[dict[str, Any]]:
    """n rows for `task`'s `split` ("train" or "eval") in the REAL source's columns and value types.

    Args:
        task: One of SAMPLE_TASKS.
        split: "train" or "eval"; their inputs never coincide.
        n: Number of rows; the first k rows of any n >= k are the rows for n = k.
        seed: Another seed gives another sample of the same task and split.

    Returns:
        Rows as plain dicts, e.g. fpb {"sentence": str, "label": int}; the same in every process.

    Raises:
        ConfigError: for a task without sample rows (listing those with some).
        ValueError: for an unknown split or n < 0.
    """
    _check_task(task)
    if split not in SPLITS:
        raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
    if n < 0:
        raise ValueError(f"n must be zero or more, got {n}")
    make = _MAKERS[task]
    return [make(Row(task, split, seed, i)) for i in range(n)]


def label_of(task: str, text: str) -> str | None:
    """The label text a sample row's input implies (the rule the data follows); None for free-text tasks.

    Args:
        task: One of SAMPLE_TASKS.
        text: A row's input column (fpb: sentence, twitter tasks and fiqa_sa: text, others: input).

    Returns:
        The label whose cue phrases (whole words, any case) occur in the text; None when no label's
        or several labels' cues occur, and always for numeric and generation tasks.

    Raises:
        ConfigError: for a task without sample rows.
    """
    _check_task(task)
    found = [label for label, pattern in _cue_patterns(task).items() if pattern.search(text)]
    return found[0] if len(found) == 1 else None


def check_sample_tasks(tasks: Iterable[str]) -> None:
    """Raise ConfigError for the first task that has no sample rows (data.samples=true cannot run it)."""
    for task in sorted(tasks):
        _check_task(task)


def _check_task(task: str) -> None:
    if task not in SAMPLE_TASKS:
        raise ConfigError(
            f"task '{task}' has no offline sample rows{did_you_mean(task, SAMPLE_TASKS)}: data.samples=true "
            f"covers {', '.join(SAMPLE_TASKS)}; "
            "train and score it on its own source (data.samples=false)"
        )


@cache
def _cue_patterns(task: str) -> dict[str, re.Pattern[str]]:
    # whole words only, so that the cue "gains" is not found inside "against"
    return {
        label: re.compile("|".join(rf"(?<!\w){re.escape(cue)}(?!\w)" for cue in cues), re.IGNORECASE)
        for label, cues in txt.CUES.get(task, {}).items()
    }


def _headline(r: Row) -> dict[str, Any]:
    label = r.label()
    subject, tail = r.pick(txt.HEADLINE_SUBJECTS), r.rng.choice(txt.HEADLINE_TAILS)
    headline = r.text(txt.HEADLINE_TEMPLATES, subj=subject, cue=r.cue(label), tail=tail)
    return {"instruction": r.rng.choice(txt.HEADLINE_PROMPTS), "input": headline, "output": label}


def _fpb(r: Row) -> dict[str, Any]:
    label = r.label()
    return {"sentence": r.text(txt.FPB_TEMPLATES, cue=r.cue(label)), "label": r.label_id(label)}


def _fin_ner_cls(r: Row) -> dict[str, Any]:
    label = r.label()
    name = r.pick(txt.CUES["fin_ner_cls"][label])
    prompt = r.rng.choice(txt.NER_PROMPTS).format(name=name)
    return {"instruction": prompt, "input": r.text(txt.NER_TEMPLATES[label], name=name), "output": label}


def _tweet(templates: tuple[str, ...]) -> Callable[[Row], dict[str, Any]]:
    def make(r: Row) -> dict[str, Any]:
        label = r.label()
        text = r.text(templates, cue=r.cue(label), tail=r.rng.choice(txt.TWEET_TAILS))
        return {"text": text, "label": r.label_id(label)}

    return make


def _fiqa_sa(r: Row) -> dict[str, Any]:
    label = r.label()
    text = r.text(txt.FIQA_TEMPLATES, cue=r.cue(label), tail=r.rng.choice(txt.FIQA_TAILS))
    choices = list(txt.LABELS["fiqa_sa"])
    query = f"{txt.FIQA_PROMPT}\nText: {text}\nAnswer:"
    return {
        "id": r.id,
        "query": query,
        "answer": label,
        "text": text,
        "choices": choices,
        "gold": r.label_id(label),
    }


def _pct(a: int, b: int) -> str:
    # a is never 0 and b is at least 5% away from it, so the rounding never yields "-0.0"
    return f"{(b - a) / a * 100:.1f}"


def _report(r: Row) -> tuple[str, str, int, int, int]:
    """A report excerpt: text around a two-year table, plus one row's metric, first year and values."""
    company, _ = r.pick(txt.COMPANIES)
    year = r.rng.randint(2009, 2022)
    rows = []
    for metric in r.rng.sample(txt.METRICS, 3):
        a = r.rng.randint(150, 9000)
        rows.append((metric, a, a + r.rng.choice((-1, 1)) * round(a * r.rng.uniform(0.05, 0.4))))
    table = "\n".join([f"( in millions ) | {year} | {year + 1}", *(f"{m} | {a} | {b}" for m, a, b in rows)])
    staff = r.rng.randrange(800, 60000)  # a distractor number
    context = (
        f"{company} reported the following results, in millions of dollars.\n{table}\n"
        f"At the end of {year + 1} the company had {staff} employees."
    )
    metric, a, b = r.rng.choice(rows)
    return context, metric, year, a, b


_FINQA_QUESTIONS: tuple[tuple[str, Callable[[int, int], str]], ...] = (
    ("what was the change in {m} from {y1} to {y2}?", lambda a, b: str(b - a)),
    ("what was the percentage change in {m} from {y1} to {y2}?", _pct),
    ("what was the total {m} in {y1} and {y2} combined?", lambda a, b: str(a + b)),
)


def _finqa(r: Row) -> dict[str, Any]:
    context, metric, year, a, b = _report(r)
    question, answer = r.rng.choice(_FINQA_QUESTIONS)
    text = f"{context}\nQuestion: {question.format(m=metric, y1=year, y2=year + 1)}"
    query = f"{txt.FINQA_PROMPT}\nContext: {text}\nAnswer:"
    return {"id": r.id, "query": query, "answer": answer(a, b), "text": text}


def _convfinqa(r: Row) -> dict[str, Any]:
    context, m, y1, a, b = _report(r)
    y2, change, pct = y1 + 1, str(b - a), _pct(a, b)
    # the turns of one conversation; the last question is the one to answer
    turns = r.rng.choice(
        (
            [(f"what was the change in {m} from {y1} to {y2}?", change)],
            [
                (f"what was the {m} in {y2}?", str(b)),
                (f"and in {y1}?", str(a)),
                ("what was the change?", change),
            ],
            [
                (f"what was the change in {m} from {y1} to {y2}?", change),
                ("what percentage change is that?", pct),
            ],
            [
                (f"what was the {m} in {y1}?", str(a)),
                (f"and in {y2}?", str(b)),
                ("and the percentage change?", pct),
            ],
        )
    )
    history = "".join(f"\nQuestion: {q}\nAnswer: {ans}" for q, ans in turns[:-1])
    question, answer = turns[-1]
    text = f"{context}{history}\nQuestion: {question}\nAnswer:"
    return {"instruction": r.rng.choice(txt.CONVFINQA_PROMPTS), "input": text, "output": answer}


# question, reasoning, expression and its value, over a, b, c = a * b, price (a multiple of 20), p and q = 100 - p
_MATH: tuple[tuple[str, str, str, Callable[[dict[str, int]], int]], ...] = (
    ("{name} has {a} {item} and gets {b} more. How many {item} does {name} have now?",
     "{name} starts with {a} {item} and gets {b} more, so we add.", "{a} + {b}", lambda v: v["a"] + v["b"]),
    ("{name} had {a} {item} and gave away {b}. How many {item} are left?",
     "Giving away {b} of the {a} {item} leaves their difference.", "{a} - {b}", lambda v: v["a"] - v["b"]),
    ("{name} fills {a} bags with {b} {item} each. How many {item} are there in all?",
     "There are {a} bags of {b} {item}, so we multiply.", "{a} * {b}", lambda v: v["c"]),
    ("{name} shares {c} {item} equally among {b} friends. How many {item} does each friend get?",
     "Each friend gets an equal part of the {c} {item}, so we divide by {b}.", "{c} / {b}", lambda v: v["a"]),
    ("A {good} costs ${price} and {name} gets {p}% off. How many dollars does {name} pay?",
     "With {p}% off, {name} pays {q}% of ${price}.", "{price} * (100 - {p}) / 100", lambda v: v["price"] * v["q"] // 100),
)  # fmt: skip


def _orca_math(r: Row) -> dict[str, Any]:
    a, b, p = r.rng.randint(12, 95), r.rng.randint(2, 11), 5 * r.rng.randint(1, 12)
    values = {"a": a, "b": b, "c": a * b, "price": 20 * r.rng.randint(2, 30), "p": p, "q": 100 - p}
    words = {
        "name": r.pick(txt.FIRST_NAMES),
        "item": r.rng.choice(txt.ITEMS),
        "good": r.rng.choice(txt.GOODS),
    }
    question, reasoning, expression, value = r.rng.choice(_MATH)
    result = value(values)
    fill = values | words
    answer = f"{reasoning.format(**fill)}\n{expression.format(**fill)} = {result}\nFinal answer: {result}"
    return {"question": question.format(**fill), "answer": answer}


def _open_orca(r: Row) -> dict[str, Any]:
    words = r.rng.sample(split_pool(txt.WORDS, r.split), 4)
    pair, item = f'"{words[0]}" and "{words[1]}"', r.rng.choice(txt.ITEMS)
    (n1, a), (n2, b) = zip(
        r.rng.sample(split_pool(txt.FIRST_NAMES, r.split), 2), r.rng.sample(range(3, 60), 2), strict=True
    )
    more, diff = (n1 if a > b else n2), abs(a - b)
    spelled = " and ".join(f"{w} has {len(w)}" for w in words[:2])
    question, response = r.rng.choice(
        (
            (f"Put these words in alphabetical order: {', '.join(words)}.", f"{', '.join(sorted(words))}."),
            (
                f"How many letters do the words {pair} have together?",
                f"{spelled}: {len(words[0] + words[1])} letters.",
            ),
            (f"Write these words in capital letters: {', '.join(words[:3])}.", ", ".join(words[:3]).upper()),
            (
                f"{n1} has {a} {item} and {n2} has {b}. Who has more {item}?",
                f"{more} has {diff} more {item}.",
            ),
        )
    )
    system_prompt = r.rng.choice(txt.ORCA_SYSTEM_PROMPTS)
    prefix = r.rng.choice(txt.ORCA_ID_PREFIXES)
    return {
        "id": f"{prefix}.{r.index}",
        "system_prompt": system_prompt,
        "question": question,
        "response": response,
    }


_MAKERS: dict[str, Callable[[Row], dict[str, Any]]] = {
    "headline": _headline,
    "fpb": _fpb,
    "fin_ner_cls": _fin_ner_cls,
    "convfinqa": _convfinqa,
    "finqa": _finqa,
    "twitter_topics": _tweet(txt.TOPIC_TEMPLATES),
    "twitter_sa": _tweet(txt.TWITTER_SA_TEMPLATES),
    "open_orca": _open_orca,
    "orca_math": _orca_math,
    "fiqa_sa": _fiqa_sa,
}
