"""The entry point every executor calls: run one planned run, by id, to completion.

run: python -m mixft.runner.execute.entry RUN_ID [--sweep NAME]    (the run dir must hold its overrides.yaml)

A run is one evaluation of one training (RUN_ID is `<training>-<evaluation>`). The entry rebuilds the
config from the run's overrides, checks that it still has the planned id, claims the run (and its
training, when that must be trained), then: data -> train (resuming from the last checkpoint; skipped
when the training is done and its weights kept) -> evaluate -> metrics.json -> tracker -> done.
A failure marks the run failed with its error tail; SIGTERM, Ctrl-C or a fault of the machine (a
full disk, host memory: store/faults.py) marks it interrupted, and the process exits EXIT_FAULT.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import signal
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mixft.runner.config.load import load_config
from mixft.runner.config.run import resolve, role_of
from mixft.runner.config.schema import Config
from mixft.runner.errors import ConfigError
from mixft.runner.evaluate.engines import engine_record, resolve_engine
from mixft.runner.execute.launch import die_with_launcher
from mixft.runner.execute.states import cause_of
from mixft.runner.execute.work import Interrupted, needs_training, recorded, train_only, work
from mixft.runner.paths import run_dir, training_dir
from mixft.runner.plan.ids import identify, ids_of
from mixft.runner.store import rundir
from mixft.runner.store.claims import Claim, claim_summary, try_claim
from mixft.runner.store.faults import EXIT_FAULT
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
    """Resolve a run from its overrides and write its folders (pending if new); return id and config."""
    rid, cfg, role, facts = identify(overrides)
    rundir.write_planned(rid, cfg, overrides, role, sweep, facts)
    return rid, cfg


def _load(rid: str) -> Config:
    cfg = resolve(load_config(rundir.read_overrides(run_dir(rid))))
    now = ids_of(cfg).run
    if now != rid:
        raise ConfigError(
            f"run {rid}: its overrides now resolve to run {now} (its configs or data files changed); "
            "plan it again"
        )
    return cfg


class Claimed(Exception):
    """Another live process holds the run's claim, or its training's (a second sweep, an orphan)."""


def _raise_interrupted(signum: int, frame: Any) -> None:
    raise Interrupted(f"signal {signum}")


def is_main_process() -> bool:
    """False in the extra processes a launcher starts for a run on K GPUs or P CPU processes (RANK > 0)."""
    return int(os.environ.get("RANK", "0")) == 0


def execute(rid: str, sweep: str | None = None) -> Outcome:
    """Run a prepared run to completion (a done run is returned as it is).

    Raises:
        ConfigError: when the run dir is missing or its config no longer resolves to `rid`.
        Claimed: when another live process is running it, or training the model it evaluates.
    """
    folder, training = run_dir(rid), training_dir(rid)
    cfg = _load(rid)
    if not is_main_process():
        train_only(cfg, training)
        return Outcome(rid, folder, "worker", {})
    claim = try_claim(folder)
    if claim is None:
        raise Claimed(f"run {rid} is being run by {claim_summary(folder)}")
    claim.keep_alive()
    trainer_claim = None
    try:
        if read_status(folder)["state"] != "done" and needs_training(cfg, training):
            trainer_claim = try_claim(training)
            if trainer_claim is None:
                raise Claimed(f"run {rid}: its training is being run by {claim_summary(training)}")
            trainer_claim.keep_alive()
        return _execute_claimed(cfg, rid, folder, sweep, trainer_claim)
    finally:
        if trainer_claim is not None:
            trainer_claim.release()
        claim.release()


def _execute_claimed(
    cfg: Config, rid: str, folder: Path, sweep: str | None, trainer: Claim | None
) -> Outcome:
    from mixft.runner.tracking.tracker import make_tracker

    state = read_status(folder)["state"]
    if state == "done":
        return Outcome(rid, folder, "done", rundir.read_metrics(folder))
    if state == "running":  # we hold the claim, so its last holder died without a word (SIGKILL)
        set_state(folder, "interrupted", "the previous attempt ended without recording its state")
    previous = signal.signal(signal.SIGTERM, _raise_interrupted)  # before the run counts as running
    set_state(folder, "running")
    tracker = None
    ok = False
    try:
        with recorded(folder):
            # from here on the run holds what it runs on: eval.engine=auto becomes hf or vllm
            cfg = dataclasses.replace(cfg, eval=dataclasses.replace(cfg.eval, engine=resolve_engine(cfg)))
            rundir.write_engine(folder, engine_record(cfg.eval.engine))
            tracker = make_tracker(cfg, rid, folder, role_of(cfg), sweep)
            tracker.start()
            # a training finished by another run meanwhile is not trained again
            train_now = trainer is not None and needs_training(cfg, training_dir(rid))
            metrics = work(cfg, folder, training_dir(rid), train_now, tracker.report_to)
            rundir.write_metrics(folder, metrics)
            tracker.log_summary(metrics)
            set_state(folder, "done")
            ok = True
            return Outcome(rid, folder, "done", metrics)
    finally:
        if tracker is not None:
            tracker.finish(ok)
        signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    """`python -m mixft.runner.execute.entry RUN_ID`: exit 0 done, 1 failed, 2 bad input, 3 claimed,
    75 a fault of the machine (resume it), 130 interrupted."""
    parser = argparse.ArgumentParser(description="Run one planned mixft run by id.")
    parser.add_argument("run_id")
    parser.add_argument("--sweep", default=None)
    args = parser.parse_args(argv)
    die_with_launcher()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # a rank of a launch: which, and where ranks meet
        log.info(
            "rank %s of %s, rendezvous %s:%s",
            *(os.environ.get(key) for key in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")),
        )
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
        text = traceback.format_exc()
        with contextlib.suppress(OSError):  # its run.log may be on the full disk
            print(text, file=sys.stderr, flush=True)
        return EXIT_FAULT if cause_of(text, run_dir(args.run_id)).resumable else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
