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
from typing import Any

from mixft.runner.errors import ConfigError
from mixft.runner.execute.sweep import run_sweep
from mixft.runner.plan.axes import sweep_axes
from mixft.runner.plan.candidates import Mixture, plan_mixtures, run_of
from mixft.runner.plan.grid import Plan
from mixft.runner.plan.search_spec import SearchSettings, check_search
from mixft.runner.plan.sweepfile import SweepSpec
from mixft.runner.search.confirm import confirm
from mixft.runner.search.halving import rung, tell_early
from mixft.runner.search.objective import examples, objective, objective_variance, target_scores
from mixft.runner.search.space import Space
from mixft.runner.search.state import Observation, SearchState
from mixft.runner.search.surrogate import predict_best

Report = Callable[[str, str], None]
ATTEMPTS = 50  # asks per wanted candidate before the space counts as exhausted


def settings_of(
    spec: SweepSpec, budget: int | None, batch: int | None, halving: bool = False
) -> SearchSettings:
    """The sweep file's `search:` section with --budget, --batch and --halving applied, checked."""
    if spec.search is None:
        raise ConfigError(
            f"sweep '{spec.name}' has no `search:` section: run it with `mixft sweep {spec.name}`"
        )
    settings = dataclasses.replace(
        spec.search,
        budget=spec.search.budget if budget is None else budget,
        batch=spec.search.batch if batch is None else batch,
        halving=spec.search.halving or halving,
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
        self.pruned: set[Mixture] = set()  # candidates halving stopped early
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

    def run_plan(self, plan: Plan, report: Report, tick: Callable[[], None]) -> bool:
        """Run the plan as a sweep; False when it did not finish (interrupted, or runs left over)."""
        outcome = run_sweep(plan, report, tick)
        self.state.interrupted = outcome.interrupted
        self.state.unfinished = [*outcome.unfinished, *outcome.failed]
        return not outcome.interrupted and not outcome.unfinished

    def _score(self, plan: Plan, mixtures: Sequence[Mixture], round_no: int) -> None:
        """Read the baselines (once) and the round's candidates from the store."""
        s = self.state
        if not s.baselines:
            for task in s.targets:
                run = run_of(plan, Mixture((task,)), s.seed)
                scores = target_scores(run.id, s.targets, s.settings.metric)
                if scores is None:
                    raise ConfigError(
                        f"search '{s.name}': the baseline of {task} ({run.id}) has no scores on every target"
                    )
                s.baseline_scores[task], s.baselines[task] = scores, scores[task]
                s.baseline_runs[task] = run.id
                s.baseline_counts[task] = examples(run.id, [task]).get(task, 1)
        for mix in mixtures:
            run = run_of(plan, mix, s.seed)
            scores = target_scores(run.id, s.targets, s.settings.metric)
            value = variance = None
            if scores:
                value = objective(scores, s.baselines, s.settings)
                counts = examples(run.id, s.targets)
                variance = objective_variance(scores, counts, s.baselines, s.baseline_counts, s.settings)
            s.observations.append(Observation(mix, run.id, round_no, value, scores or {}, variance))

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
            elif mix in self.pruned:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
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
        if not self.run_plan(self.plan(), report, tick):  # round 0: baselines and the base model
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
            full = new
            if s.settings.halving:
                result = rung(self, new, round_no, report, tick)
                if result is None:
                    return s
                s.rungs.append(result)
                trials = tell_early(study, trials, result)
                self.pruned |= set(new) - set(result.survivors)
                full = result.survivors
            plan = self.plan(full)
            if not self.run_plan(plan, report, tick):
                return s
            self.mixtures.extend(full)
            self._score(plan, full, round_no)
            values = s.observed()
            for trial, mix in trials:
                value = values.get(mix)
                study.tell(trial, value) if value is not None else study.tell(
                    trial, state=optuna.trial.TrialState.FAIL
                )
            spent += len(new)
            prediction = predict_best(self.space, s.observed(), s.variances(), s.settings.sampler_seed)
            if prediction is not None:
                s.predictions.append(prediction)
                report(
                    "predicted",
                    f"{prediction.mixture.label()}: {prediction.mean:+.4f} [{prediction.low:+.4f}, {prediction.high:+.4f}] ({prediction.model})",
                )
        if confirm_best and s.predictions:
            best = s.predictions[-1].mixture
            if not self.run_plan(self.plan(confirm_with=best), report, tick):
                return s
            s.confirmation = confirm(
                self.plan(confirm_with=best), best, self.confirm_seed, s.targets, s.settings
            )
        return s


logging.getLogger("optuna").setLevel(logging.WARNING)
