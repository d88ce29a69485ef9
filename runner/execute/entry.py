"""The entry point every executor calls: run one planned run, by id, to completion.

run: python -m mixft.runner.execute.entry RUN_ID [--sweep NAME]    (the run dir must hold its overrides.yaml)

It rebuilds the config from the run's overrides, checks that it still has the planned id, then:
data -> train (resuming from the last checkpoint) -> evaluate -> metrics.json -> tracker -> done.
A failure marks the run failed with its error tail; SIGTERM or Ctrl-C marks it interrupted.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mixft.runner.config.load import load_config
from mixft.runner.config.run import eval_tasks, resolve, role_of
from mixft.runner.config.schema import Config
from mixft.runner.errors import ConfigError
from mixft.runner.paths import run_dir
from mixft.runner.store import rundir
from mixft.runner.store.claims import claim_summary, try_claim
from mixft.runner.store.identity import run_id
from mixft.runner.store.status import read_status, set_state

log = logging.getLogger(__name__)
EXIT_CLAIMED = 3


@dataclass
class Outcome:
    id: str
    run_dir: Path
    state: str
    metrics: dict[str, float]


def prepare(overrides: list[str], sweep: str | None = None) -> tuple[str, Config]:
    """Resolve a run from its overrides and write its run files (pending if new); return id and config."""
    cfg = resolve(load_config(overrides))
    rid = run_id(cfg)
    rundir.write_run_files(run_dir(rid), cfg, overrides, rid, role_of(cfg), sweep)
    return rid, cfg


def _load(rid: str) -> Config:
    cfg = resolve(load_config(rundir.read_overrides(run_dir(rid))))
    if run_id(cfg) != rid:
        raise ConfigError(
            f"run {rid}: its overrides now resolve to run {run_id(cfg)} (configs changed); re-plan it"
        )
    return cfg


class Claimed(Exception):
    """Another live process holds the run's claim (a second sweep, an orphaned worker)."""


class Interrupted(BaseException):
    """SIGTERM (preemption, scancel, a second Ctrl-C upstream): stop and mark the run interrupted."""


def _raise_interrupted(signum: int, frame: Any) -> None:
    raise Interrupted(f"signal {signum}")


def _work(cfg: Config, folder: Path, tracker: Any) -> dict[str, float]:
    """Data, training and evaluation of one run; `time/*` metrics give each stage's seconds."""
    from mixft.runner.data.build import build_training_set
    from mixft.runner.data.tokenizer import load_tokenizer
    from mixft.runner.evaluate.evaluator import eval_examples, evaluate_run
    from mixft.runner.train.models import load_model

    clock = time.perf_counter()
    # loaded before training: an eval source that cannot load fails the run before it trains
    examples = {task: eval_examples(cfg, task) for task in eval_tasks(cfg)}
    tokenizer = load_tokenizer(cfg.model)
    metrics: dict[str, float] = {}
    if role_of(cfg) == "base":
        model = load_model(cfg.model)
    else:
        from mixft.runner.train.trainer import train

        built = build_training_set(cfg, tokenizer)
        rundir.write_manifest(folder, built.manifest)
        metrics["time/data_s"] = time.perf_counter() - clock
        trained = train(cfg, built.rows, tokenizer, folder, tracker.report_to)
        model = trained.model
        metrics |= {**trained.metrics, "train/resumed_from_step": float(trained.resumed_from_step)}
        metrics["time/train_s"] = time.perf_counter() - clock - metrics["time/data_s"]
    start_eval = time.perf_counter()
    metrics |= evaluate_run(cfg, model, tokenizer, folder, examples)
    metrics["time/eval_s"] = time.perf_counter() - start_eval
    return metrics


def is_main_process() -> bool:
    """False in the extra processes `accelerate launch` starts for a multi-GPU run (RANK > 0)."""
    return int(os.environ.get("RANK", "0")) == 0


def _train_only(cfg: Config, folder: Path) -> None:
    """A non-main process of a multi-GPU run: take part in training; status, eval and W&B are rank 0's."""
    from mixft.runner.data.build import build_training_set
    from mixft.runner.data.tokenizer import load_tokenizer
    from mixft.runner.train.trainer import train

    tokenizer = load_tokenizer(cfg.model)
    if role_of(cfg) != "base":
        train(cfg, build_training_set(cfg, tokenizer).rows, tokenizer, folder, "none")


def execute(rid: str, sweep: str | None = None) -> Outcome:
    """Run a prepared run to completion (a done run is returned as it is).

    Raises:
        ConfigError: when the run dir is missing or its config no longer resolves to `rid`.
        Claimed: when another live process is running it.
    """
    folder = run_dir(rid)
    cfg = _load(rid)
    if not is_main_process():
        _train_only(cfg, folder)
        return Outcome(rid, folder, "worker", {})
    claim = try_claim(folder)
    if claim is None:
        raise Claimed(f"run {rid} is being run by {claim_summary(folder)}")
    claim.keep_alive()
    try:
        return _execute_claimed(cfg, rid, folder, sweep)
    finally:
        claim.release()


def _execute_claimed(cfg: Config, rid: str, folder: Path, sweep: str | None) -> Outcome:
    from mixft.runner.tracking.tracker import make_tracker

    state = read_status(folder)["state"]
    if state == "done":
        return Outcome(rid, folder, "done", rundir.read_metrics(folder))
    if state == "running":  # we hold the claim, so its last holder died without a word (SIGKILL)
        set_state(folder, "interrupted", "the previous attempt ended without recording its state")
    previous = signal.signal(signal.SIGTERM, _raise_interrupted)  # before the run counts as running
    set_state(folder, "running")
    tracker = make_tracker(cfg, rid, folder, role_of(cfg), sweep)
    ok = False
    try:
        tracker.start()
        metrics = _work(cfg, folder, tracker)
        rundir.write_metrics(folder, metrics)
        tracker.log_summary(metrics)
        set_state(folder, "done")
        ok = True
        return Outcome(rid, folder, "done", metrics)
    except (KeyboardInterrupt, Interrupted) as exc:
        set_state(folder, "interrupted", f"{type(exc).__name__}: {exc}")
        raise
    except BaseException:
        set_state(folder, "failed", traceback.format_exc())
        raise
    finally:
        tracker.finish(ok)
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    """`python -m mixft.runner.execute.entry RUN_ID`: exit 0 done, 1 failed, 2 bad input, 3 claimed,
    130 interrupted."""
    parser = argparse.ArgumentParser(description="Run one planned mixft run by id.")
    parser.add_argument("run_id")
    parser.add_argument("--sweep", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        execute(args.run_id, args.sweep)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Claimed as exc:
        print(f"skipped: {exc}", file=sys.stderr)
        return EXIT_CLAIMED
    except (KeyboardInterrupt, Interrupted):
        return 130
    except Exception:
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
