"""Hypothesis strategies for mixft's inputs: override strings, their keys and values.

Keys come from the real schema (so that many examples get past the key check and reach the values),
mixed with near misses and junk; values cover every shape Hydra's grammar knows, plus text it does not.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from functools import cache

from hypothesis import strategies as st

from mixft.runner.config.catalog import group_options
from mixft.runner.config.schema import GROUPS, Config, TaskConfig

TASKS = group_options("task")
TRAINABLE = tuple(t for t in TASKS if t != "fiqa_sa")
CHOICE_GROUPS = tuple(g for g in GROUPS if g != "task")


def _dotted(cls: type, prefix: str) -> list[str]:
    """Every dotted field path under a dataclass (sections and leaves)."""
    out = []
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        out.append(key)
        hint = typing.get_type_hints(cls)[f.name]
        args = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
        if dataclasses.is_dataclass(args[0]):
            out += _dotted(args[0], f"{key}.")
    return out


@cache
def schema_keys() -> tuple[str, ...]:
    """Real override keys: every field of every section, task fields and free-dict entries."""
    keys = [k for k in _dotted(Config, "") if not k.startswith("task")]
    keys += [f"task.{t}.{k}" for t in ("fpb", "finqa", "open_orca") for k in _dotted(TaskConfig, "")]
    keys += [f"mixture.{d}.{t}" for d in ("caps", "shares") for t in ("fpb", "headline", "nope")]
    keys += ["regularizer.sources.open_orca", "training.sft_kwargs.neftune_noise_alpha", "task", "task.fpb"]
    return tuple(keys)


def one_in(draw: st.DrawFn, n: int) -> bool:
    """True about once in `n` draws; False when Hypothesis tries its all-minimal choices, so that
    those give the plain, valid-looking input."""
    return draw(st.integers(1, n)) == n


identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
# text with the characters Hydra's grammar treats specially, plus any unicode
junk_text = st.text(
    alphabet=st.one_of(st.sampled_from(list("=,[]{}()'\"\\$:@/~+*?. -_%#|\t\n")), st.characters()),
    max_size=16,
)

keys = st.one_of(
    st.sampled_from(schema_keys()),
    st.sampled_from(CHOICE_GROUPS),
    # a real key with a near miss, a made-up section or an index
    st.builds(
        lambda k, s: k + s, st.sampled_from(schema_keys()), st.sampled_from(["x", ".x", ".0", "s", "_"])
    ),
    st.lists(identifiers, min_size=1, max_size=4).map(".".join),
    st.builds(lambda g, p: f"{g}@{p}", st.sampled_from(CHOICE_GROUPS), identifiers),
    junk_text,
)

numbers = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["1e999", "-0", "0x10", "1_000", "+1", ".5", "5.", "1e-320", "4294967296", "2**32"]),
)
scalars = st.one_of(
    numbers,
    st.sampled_from(["true", "false", "null", "None", "~", "''", '""', "[]", "{}", "inf", "-inf", "nan"]),
    st.sampled_from(TASKS + tuple(o for g in CHOICE_GROUPS for o in group_options(g))),
    identifiers,
    st.builds(lambda q, t: q + t.replace(q, "") + q, st.sampled_from(["'", '"']), junk_text),
    junk_text,
)
lists = st.lists(scalars, max_size=4).map(lambda xs: "[" + ",".join(xs) + "]")
dicts = st.dictionaries(identifiers, scalars, max_size=3).map(
    lambda d: "{" + ",".join(f"{k}:{v}" for k, v in d.items()) + "}"
)
interpolations = st.one_of(
    st.sampled_from(["${seed}", "${model.name}", "${oc.env:HOME}", "${now:%H%M%S}", "${nope}", "${", "$"]),
    st.builds(lambda k: "${" + k + "}", st.sampled_from(schema_keys())),
)
sweeps = st.one_of(
    st.lists(scalars, min_size=2, max_size=3).map(",".join),
    st.builds(
        lambda f, a, b, c: f"{f}({a},{b},{c})",
        st.sampled_from(["range", "choice", "interval", "shuffle", "sort"]),
        numbers,
        numbers,
        numbers,
    ),
    st.sampled_from(["glob(*)", "glob(phi*)", "glob(zzz)", "range(3)", "range(0,1000000000)", "tag(a,b)"]),
)
values = st.one_of(scalars, lists, dicts, interpolations, sweeps)


@st.composite
def wild_overrides(draw: st.DrawFn) -> str:
    """One override string of any shape: [+|++|~]KEY[=VALUE], or plain junk text."""
    if one_in(draw, 10):
        return draw(junk_text)
    prefix = draw(st.sampled_from(["", "", "", "+", "++", "~"]))
    key = draw(keys)
    if prefix == "~" and draw(st.booleans()):
        return prefix + key
    return f"{prefix}{key}={draw(values)}"


@cache
def leaf_types() -> dict[str, object]:
    """Override key -> its type in the schema, for the keys that hold values."""
    out: dict[str, object] = {}

    def walk(cls: type, prefix: str) -> None:
        for f in dataclasses.fields(cls):
            hint = typing.get_type_hints(cls)[f.name]
            args = [a for a in typing.get_args(hint) if a is not type(None)]
            inner = args[0] if typing.get_origin(hint) in (typing.Union, types.UnionType) else hint
            if dataclasses.is_dataclass(inner):
                walk(inner, f"{prefix}{f.name}.")
            elif f.name != "task":
                out[f"{prefix}{f.name}"] = hint

    walk(Config, "")
    walk(TaskConfig, "task.fpb.")
    return out


small_ints = st.one_of(st.integers(-3, 300), st.integers(-(2**40), 2**66)).map(str)
small_floats = st.one_of(
    st.floats(-2, 2, allow_nan=False).map(lambda x: f"{x:.3g}"),
    st.sampled_from(["0", "1", "0.5", "1e-5", "-1", "inf", "nan", "1e308"]),
)
bools = st.sampled_from(["true", "false", "True", "yes", "1", "0", "null"])
task_names = st.sampled_from((*TASKS, "nope", "FPB"))
task_lists = st.lists(task_names, max_size=4).map(lambda ts: "[" + ",".join(ts) + "]")
text_values = st.one_of(
    st.sampled_from(["tiny", "sdpa", "auto", "bf16", "lora", "full", "cosine", "examples", "tokens"]),
    identifiers,
    st.builds(lambda t: "'" + t.replace("'", "") + "'", junk_text),
)


def _value_for(hint: object) -> st.SearchStrategy[str]:
    """Mostly values of the key's own type, sometimes another type's, sometimes null."""
    origin, args = typing.get_origin(hint), [a for a in typing.get_args(hint) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        return st.one_of(_value_for(args[0]), st.just("null"))
    if hint is int:
        own = small_ints
    elif hint is float:
        own = small_floats
    elif hint is bool:
        own = bools
    elif hint is str:
        own = text_values
    elif origin is list:
        own = task_lists
    elif origin is dict:
        own = st.dictionaries(task_names, st.one_of(small_floats, small_ints), max_size=3).map(
            lambda d: "{" + ",".join(f"{k}:{v}" for k, v in d.items()) + "}"
        )
    else:
        own = scalars
    return st.one_of(own, own, own, scalars, lists)


@st.composite
def typed_overrides(draw: st.DrawFn) -> str:
    """KEY=VALUE with a real key and (mostly) a value of its type, or +DICT.ENTRY=VALUE."""
    types_ = leaf_types()
    if one_in(draw, 5):
        section = draw(st.sampled_from(["mixture.caps", "mixture.shares", "regularizer.sources"]))
        return f"+{section}.{draw(task_names)}={draw(st.one_of(small_floats, small_ints))}"
    if one_in(draw, 5):
        group = draw(st.sampled_from(CHOICE_GROUPS))
        return f"{group}={draw(st.sampled_from(group_options(group)))}"
    key = draw(st.sampled_from(sorted(types_)))
    return f"{key}={draw(_value_for(types_[key]))}"


@st.composite
def overrides(draw: st.DrawFn) -> str:
    """Three typed overrides for every wild one: most examples get past the key checks."""
    return draw(wild_overrides() if one_in(draw, 4) else typed_overrides())


override_lists = st.lists(overrides(), max_size=3)
