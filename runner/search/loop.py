"""`mixft search`: rounds of candidate mixtures through the sweep machinery, Optuna proposing each
round from the scores of the last, then the predicted best and a confirmation run of it.

run: mixft search search_smoke --budget 6 --batch 2

Each round is a sweep of the search's name: the candidates at the search seed (the first of `seeds:`),
the single-task baselines of every target, the base model. The store decides what is done, so a
re-run (after a kill, or with a larger budget) replays the rounds: Optuna's sampler, seeded, asks for
the same candidates given the same scores, and every done run is read, not trained. A candidate
already run (a baseline, a proposal met before) costs nothing and is told its known score. The
budget counts candidate trainings; baselines and the confirmation are on top.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mixft.runner.errors import ConfigError
from mixft.runner.execute.sweep import run_sweep
from mixft.runner.plan.axes import sweep_axes
from mixft.runner.plan.candidates import Mixture, plan_mixtures
from mixft.runner.plan.grid import Plan
from mixft.runner.plan.search_spec import SearchSettings, check_search
from mixft.runner.plan.sweepfile import SweepSpec
from mixft.runner.search.confirm import Confirmation, confirm
from mixft.runner.search.objective import objective, target_scores
from mixft.runner.search.space import Space
from mixft.runner.search.surrogate import Prediction, predict_best

Report = Callable[[str, str], None]
ATTEMPTS = 50  # asks per wanted candidate before the space counts as exhausted


@dataclass
class Observation:
    mixture: Mixture
    run_id: str
    round: int
    value: float | None
    scores: dict[str, float] = field(default_factory=dict)


@dataclass
class SearchState:
    """Everything a search knows: its settings, rounds, the prediction, and how it ended."""

    name: str
    settings: SearchSettings
    sources: list[str]
    targets: list[str]
    seed: int
    # target -> its baseline's score on it; and the baseline's scores on every target
    baselines: dict[str, float] = field(default_factory=dict)
    baseline_scores: dict[str, dict[str, float]] = field(default_factory=dict)
    baseline_runs: dict[str, str] = field(default_factory=dict)
    observations: list[Observation] = field(default_factory=list)
    predictions: list[Prediction] = field(default_factory=list)
    confirmation: Confirmation | None = None
    stopped: str | None = None  # why it ended before its budget, or None
    interrupted: bool = False
    unfinished: list[tuple[str, str]] = field(default_factory=list)

    def observed(self) -> dict[Mixture, float]:
        """Objective of every mixture scored, baselines (single tasks) included."""
        out = {Mixture((t,)): v for t, v in self.baseline_values().items()}
        out |= {o.mixture: o.value for o in self.observations if o.value is not None}
        return out

    def baseline_values(self) -> dict[str, float]:
        """The objective of each target's baseline as a candidate of its own (0 on its own target)."""
        if not self.baselines:
            return {}
        return {t: objective(self.baseline_scores[t], self.baselines, self.settings) for t in self.targets}


def settings_of(spec: SweepSpec, budget: int | None, batch: int | None) -> SearchSettings:
    """The sweep file's `search:` section with --budget and --batch applied, checked."""
    if spec.search is None:
        raise ConfigError(
            f"sweep '{spec.name}' has no `search:` section: run it with `mixft sweep {spec.name}`"
        )
    settings = dataclasses.replace(
        spec.search,
        budget=spec.search.budget if budget is None else budget,
        batch=spec.search.batch if batch is None else batch,
    )
    check_search(settings, list(spec.mixtures.tasks) if spec.mixtures else [])
    return settings


def _sampler(settings: SearchSettings) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if settings.sampler == "random":
        return optuna.samplers.RandomSampler(seed=settings.sampler_seed)
    if settings.sampler == "gp":
        return optuna.samplers.GPSampler(seed=settings.sampler_seed)
    return optuna.samplers.TPESampler(seed=settings.sampler_seed)


class Search:
    """One search over a sweep file's sources (module docstring: the rounds)."""

    def __init__(self, spec: SweepSpec, overrides: Sequence[str], settings: SearchSettings) -> None:
        base, axes, seeds = sweep_axes(spec, overrides)
        if axes:
            raise ConfigError(
                f"search '{spec.name}': a search has no grid axes ({', '.join(axes)}); set them in base"
            )
        sources = sorted(spec.mixtures.tasks) if spec.mixtures else []
        targets = sorted(settings.targets or sources)
        self.base = [*base, f"eval.tasks=[{','.join(targets)}]"]
        self.confirm_seed = seeds[1] if len(seeds) > 1 else seeds[0] + 1
        self.state = SearchState(spec.name, settings, sources, targets, seeds[0])
        self.space = Space(sources, settings)
        self.mixtures: list[Mixture] = []  # every candidate planned so far, in order
        first = self.plan().runs[0].config
        self.tracker = dataclasses.asdict(first.tracker)

    def plan(self, extra: Sequence[Mixture] = (), confirm_with: Mixture | None = None) -> Plan:
        """Every round's runs so far plus `extra`, and the confirmation's runs when given."""
        plan = plan_mixtures(
            self.state.name, self.base, [*self.mixtures, *extra], [self.state.seed], self.state.targets
        )
        if confirm_with is None:
            return plan
        check = plan_mixtures(
            self.state.name, self.base, [confirm_with], [self.confirm_seed], self.state.targets
        )
        known = {run.id for run in plan.runs}
        return Plan(plan.sweep, [*plan.runs, *(r for r in check.runs if r.id not in known)])

    def _run(self, plan: Plan, report: Report, tick: Callable[[], None]) -> bool:
        """Run the plan as a sweep; False when it did not finish (interrupted, or runs left over)."""
        outcome = run_sweep(plan, report, tick)
        self.state.interrupted = outcome.interrupted
        self.state.unfinished = [*outcome.unfinished, *outcome.failed]
        return not outcome.interrupted and not outcome.unfinished

    def _score(self, plan: Plan, mixtures: Sequence[Mixture], round_no: int) -> None:
        """Read the baselines (once) and the round's candidates from the store."""
        by_tasks = {
            (tuple(r.config.mixture.tasks), tuple(sorted(r.config.mixture.shares.items()))): r
            for r in plan.runs
            if r.config.seed == self.state.seed and r.role != "base"
        }
        s = self.state
        if not s.baselines:
            for task in s.targets:
                run = by_tasks[((task,), ())]
                scores = target_scores(run.id, s.targets, s.settings.metric)
                if scores is None:
                    raise ConfigError(
                        f"search '{s.name}': the baseline of {task} ({run.id}) has no scores on every target"
                    )
                s.baseline_scores[task], s.baselines[task] = scores, scores[task]
                s.baseline_runs[task] = run.id
        for mix in mixtures:
            run = by_tasks[
                (
                    mix.tasks,
                    tuple(sorted(zip(mix.tasks, mix.shares, strict=True))) if len(mix.tasks) > 1 else (),
                )
            ]
            scores = target_scores(run.id, s.targets, s.settings.metric)
            value = objective(scores, s.baselines, s.settings) if scores else None
            s.observations.append(Observation(mix, run.id, round_no, value, scores or {}))

    def _ask(self, study: Any, wanted: int) -> tuple[list[Mixture], list[tuple[Any, Mixture]]]:
        """Up to `wanted` new candidates, and every trial asked for them (duplicates included)."""
        import optuna

        known = self.state.observed()
        new: list[Mixture] = []
        trials: list[tuple[Any, Mixture]] = []
        for _ in range(ATTEMPTS * wanted):
            if len(new) == wanted:
                break
            trial = study.ask()
            mix = self.space.propose(trial)
            if mix is None:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            elif mix in known:
                study.tell(trial, known[mix])
            else:
                trials.append((trial, mix))
                if mix not in new and mix not in self.mixtures:
                    new.append(mix)
        return new, trials

    def run(
        self, report: Report, tick: Callable[[], None] = lambda: None, confirm_best: bool = True
    ) -> SearchState:
        """Rounds until the budget is spent (or nothing new is proposed), then the confirmation."""
        import optuna

        s = self.state
        study = optuna.create_study(direction="maximize", sampler=_sampler(s.settings))
        if not self._run(self.plan(), report, tick):  # round 0: baselines and the base model
            return s
        self._score(self.plan(), [], 0)
        spent, round_no = 0, 0
        while spent < s.settings.budget:
            new, trials = self._ask(study, min(s.settings.batch, s.settings.budget - spent))
            if not new:
                s.stopped = f"the sampler proposed nothing new in {ATTEMPTS} tries a candidate (is the space exhausted?)"
                break
            round_no += 1
            report("round", f"{round_no}: " + "; ".join(m.label() for m in new))
            plan = self.plan(new)
            if not self._run(plan, report, tick):
                return s
            self.mixtures.extend(new)
            self._score(plan, new, round_no)
            values = s.observed()
            for trial, mix in trials:
                value = values.get(mix)
                study.tell(trial, value) if value is not None else study.tell(
                    trial, state=optuna.trial.TrialState.FAIL
                )
            spent += len(new)
            prediction = predict_best(self.space, s.observed(), s.settings.sampler_seed)
            if prediction is not None:
                s.predictions.append(prediction)
                report(
                    "predicted",
                    f"{prediction.mixture.label()}: {prediction.mean:+.4f} [{prediction.low:+.4f}, {prediction.high:+.4f}] ({prediction.model})",
                )
        if confirm_best and s.predictions:
            best = s.predictions[-1].mixture
            if not self._run(self.plan(confirm_with=best), report, tick):
                return s
            s.confirmation = confirm(
                self.plan(confirm_with=best), best, self.confirm_seed, s.targets, s.settings
            )
        return s


logging.getLogger("optuna").setLevel(logging.WARNING)
