"""Pre-flight: before the first run trains, every source the sweep's runs read loads, once each, and
its rows fit their task (columns, labels, answers); every lm-eval suite names tasks lm-eval knows.

run: mixft sweep smoke task.fiqa_sa.source.eval_split=missing    (-> one line naming fiqa_sa, exit 2)
     mixft sweep smoke training.precision=fp16    (a host without CUDA: one line, exit 2; capabilities.py)

A source that cannot be loaded (offline, a gated or missing dataset, a file not found, a split the
source lacks) or whose rows do not fit the task would otherwise fail each run that reads it, and an
eval source only after that run has trained. Rows are checked on a spread of up to SAMPLE_ROWS rows
per split, so a check costs seconds whatever the source's size.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable

from mixft.runner.config.run import eval_tasks, training_sources
from mixft.runner.config.schema import Config, TaskConfig
from mixft.runner.errors import ConfigError
from mixft.runner.execute.capabilities import check_local
from mixft.runner.execute.work import needs_training
from mixft.runner.paths import training_dir
from mixft.runner.plan.grid import PlannedRun
from mixft.runner.store.identity import canonical_json

log = logging.getLogger(__name__)

SAMPLE_ROWS = 2000  # rows formatted per split: enough to meet a stray label, cheap on any source


def reads(cfg: Config, trains: bool = True) -> list[tuple[str, str]]:
    """(task, split) of every split a run reads: train splits of its sources and pool (when it
    `trains`: not when its training is done and kept), eval splits of the tasks it is scored on."""
    train = {*training_sources(cfg), *cfg.mixture.pool} if trains else set()
    return sorted({(t, "train") for t in train} | {(t, "eval") for t in eval_tasks(cfg)})


def _key(task: TaskConfig, split: str, cfg: Config) -> str:
    """Splits that read the same rows the same way are checked once."""
    fields = dataclasses.asdict(task) | {"typical": None, "description": None}
    return canonical_json([fields, split, dataclasses.asdict(cfg.data)])


def check_split(task: TaskConfig, split: str, cfg: Config) -> int:
    """Load one split and format a spread of its rows; returns its row count.

    Raises:
        ConfigError: the split cannot be loaded, or a row does not fit the task (naming the row).
    """
    from mixft.runner.data.format import to_examples
    from mixft.runner.data.sources import load_split

    raw = load_split(task, split, cfg.data)
    step = max(1, raw.num_rows // SAMPLE_ROWS)
    indices = list(range(0, raw.num_rows, step))[:SAMPLE_ROWS]
    to_examples(task, raw.rows.select(indices), raw.origin, indices=indices)
    return raw.num_rows


def preflight(runs: Iterable[PlannedRun], each: Callable[[str], None] | None = None) -> int:
    """Check that the machine can run the runs' settings (capabilities.py: the local executor's runs
    execute on this host), then every split the runs read, once each (a run that only evaluates reads
    no train split).

    Returns:
        How many distinct splits were checked.

    Raises:
        ConfigError: one line naming the setting this host cannot run, or the task and split that
            failed, and what to do.
    """
    from mixft.runner.evaluate.suites import check_suite

    runs = list(runs)
    check_local(runs)
    seen: set[str] = set()
    suites: set[str] = set()
    for run in runs:
        for name in run.config.eval.suites:  # a misspelt lm-eval task would fail after training
            suite = run.config.suite[name]
            if canonical_json(dataclasses.asdict(suite)) not in suites:
                suites.add(canonical_json(dataclasses.asdict(suite)))
                check_suite(suite)
                if each is not None:
                    each(f"suite {name}: lm-eval knows its {len(suite.tasks)} tasks")
        for name, split in reads(run.config, needs_training(run.config, training_dir(run.id))):
            task = run.config.task[name]
            key = _key(task, split, run.config)
            if key in seen:
                continue
            seen.add(key)
            try:
                rows = check_split(task, split, run.config)
            except ConfigError as exc:
                raise ConfigError(
                    f"pre-flight, {split} split of task '{name}': {exc}; nothing was trained"
                ) from None
            log.info("pre-flight: task %s, %s split: %d rows", name, split, rows)
            if each is not None:
                each(f"task {name}, {split} split: {rows} rows; columns, labels, prompts fit")
    return len(seen)
