"""Search against a known answer: where `mixft search`'s pick ranks in the full grid it searches.

run: make bench    (or: python tests/bench/search_known_answer.py)

The truth: every subset of 4 tasks (15 mixtures) trained on the tiny model with the sample suite,
scored on the search's objective (mean delta against each task's single-task baseline, accuracy).
Then `mixft search` over the same 4 sources (space subsets, budget 8 candidate trainings, 2 a round)
with 3 sampler seeds, in the same store: its candidates are the grid's runs (same identities), so
they cost no training and the search sees exactly the scores the truth holds. Printed per seed: the
predicted best, its rank among the 15 (1 = the true best), its true objective against the best's,
and how many of the 15 the search scored. Baseline: random choice ranks 8 on average. Target: the
mean rank over the 3 seeds is better (lower) than random's 8.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

TASKS = ["fpb", "headline", "twitter_sa", "twitter_topics"]
BASE = ["model=tiny", "training=smoke", "eval=smoke", "data.samples=true", f"eval.tasks=[{','.join(TASKS)}]"]
SEEDS = (0, 1, 2)
RANDOM_MEAN_RANK = 8.0


def mixft(home: Path, *args: str) -> str:
    env = {**os.environ, "MIXFT_HOME": str(home), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    env["WANDB_MODE"] = "offline"
    done = subprocess.run(
        [sys.executable, "-m", "mixft.cli.main", *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"mixft {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def truth(home: Path, grid: Path) -> dict[tuple[str, ...], float]:
    """The objective of every subset, from the grid's runs (the search's own scoring code)."""
    os.environ["MIXFT_HOME"] = str(home)
    from mixft.runner.plan.candidates import Mixture, plan_mixtures, run_of
    from mixft.runner.plan.search_spec import SearchSettings
    from mixft.runner.search.objective import objective, target_scores
    from mixft.runner.search.space import Space

    settings = SearchSettings(space="subsets")
    mixtures = Space(TASKS, settings).pool()
    plan = plan_mixtures("truth", BASE, mixtures, [0], TASKS)
    baselines = {t: target_scores(run_of(plan, Mixture((t,)), 0).id, TASKS, "accuracy")[t] for t in TASKS}
    out = {}
    for mix in mixtures:
        scores = target_scores(run_of(plan, mix, 0).id, TASKS, "accuracy")
        assert scores is not None, f"{mix.label()} is not done in the grid"
        out[mix.tasks] = objective(scores, baselines, settings)
    return out


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="mixft-bench-"))
    grid = home / "grid.yaml"
    spec = {
        "name": "truth",
        "base": BASE,
        "mixtures": {"tasks": TASKS, "generators": ["singles", "pairs", "leave_one_out", "all"]},
        "seeds": [0],
    }
    grid.write_text(yaml.safe_dump(spec))
    mixft(home, "sweep", str(grid))
    values = truth(home, grid)
    ranked = sorted(values, key=lambda tasks: -values[tasks])
    best = values[ranked[0]]
    print(
        f"truth: {len(values)} subsets of {', '.join(TASKS)}; best {' + '.join(ranked[0])} {best:+.4f}, worst {values[ranked[-1]]:+.4f}"
    )
    ranks = []
    for seed in SEEDS:
        search = home / f"search{seed}.yaml"
        spec = {
            "name": f"known{seed}",
            "base": BASE,
            "mixtures": {"tasks": TASKS},
            "seeds": [0],
            "search": {"space": "subsets", "budget": 8, "batch": 2, "sampler": "tpe", "sampler_seed": seed},
        }
        search.write_text(yaml.safe_dump(spec))
        mixft(home, "search", str(search), "--no-confirm")
        summary = json.loads((home / "searches" / f"known{seed}" / "search.json").read_text())
        pick = tuple(summary["predictions"][-1]["tasks"])
        rank = ranked.index(pick) + 1
        ranks.append(rank)
        scored = len(summary["candidates"]) + len(summary["baselines"])
        print(
            f"seed {seed}: pick {' + '.join(pick)} rank {rank} of {len(values)}; true objective "
            f"{values[pick]:+.4f} (best {best:+.4f}); {scored} of {len(values)} subsets scored "
            f"({summary['predictions'][-1]['model']})"
        )
    mean = statistics.fmean(ranks)
    print(
        f"mean rank {mean:.2f} against random choice's {RANDOM_MEAN_RANK:.1f}: {mean / RANDOM_MEAN_RANK:.2f}x"
    )
    sys.exit(0 if mean < RANDOM_MEAN_RANK else 1)


if __name__ == "__main__":
    main()
