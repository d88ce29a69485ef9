"""`mixft launch-spec skypilot`: the task YAML's fields, its quoting, its secrets, and its schema; the
multi-node (`--nodes N`) task's Ray cluster script, run with stand-ins for `ray` and `mixft`."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.helpers import assert_usage_error, invoke

SCHEMA = json.loads((Path(__file__).parent / "skypilot_task_schema.json").read_text(encoding="utf-8"))
CANARY = "canary-7f3e-do-not-write"


@pytest.fixture(autouse=True)
def _no_secrets_here(monkeypatch):
    for name in ("HF_TOKEN", "WANDB_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def spec(*args: str) -> tuple[str, dict[str, Any]]:
    """`mixft launch-spec skypilot ARGS` to stdout: its text and the parsed YAML."""
    result = invoke("launch-spec", "skypilot", *args)
    assert result.exit_code == 0, result.output
    return result.stdout, yaml.safe_load(result.stdout)


def test_smoke_spec_has_the_expected_fields():
    text, task = spec("smoke", "--bucket", "mixft-test-store")
    assert text.startswith("# run: sky jobs launch -n mixft-smoke TASK.yaml    (from the repo root)")
    assert task["name"] == "mixft-smoke" and task["workdir"] == "."
    assert task["resources"] == {"accelerators": "H100:8", "use_spot": False, "disk_size": 512}
    assert task["file_mounts"] == {
        "/mixft-store": {
            "name": "mixft-test-store",
            "store": "s3",
            "mode": "MOUNT_CACHED",
            "persistent": True,
        }
    }
    assert task["envs"] == {"MIXFT_HOME": "/mixft-store"}
    assert "secrets" not in task  # none set here, none asked for
    assert "uv venv --python 3.11" in task["setup"] and "pip install" in task["setup"]
    assert '-e ".[gpu]"' in task["setup"]  # DeepSpeed for the study recipe
    assert task["setup"].rstrip().endswith('-e ".[gpu]"')
    assert task["run"] == '"$HOME/mixft-venv/bin/mixft" sweep smoke --gpus all\n'


def test_cocktail_spec_with_every_option(tmp_path):
    out = tmp_path / "cocktail.sky.yaml"
    args = ["cocktail_paper", "model=llama31_8b", "--bucket", "lab.mixft-store", "--store", "gcs"]
    args += ["--mount-mode", "MOUNT", "--gpus", "A100-80GB:4", "--spot", "--disk-size", "1024"]
    args += ["--gpus-per-run", "2", "--secret", "MY_TOKEN", "--workdir", "~/src/mixft", "-o", str(out)]
    result = invoke("launch-spec", "skypilot", *args)
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and "cocktail.sky.yaml" in result.stderr
    text = out.read_text(encoding="utf-8")
    task = yaml.safe_load(text)
    launch = "# run: sky jobs launch -n mixft-cocktail-paper cocktail.sky.yaml --secret MY_TOKEN"
    assert text.splitlines()[0] == launch  # a workdir not "." works from anywhere
    assert "56 runs" in text.splitlines()[1]  # one model of four: 55 mixtures + its base model
    assert task["workdir"] == "~/src/mixft"
    assert task["resources"] == {"accelerators": "A100-80GB:4", "use_spot": True, "disk_size": 1024}
    assert task["file_mounts"]["/mixft-store"] == {
        "name": "lab.mixft-store",
        "store": "gcs",
        "mode": "MOUNT",
        "persistent": True,
    }
    assert task["secrets"] == {"MY_TOKEN": None}
    assert task["run"].split()[1:] == [
        "sweep",
        "cocktail_paper",
        "--gpus",
        "all",
        "--gpus-per-run",
        "2",
        "model=llama31_8b",
    ]


@pytest.mark.parametrize(
    "gpus, accelerators", [("H100:8", "H100:8"), ("L4", "L4:1"), ("A100-80GB:4", "A100-80GB:4")]
)
def test_gpus(gpus, accelerators):
    assert spec("smoke", "--bucket", "b-1", "--gpus", gpus)[1]["resources"]["accelerators"] == accelerators


@pytest.mark.parametrize("gpus", ["H100:0", "H100:x", ":8", "", "8", "H100:8:2", "H 100", "H100:-1"])
def test_bad_gpus_is_one_line_and_exit_2(gpus):
    assert_usage_error(
        invoke("launch-spec", "skypilot", "smoke", "--bucket", "b-1", "--gpus", gpus), "--gpus"
    )


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["smokey"], "unknown sweep 'smokey' (did you mean 'smoke'?)"),
        (["smoke", "modle=tiny"], "modle"),
        (["smoke", "--bucket", "s3://my-bucket"], "--bucket"),
        (["smoke", "--bucket", "My_Bucket"], "--bucket"),
        (["smoke", "--gpus", "H100:2", "--gpus-per-run", "4"], "--gpus-per-run"),
        (["smoke", "--disk-size", "0"], "--disk-size"),
        (["smoke", "--secret", "HF_TOKEN=hf_abc"], "variable name"),
        (["smoke", "--nodes", "0"], "--nodes 0"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, fragment):
    if "--bucket" not in args:
        args = [*args, "--bucket", "mixft-test-store"]
    result = invoke("launch-spec", "skypilot", *args)
    assert_usage_error(result, fragment)
    assert "hf_abc" not in result.output  # a value given by mistake is not echoed


def test_a_sweep_file_outside_the_workdir_is_refused(tmp_path):
    sweep = tmp_path / "mine.yaml"
    sweep.write_text(
        "name: mine\nbase: [model=tiny, training=smoke, eval=smoke, data.samples=true]\nmixtures: {sets: [[fpb]]}\n"
    )
    result = invoke("launch-spec", "skypilot", str(sweep), "--bucket", "mixft-test-store")
    assert_usage_error(result, "inside")


HOSTILE = [
    "eval.tasks=[fpb,headline]",
    "tracker=wandb",
    'tracker.project="x $(touch pwned); `touch pwned2` it\'s"',
    "tracker.tags=['a b',\"$HOME;|&\"]",
]


def test_overrides_reach_mixft_sweep_unchanged(tmp_path):
    _, task = spec("smoke", *HOSTILE, "--bucket", "mixft-test-store")
    home = tmp_path / "home"
    fake = home / "mixft-venv" / "bin" / "mixft"
    fake.parent.mkdir(parents=True)
    fake.write_text('#!/bin/sh\nfor a in "$@"; do printf \'%s\\0\' "$a"; done\n')
    fake.chmod(0o755)
    done = subprocess.run(
        ["bash", "-c", task["run"]],
        cwd=tmp_path,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        check=True,
    )
    assert done.stdout.decode().split("\0")[:-1] == ["sweep", "smoke", "--gpus", "all", *HOSTILE]
    assert not list(tmp_path.glob("pwned*"))


def test_no_secret_value_is_ever_written(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", CANARY)
    monkeypatch.setenv("HF_TOKEN", CANARY + "-hf")
    text, task = spec("cocktail_paper", "--bucket", "mixft-test-store")
    assert task["secrets"] == {"HF_TOKEN": None, "WANDB_API_KEY": None}
    assert "--secret HF_TOKEN --secret WANDB_API_KEY" in text.splitlines()[0]
    out = tmp_path / "task.yaml"
    result = invoke("launch-spec", "skypilot", "smoke", "--bucket", "mixft-test-store", "-o", str(out))
    assert result.exit_code == 0, result.output
    for written in (text, result.output, out.read_text(encoding="utf-8")):
        assert CANARY not in written


def schema_errors(task: dict[str, Any]) -> list[str]:
    """Errors of `task` against the copied SkyPilot task schema."""
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    validator = jsonschema.Draft202012Validator(SCHEMA)
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(task)]


def specs() -> list[tuple[str, dict[str, Any]]]:
    smoke = spec("smoke", "--bucket", "mixft-test-store", "--secret", "HF_TOKEN")
    args = ["--bucket", "b-1", "--store", "r2", "--spot", "--gpus", "L4:2", "--gpus-per-run", "2"]
    nodes = spec(
        "cocktail_paper", "--nodes", "4", "--gpus-per-run", "2", "--bucket", "b-1", "--secret", "HF_TOKEN"
    )
    return [smoke, spec("cocktail_paper", "eval.tasks=[fpb,headline]", *args), nodes]


def test_specs_match_skypilots_task_schema():
    for _, task in specs():
        assert schema_errors(task) == []


@pytest.mark.parametrize(
    "path, value",
    [
        (("resources", "accelerator"), "H100:8"),
        (("resources", "use_spot"), "yes"),
        (("resources", "disk_size"), "big"),
        (("file_mounts", "/mixft-store", "mode"), "MOUNTED"),
        (("file_mounts", "/mixft-store", "store"), "dropbox"),
        (("envs", "1BAD"), "x"),
        (("secrets",), 12),
        (("setups",), "echo"),
    ],
)
def test_the_schema_check_catches_mistakes(path, value):
    task = copy.deepcopy(spec("smoke", "--bucket", "mixft-test-store", "--secret", "HF_TOKEN")[1])
    node = task
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert schema_errors(task)


def test_skypilots_own_parser_accepts_the_specs():
    sky = pytest.importorskip("sky")  # not a dev dependency (its pins clash): the schema test above runs
    for text, task in specs():
        # what `sky jobs launch FILE --secret NAME` does: the YAML, plus each secret's value from the shell
        given = [(name, "placeholder") for name in task.get("secrets", {})]
        parsed = sky.Task.from_yaml_config(yaml.safe_load(text), secrets_overrides=given)
        name, count = task["resources"]["accelerators"].split(":")
        resources = next(iter(parsed.resources))
        assert resources.accelerators == {name: int(count)}
        assert resources.use_spot == task["resources"]["use_spot"]
        assert parsed.envs["MIXFT_HOME"] == "/mixft-store" and parsed.num_nodes == task.get("num_nodes", 1)
        storage = parsed.storage_mounts["/mixft-store"]
        assert storage.name == task["file_mounts"]["/mixft-store"]["name"]
        assert storage.mode.value == "MOUNT_CACHED"


def test_a_missing_bucket_is_one_line_like_every_other_error():
    # defect: without --bucket, Typer printed a boxed usage error
    assert_usage_error(invoke("launch-spec", "skypilot", "smoke"), "--bucket is required")


def test_one_node_is_the_single_box_spec():
    assert spec("smoke", "--bucket", "b-1", "--nodes", "1")[0] == spec("smoke", "--bucket", "b-1")[0]


def test_a_multi_node_spec_runs_the_sweep_on_a_ray_cluster_of_its_nodes():
    text, task = spec(
        "cocktail_paper", "model=llama31_8b", "--nodes", "4", "--bucket", "b-1", "--gpus-per-run", "2"
    )
    assert "56 runs on 4 boxes, one Ray cluster" in text.splitlines()[1]
    assert task["num_nodes"] == 4 and list(task)[:4] == ["name", "workdir", "num_nodes", "resources"]
    assert task["resources"]["accelerators"] == "H100:8"  # per node
    assert task["file_mounts"]["/mixft-store"]["name"] == "b-1"  # every node mounts it at one path
    assert task["envs"] == {"MIXFT_HOME": "/mixft-store"}
    assert task["setup"].rstrip().endswith('-e ".[gpu,ray]"')
    sweep = (
        '"$HOME/mixft-venv/bin/mixft" sweep cocktail_paper --executor ray --gpus-per-run 2 model=llama31_8b'
    )
    assert sweep + " || code=$?" in task["run"] and "ray stop" not in task["run"]  # it would stop SkyPilot's


def cluster_node(
    tmp_path: Path, rank: int, sweep_code: int = 0, ray_starts: bool = True
) -> tuple[int, list[str]]:
    """Run a 2-node spec's `run` as node `rank`, with stand-ins that log what they are asked to do:
    `ray start --head --block` blocks until stopped, a worker's `ray start --block` ends as when its
    head goes, `mixft` exits with `sweep_code`. Returns the exit code and the log."""
    _, task = spec("smoke", "--nodes", "2", "--bucket", "mixft-test-store")
    log, bin_ = tmp_path / "log", tmp_path / "home" / "mixft-venv" / "bin"
    bin_.mkdir(parents=True)
    # the head answers once its stand-in is up (and can be stopped): $LOG.up
    starts = (
        'trap \'echo "ray stopped" >> "$LOG"; exit 0\' TERM; touch "$LOG.up"; while :; do sleep 0.1; done'
    )
    head = starts if ray_starts else "exit 1"
    status = (
        'for i in $(seq 50); do [ -e "$LOG.up" ] && exit 0; sleep 0.1; done; exit 1'
        if ray_starts
        else "exit 1"
    )
    if rank:
        Path(f"{log}.up").touch()
    fakes = {
        "ray": f'echo "ray $*" >> "$LOG"\ncase "$1 $2" in\n  "status "*) {status};;\n'
        f'  "start --head") {head};;\n  *) exit 1;;\nesac\n',
        "mixft": f'echo "mixft $* at $RAY_ADDRESS" >> "$LOG"\nexit {sweep_code}\n',
    }
    for name, body in fakes.items():
        (bin_ / name).write_text("#!/bin/bash\n" + body)
        (bin_ / name).chmod(0o755)
    env = {"HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin", "LOG": str(log)}
    env |= {
        "SKYPILOT_NODE_RANK": str(rank),
        "SKYPILOT_NODE_IPS": "10.1.2.3\n10.1.2.4",
        "SKYPILOT_NUM_NODES": "2",
    }
    done = subprocess.run(["bash", "-c", task["run"]], cwd=tmp_path, env=env, capture_output=True, timeout=60)
    return done.returncode, log.read_text().splitlines() if log.exists() else []


@pytest.mark.parametrize("sweep_code", [0, 1])
def test_the_head_starts_ray_runs_the_sweep_on_it_stops_ray_and_exits_as_the_sweep(tmp_path, sweep_code):
    code, log = cluster_node(tmp_path, 0, sweep_code)
    assert code == sweep_code
    started = [
        "ray start --head --port 6379 --disable-usage-stats --block",
        "ray status --address 10.1.2.3:6379",
    ]
    assert sorted(log[:2]) == sorted(started)  # Ray starts in the background; the head asks until it answers
    assert log[2:] == ["mixft sweep smoke --executor ray at 10.1.2.3:6379", "ray stopped"]


def test_a_head_whose_ray_does_not_start_runs_no_sweep(tmp_path):
    code, log = cluster_node(tmp_path, 0, ray_starts=False)
    assert code == 1 and not any(line.startswith("mixft") for line in log)


def test_a_worker_joins_the_head_and_ends_cleanly_when_the_head_goes(tmp_path):
    code, log = cluster_node(tmp_path, 1)
    assert code == 0  # its `ray start --block` ended because the head stopped Ray: not a failure
    assert log == [
        "ray status --address 10.1.2.3:6379",
        "ray start --address 10.1.2.3:6379 --disable-usage-stats --block",
    ]
