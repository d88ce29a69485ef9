"""The executor interface and registry: executor.name is the one truth of where runs execute, each
executor has its own settings, and `mixft sweep`'s options are overrides of those settings."""

from __future__ import annotations

import dataclasses

import pytest

from mixft.runner.config.catalog import group_options
from mixft.runner.config.executors import EXECUTOR_CONFIGS, LocalConfig, SlurmConfig
from mixft.runner.config.load import load_config
from mixft.runner.errors import ConfigError
from mixft.runner.execute.executors import EXECUTORS, executor_for
from mixft.runner.execute.executors.base import Executor
from mixft.runner.execute.executors.local import LocalExecutor
from mixft.runner.execute.executors.slurm import SlurmExecutor, parameters
from mixft.runner.execute.options import executor_overrides, planned
from tests.unit.helpers import assert_usage_error, invoke


def test_every_executor_has_settings_and_an_implementation():
    assert set(EXECUTORS) == set(EXECUTOR_CONFIGS)
    for name, cls in EXECUTORS.items():
        assert issubclass(cls, Executor) and cls.name == name
        assert EXECUTOR_CONFIGS[name]().name == name


@pytest.mark.parametrize("option", group_options("executor"))
def test_every_executor_option_composes_to_its_own_settings(option):
    settings = load_config([f"executor={option}"]).executor
    assert type(settings) is EXECUTOR_CONFIGS[settings.name]
    assert isinstance(executor_for(settings), EXECUTORS[settings.name])


def test_a_local_config_holds_no_slurm_settings_and_the_reverse():
    local, slurm = load_config([]).executor, load_config(["executor=slurm"]).executor
    assert isinstance(local, LocalConfig) and not hasattr(local, "partition")
    assert isinstance(slurm, SlurmConfig) and not hasattr(slurm, "gpus")
    with pytest.raises(
        ConfigError, match=r"unknown key 'executor.partition'.*executor local has: .*max_parallel"
    ):
        load_config(["executor.partition=gpu"])
    with pytest.raises(ConfigError, match=r"'executor.name': choose the executor with executor=OPTION"):
        load_config(["executor.name=slurm"])


def test_the_executor_override_alone_runs_the_sweep_on_slurm():
    # defect: `executor=slurm` without --executor composed the SLURM settings and ran locally
    plan = planned("smoke", ["executor=slurm", "executor.partition=debug"])
    assert isinstance(executor_for(plan.executor()), SlurmExecutor)
    result = invoke("sweep", "smoke", "executor=slurm", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "6 to run on SLURM" in result.stdout
    assert "to run on" in invoke("sweep", "smoke", "--dry-run").stdout


def test_executor_options_are_overrides_of_its_settings():
    assert executor_overrides("slurm", {"gpus": "0-3,6", "retries": 2, "timeout_min": 0.5, "qos": None}) == [
        "executor=slurm",
        "executor.gpus='0-3,6'",
        "executor.retries=2",
        "executor.timeout_min=0.5",
    ]
    plan = planned("smoke", [], None, {"gpus": "none", "max_parallel": 2, "timeout_min": 0.5})
    settings = plan.executor()
    assert (settings.gpus, settings.max_parallel, settings.timeout_min) == ("none", 2, 0.5)
    assert isinstance(executor_for(settings), LocalExecutor)
    assert (
        executor_for(settings).where() == "2 slot(s) (cpu0, cpu1)"
        or "slot(s)" in executor_for(settings).where()
    )
    slurm = planned("smoke", [], "slurm", {"gpus_per_run": 0, "timeout_min": 0.5}).executor()
    assert parameters(slurm)["timeout_min"] == 1  # SLURM counts whole minutes
    assert "gpus_per_node" not in parameters(slurm)


def test_an_option_the_executor_lacks_is_one_line():
    assert_usage_error(
        invoke("sweep", "smoke", "--executor", "slurm", "--gpus", "0-3", "--dry-run"),
        "--gpus is not a setting of executor slurm",
        "partition",
    )
    assert_usage_error(invoke("sweep", "smoke", "--executor", "dask", "--dry-run"), "unknown executor 'dask'")


def test_only_matching_no_run_is_one_line():
    # defect: an `--only` that matched nothing ended in an internal error (IndexError)
    assert_usage_error(
        invoke("sweep", "smoke", "--only", "model=nope", "--dry-run"),
        "--only 'model=nope' matches none of the 6 runs",
    )


def test_an_executor_setting_is_never_a_grid_axis(tmp_path):
    path = tmp_path / "split.yaml"
    path.write_text("name: split\ngrid: {executor.retries: '0,1'}\nmixtures: {sets: [[fpb]]}\n")
    with pytest.raises(ConfigError, match="every run of a sweep runs on one executor"):
        planned(str(path), [])
    plan = planned("smoke", [])
    other = dataclasses.replace(plan.runs[1], config=dataclasses.replace(plan.runs[1].config))
    other.config.executor = LocalConfig(retries=3)
    with pytest.raises(ConfigError, match="different executor settings"):
        plan.only([plan.runs[0], other]).executor()


def test_settings_are_checked_by_their_own_type():
    with pytest.raises(ConfigError, match="executor.max_parallel must be positive"):
        load_config(["executor.max_parallel=0"])
    with pytest.raises(ConfigError, match="executor.cpus_per_task must be positive"):
        load_config(["executor=slurm", "executor.cpus_per_task=0"])
    assert dataclasses.asdict(load_config(["executor=slurm"]).executor)["timeout_min"] == 240
