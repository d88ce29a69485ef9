"""Project folders: options and sweeps of one's own, found before the packaged ones by Hydra's
composition, the fast path and the task catalogue alike, with their bad input in one line.

run: .venv/bin/python -m pytest tests/unit/test_project.py -q
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mixft.runner.config.compose import hydra_compose
from mixft.runner.config.load import load_config
from mixft.runner.config.project import TASK, init_project
from mixft.runner.config.search_path import CONF_GROUPS, copy_option, packaged, shadowed, sources, use_project
from mixft.runner.errors import ConfigError
from mixft.runner.plan.sweepfile import load_sweep
from tests.unit.helpers import assert_usage_error, invoke

ROOT = Path(__file__).resolve().parents[2]


def project(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def smoke_training(learning_rate: str) -> str:
    text = (packaged().conf / "training" / "smoke.yaml").read_text()
    return text.replace("learning_rate: 3.0e-3", f"learning_rate: {learning_rate}")


def test_a_project_option_is_composed_by_hydra_and_the_fast_path_alike(tmp_path, monkeypatch):
    project(tmp_path, {"conf/model/mine.yaml": "name: mine\nnum_parameters: 1000\nbuild: {}\n"})
    monkeypatch.setenv("MIXFT_CONFIG_PATH", str(tmp_path))
    assert load_config(["model=mine"]).model.num_parameters == 1000
    assert hydra_compose(["model=mine"]).model.num_parameters == 1000
    assert load_config(["model=tiny"]).model.name == "tiny"  # the packaged ones are still there


def test_a_project_option_shadows_the_packaged_one_everywhere(tmp_path, monkeypatch):
    project(
        tmp_path,
        {
            "conf/training/smoke.yaml": smoke_training("1.0e-4"),
            # a package header sends this one through Hydra's own composition
            "conf/training/headed.yaml": "# @package training\n" + smoke_training("2.0e-4"),
        },
    )
    monkeypatch.setenv("MIXFT_CONFIG_PATH", str(tmp_path))
    assert load_config(["training=smoke"]).training.learning_rate == 1e-4
    assert hydra_compose(["training=smoke"]).training.learning_rate == 1e-4
    assert load_config(["training=headed"]).training.learning_rate == 2e-4
    assert shadowed(("training",)) == [("training", "smoke", tmp_path / "conf/training/smoke.yaml")]


def test_an_identical_copy_shadows_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    copy_option("training/smoke")
    assert (tmp_path / "conf/training/smoke.yaml").is_file()
    assert sources()[0].root == tmp_path  # the directory mixft runs in is a project now
    assert shadowed(("training",)) == []


def test_the_search_path_order(tmp_path, monkeypatch):
    first, second, here = (
        project(tmp_path / name, {"conf/training/smoke.yaml": smoke_training(lr)})
        for name, lr in (("first", "1.0e-5"), ("second", "2.0e-5"), ("here", "3.0e-5"))
    )
    monkeypatch.chdir(here)
    assert load_config(["training=smoke"]).training.learning_rate == 3e-5
    monkeypatch.setenv("MIXFT_CONFIG_PATH", f"{second}{os.pathsep}{here}")
    assert load_config(["training=smoke"]).training.learning_rate == 2e-5
    use_project(first)  # --config-dir
    assert load_config(["training=smoke"]).training.learning_rate == 1e-5
    assert [s.root for s in sources()] == [first, second, here, packaged().root]


def test_the_checkout_of_mixft_itself_is_no_project(monkeypatch):
    monkeypatch.chdir(ROOT)
    # an editable install's package is this checkout; a copy of it elsewhere shadows nothing
    editable = packaged().conf.resolve() == (ROOT / "conf").resolve()
    assert [s.root for s in sources()] == [*([] if editable else [ROOT]), packaged().root]
    assert shadowed(CONF_GROUPS) == []


def test_a_project_tasks_local_files_are_found_from_anywhere(tmp_path, monkeypatch):
    init_project(tmp_path / "demo")
    monkeypatch.chdir(tmp_path)
    use_project(tmp_path / "demo")
    task = load_config([f"mixture.tasks=[{TASK}]"]).task[TASK]
    assert task.source.path == str(tmp_path / "demo" / "data" / f"{TASK}_{{split}}.jsonl")


def test_a_project_sweep_is_found_by_name_and_names_are_suggested_across_sources(tmp_path, monkeypatch):
    init_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert load_sweep("demo").mixtures.tasks == [TASK, "fpb"]
    with pytest.raises(ConfigError, match="did you mean 'demo'.*cocktail_paper"):
        load_sweep("dem")
    with pytest.raises(ConfigError, match=f"did you mean '{TASK}'"):
        load_config(["mixture.tasks=[fomc_stanse]"])


@pytest.mark.parametrize(
    ("path", "text", "message"),
    [
        (
            "conf/model/mine.yaml",
            "name: mine\nnum_parameters: 10\nlayers: 4\n",
            r"mine\.yaml:3: unknown field 'layers'",
        ),
        (
            "conf/model/mine.yaml",
            "name: mine\nnum_parameters: lots\n",
            r"mine\.yaml:2: bad value for 'num_parameters'",
        ),
        (
            "conf/task/mine.yaml",
            "name: mine\nkind: classification\ncolumns:\n  input: text\n  inputs: x\n",
            r"mine\.yaml:5: unknown field 'columns\.inputs'",
        ),
        ("conf/task/mine.yaml", "name: mine\nkind: [classification\n", r"mine\.yaml:\d+: malformed YAML"),
        ("sweeps/mine.yaml", "name: mine\nbase: []\nseed: [1]\n", r"mine\.yaml:3: unknown key 'seed'"),
    ],
)
def test_bad_project_files_are_one_line_with_file_and_line(tmp_path, monkeypatch, path, text, message):
    project(tmp_path, {path: text})
    monkeypatch.setenv("MIXFT_CONFIG_PATH", str(tmp_path))
    with pytest.raises(ConfigError, match=message):
        if path.startswith("sweeps"):
            load_sweep("mine")
        else:
            load_config(["model=mine"] if "model" in path else [])


def test_config_ls_says_where_each_option_comes_from(tmp_path, monkeypatch):
    project(tmp_path, {"conf/training/smoke.yaml": smoke_training("1.0e-4")})
    init_project(tmp_path)
    monkeypatch.chdir(tmp_path)
    listing = invoke("config", "ls")
    assert listing.exit_code == 0, listing.output
    assert f"{TASK} [1]" in listing.stdout and "smoke [1, shadows packaged]" in listing.stdout
    assert f"[1] project folder {tmp_path}" in listing.stdout
    assert listing.stderr.strip() == "notice: conf/training/smoke.yaml shadows the packaged training 'smoke'"
    tasks = dict(line.split(maxsplit=1) for line in invoke("config", "ls", "task").stdout.splitlines())
    assert tasks[TASK] == f"conf/task/{TASK}.yaml" and tasks["fpb"] == "packaged"


def test_config_dir_and_its_bad_input(tmp_path, monkeypatch):
    init_project(tmp_path / "demo")
    monkeypatch.chdir(tmp_path)
    assert TASK in invoke("--config-dir", str(tmp_path / "demo"), "config", "ls", "task").stdout
    assert os.environ["MIXFT_CONFIG_PATH"] == str(tmp_path / "demo")  # the runs it starts read it too
    assert_usage_error(
        invoke("--config-dir", "nowhere", "config", "ls"), "--config-dir nowhere: no such folder"
    )
    assert_usage_error(
        invoke("--config-dir", str(tmp_path / "demo" / "data"), "plan", "demo"), "not a project folder"
    )
    monkeypatch.setenv("MIXFT_CONFIG_PATH", str(tmp_path / "gone"))
    assert_usage_error(invoke("config", "ls"), "MIXFT_CONFIG_PATH", "is not a folder")


def test_init_and_config_cp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    made = invoke("init", "demo")
    assert made.exit_code == 0, made.output
    assert "next: cd demo && mixft sweep demo" in made.stdout
    assert_usage_error(invoke("init", "demo"), "exists; mixft init writes a new project")
    monkeypatch.chdir(tmp_path / "demo")
    copied = invoke("config", "cp", "task/fpb")
    assert copied.exit_code == 0 and (tmp_path / "demo/conf/task/fpb.yaml").is_file()
    assert invoke("config", "cp", "sweep/smoke", "sweeps/mine.yaml").exit_code == 0
    assert load_sweep("mine").name == "smoke"
    assert_usage_error(invoke("config", "cp", "task/fpb"), "exists; pass --force")
    assert_usage_error(
        invoke("config", "cp", "task/fbp"), "unknown packaged task 'fbp' (did you mean 'fpb'?)"
    )
    assert_usage_error(invoke("config", "cp", "fpb"), "write GROUP/NAME")


def test_a_copied_suite_brings_its_task_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert invoke("config", "cp", "suite/finance_knowledge").exit_code == 0
    assert (tmp_path / "conf/suite/finance_knowledge/flare_cfa.yaml").is_file()
    assert not (tmp_path / "conf/suite/finance_knowledge/__init__.py").exists()
    (tmp_path / "conf/suite/finance_knowledge.yaml").unlink()
    assert_usage_error(invoke("config", "cp", "suite/finance_knowledge"), "finance_knowledge exists")
    assert invoke("config", "cp", "suite/finance_knowledge", "--force").exit_code == 0
