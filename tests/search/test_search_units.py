"""The search's pieces without training: the space, the surrogate, its plans and its bad input."""

from __future__ import annotations

import random

import pytest

from mixft.runner.config.load import load_config
from mixft.runner.errors import ConfigError
from mixft.runner.plan.candidates import Mixture, plan_mixtures, run_of
from mixft.runner.plan.search_spec import SearchConstraints, SearchSettings
from mixft.runner.plan.sweepfile import load_sweep
from mixft.runner.search.loop import Search, settings_of
from mixft.runner.search.space import Space
from mixft.runner.search.surrogate import predict_best
from tests.unit.helpers import assert_usage_error, invoke

SOURCES = ["fpb", "headline", "twitter_sa"]
BASE = ["model=tiny", "training=smoke", "eval=smoke", "data.samples=true"]


def fixed(params: dict[str, object]) -> object:
    """An Optuna trial that answers each suggestion from `params`."""
    import optuna

    return optuna.trial.FixedTrial(params)


def space(**settings: object) -> Space:
    return Space(SOURCES, SearchSettings(**settings))  # type: ignore[arg-type]


def test_subsets_follow_the_trial_and_keep_the_always_sources():
    s = space(space="subsets", constraints=SearchConstraints(always=["fpb"]))
    trial = fixed({"use_headline": False, "use_twitter_sa": True})
    assert s.propose(trial) == Mixture(("fpb", "twitter_sa"))
    assert len(s.pool()) == 4 and all("fpb" in m.tasks for m in s.pool())  # 2 free sources: 4 subsets
    assert space(space="subsets").size() == 7


def test_shares_are_rounded_constrained_and_sum_to_one():
    s = space(space="both", share_step=0.1, constraints=SearchConstraints(min_share=0.2, max_share=0.6))
    mix = s.shares({"fpb": 0.7, "headline": 0.25, "twitter_sa": 0.05})
    assert mix is not None and mix.tasks == ("fpb", "headline")  # twitter_sa under min_share drops out
    assert mix.shares == pytest.approx((0.6, 0.4))  # fpb clipped to max_share
    assert all(round(v / 0.1, 6).is_integer() for v in mix.shares)
    every = space(space="shares", share_step=0.25).shares({"fpb": 1.0, "headline": 0.0, "twitter_sa": 0.0})
    assert every is not None and every.tasks == tuple(SOURCES)  # space shares: every source stays in


def test_a_dirichlet_proposal_is_a_valid_mixture():
    s = space(space="both", share_step=0.05)
    for seed in range(20):
        rng = random.Random(seed)
        trial = fixed({f"u_{src}": rng.uniform(0.01, 0.99) for src in SOURCES})
        mix = s.propose(trial)
        assert mix is not None and 1 <= len(mix.tasks) <= 3
        assert not mix.shares or sum(mix.shares) == pytest.approx(1)


def test_the_surrogate_finds_the_best_of_an_additive_objective():
    s = space(space="subsets")
    value = {"fpb": 0.3, "headline": -0.2, "twitter_sa": 0.1}  # the best subset is fpb + twitter_sa

    def truth(mix: Mixture) -> float:
        return sum(value[t] * mix.share_of(t) for t in mix.tasks)

    observed = {m: truth(m) for m in s.pool() if m != Mixture(("fpb", "twitter_sa"))}
    best = predict_best(s, observed)
    assert best is not None and best.mixture == Mixture(("fpb",))  # fpb alone is best by shares
    assert best.low <= best.mean <= best.high and set(best.loo_rmse) == {"linear", "gp"}
    few = predict_best(s, {Mixture(("fpb",)): 0.1, Mixture(("headline",)): 0.3})
    assert few is not None and few.model == "observed" and few.mixture == Mixture(("headline",))


def test_candidates_plan_with_their_baselines_and_rebuild_from_their_overrides():
    mix = Mixture(("fpb", "headline"), (0.75, 0.25))
    plan = plan_mixtures("s", BASE, [mix], [0, 1], baselines=["twitter_sa"])
    roles = sorted(
        (r.role, tuple(r.config.mixture.tasks), r.config.seed) for r in plan.runs if r.role != "base"
    )
    assert roles == [
        ("baseline", ("fpb",), 0),
        ("baseline", ("fpb",), 1),
        ("baseline", ("headline",), 0),
        ("baseline", ("headline",), 1),
        ("baseline", ("twitter_sa",), 0),
        ("baseline", ("twitter_sa",), 1),
        ("mixture", ("fpb", "headline"), 0),
        ("mixture", ("fpb", "headline"), 1),
    ]
    run = run_of(plan, mix, 1)
    assert run.config.mixture.shares == {"fpb": 0.75, "headline": 0.25}
    rebuilt = load_config(run.overrides)
    assert rebuilt.mixture.shares == {"fpb": 0.75, "headline": 0.25} and rebuilt.seed == 1
    with pytest.raises(KeyError):
        run_of(plan, Mixture(("fpb", "headline")), 0)  # equal parts: another run


def test_a_search_sets_its_targets_as_every_candidates_eval_tasks():
    spec = load_sweep("search_smoke")
    search = Search(spec, [], settings_of(spec, None, None))
    assert "eval.tasks=[fpb,headline,twitter_sa]" in search.base
    assert (search.state.seed, search.confirm_seed) == (0, 1)


@pytest.mark.parametrize(
    ("section", "fragment"),
    [
        ({"targets": ["nope"]}, "search.targets: ['nope'] not among the candidate sources"),
        ({"space": "grid"}, "search.space: one of subsets, shares, both"),
        ({"objective": "fiqa_sa"}, "search.objective: mean_delta or a target task"),
        ({"budget": 0}, "search.budget and search.batch must be at least 1"),
        ({"constraints": {"min_share": 0.7, "max_share": 0.6}}, "need 0 <= min_share < max_share <= 1"),
    ],
)
def test_a_bad_search_section_is_one_line(tmp_path, section, fragment):
    import yaml

    spec = {"name": "bad", "base": BASE, "mixtures": {"tasks": SOURCES}, "search": section}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(spec))
    assert_usage_error(invoke("search", str(path)), fragment)


def test_sweep_and_search_refuse_each_others_files():
    assert_usage_error(invoke("plan", "search_smoke"), "is a search", "mixft search search_smoke")
    assert_usage_error(invoke("search", "smoke"), "has no `search:` section", "mixft sweep smoke")
    with pytest.raises(ConfigError, match="no grid axes"):
        spec = load_sweep("search_smoke")
        spec.grid = {"model": "tiny"}
        Search(spec, [], settings_of(spec, None, None))


@pytest.mark.parametrize("sampler", ["tpe", "random", "gp"])
def test_every_sampler_proposes_valid_mixtures_and_learns_from_told_values(sampler):
    import optuna

    from mixft.runner.search.loop import _sampler

    settings = SearchSettings(space="both", share_step=0.25, sampler=sampler, sampler_seed=1)
    study = optuna.create_study(direction="maximize", sampler=_sampler(settings))
    s = Space(SOURCES, settings)
    for _ in range(6):
        trial = study.ask()
        mix = s.propose(trial)
        assert mix is not None and set(mix.tasks) <= set(SOURCES)
        study.tell(trial, mix.share_of("fpb"))  # a toy objective: more fpb is better
    assert len(study.trials) == 6 and study.best_value > 0
