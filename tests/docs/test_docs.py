"""Every command in docs/*.md runs through the real CLI, so the docs cannot rot.

run: .venv/bin/python -m pytest tests/docs -q

How a page is read, in document order:
- A ```bash block holds commands, one per line (a trailing `\\` joins the next line): a line that
  starts with `mixft ` runs (its trailing `# comment` is dropped), a `#` line is a comment, and any
  other line must be in OTHER_LINES, which says why it does not run (or which environment it sets).
- A ```text block right after a ```bash block is what the block's last command prints: every line
  of it (whitespace collapsed; `...` lines skipped) must be in that command's output.
- A block whose first line is `# file: PATH`, or whose info string holds `file=PATH`, is written to
  PATH, relative to the page's working directory, before the commands after it run (`conf/...` makes
  that directory a project folder, as it would for a reader).
- A `cd DIR` line moves the page's later commands into DIR.

Each page runs in its own working directory and its own store (MIXFT_HOME), offline, without W&B or
Hugging Face credentials. A command runs exactly as written, and must exit 0 without a traceback,
unless REWRITES names it: there it gets extra arguments (a sweep on a GPU box becomes --dry-run, the
smoke sweep trains 2 steps) or an expected exit code and output (W&B online, with no credentials
here). A REWRITES or OTHER_LINES entry that matches nothing in the docs fails, so neither table can go
stale.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
README = DOCS.parent / "README.md"
# written by `make bench`, not by hand: its figures are measured, not commands to run
GENERATED = {"benchmarks.md"}
PAGES = sorted(p for p in DOCS.glob("*.md") if p.name not in GENERATED)

# The smoke sweep's runs cut to 2 optimizer steps and 8 scored rows per task: every stage (data,
# training, evaluation, predictions, W&B, compare) runs, in well under a minute instead of minutes.
SMALL = ("training.max_steps=2", "eval.max_examples=8")
NEEDS_GPUS = "needs GPUs, model downloads and hours; the dry run plans it and places it on slots"


@dataclass(frozen=True)
class Rewrite:
    """How a doc command runs here when it cannot run as written."""

    why: str
    # arguments appended to the command
    append: tuple[str, ...] = ()
    exit_code: int = 0
    # a fragment its output must hold (whitespace collapsed)
    output: str = ""


# Keys are doc commands with shell quoting removed and single spaces, as `Command.key` writes them.
NOT_HERE = "the page's sweep of it ran as a dry run above, which records nothing in the store"
NO_WANDB = "reads W&B online; there are no W&B credentials in tests"
REWRITES: dict[str, Rewrite] = {
    "mixft search search_smoke --halving --budget 4 --batch 4": Rewrite(
        "4 candidates at a quarter of 2 steps, then 2 in full", SMALL
    ),
    "mixft search search_smoke --budget 6": Rewrite(
        "the full search trains 13 runs; here 2 candidates of 2 steps each", ("--budget", "2", *SMALL)
    ),
    # the smoke sweep, and the commands that name its runs: tiny settings
    "mixft sweep smoke": Rewrite("the full smoke sweep takes minutes on 2 cores", SMALL),
    # QLoRA and bf16 on this CPU: the fpb baseline alone (tests/accel kills and resumes such runs)
    "mixft sweep smoke training.method=qlora": Rewrite(
        "the smoke sweep's fpb run in QLoRA, 2 steps", ("--only", "size=1,contains=fpb", *SMALL)
    ),
    "mixft sweep smoke training.precision=bf16": Rewrite(
        "the smoke sweep's fpb run under bf16 autocast, 2 steps", ("--only", "size=1,contains=fpb", *SMALL)
    ),
    # tests/multiproc trains runs over 2 processes, DeepSpeed's among them (its ops compile for minutes)
    "mixft sweep smoke --procs-per-run 2": Rewrite(
        "tests/multiproc trains over 2 processes", ("--dry-run",), output="2 processes a run (torchrun, gloo)"
    ),
    "mixft sweep smoke --procs-per-run 2 training.deepspeed=zero2_offload": Rewrite(
        "tests/multiproc trains with DeepSpeed on CPU", ("--dry-run",), output="2 processes a run"
    ),
    "mixft sweep smoke tracker=wandb tracker.project=mixft-smoke": Rewrite(
        "the full smoke sweep takes minutes; W&B logs offline here (no credentials); the page's MLflow "
        "sweep ran these runs already, so other eval rows make evaluations of their own for W&B",
        ("training.max_steps=2", "eval.max_examples=4"),
    ),
    "mixft sweep smoke tracker=mlflow": Rewrite(
        "the full smoke sweep takes minutes; MLflow writes its local store here", SMALL
    ),
    "mixft sweep smoke tracker=mlflow tracker.tracking_uri=http://mlflow-host:5000": Rewrite(
        "needs an MLflow server (`make test-mlflow` starts one and tests this path)", ("--dry-run",)
    ),
    "mixft config show model=tiny data.samples=true mixture.tasks=[fpb] eval=smoke seed=0": Rewrite(
        "the same run as the (shortened) smoke sweep's fpb baseline", SMALL
    ),
    "mixft run model=tiny data.samples=true mixture.tasks=[fpb] eval=smoke seed=0": Rewrite(
        "the same run as the (shortened) smoke sweep's fpb baseline, so it is done already", SMALL
    ),
    "mixft sweep smoke task.twitter_sa.columns.input=headline_text": Rewrite(
        "a sweep its pre-flight stops on purpose",
        exit_code=2,
        output="missing column 'headline_text' for task 'twitter_sa'; the file has: text, label; nothing was trained",
    ),
    "mixft sweep smoke --only contains=twitter_sa training.optim=adamw_tourch": Rewrite(
        "a failing sweep on purpose; shortened as every smoke sweep here",
        SMALL,
        exit_code=1,
        output="adamw_tourch is not a valid OptimizerNames",
    ),
    # suites.md: a suite added to the (shortened) smoke sweep; the packaged suites read the hub
    "mixft sweep smoke eval.suites=[rates]": Rewrite("the smoke sweep above, shortened the same way", SMALL),
    "mixft sweep cocktail_paper eval.suites=[general]": Rewrite(NEEDS_GPUS, ("--dry-run",)),
    "mixft compare cocktail_paper --view forgetting": Rewrite(
        NOT_HERE, exit_code=2, output="has not run in this store"
    ),
    # study.md: the example project's sweep, shortened like the smoke sweep; a hub model offline
    "mixft sweep demo": Rewrite("a few minutes on 2 cores", SMALL),
    "mixft plan my_study": Rewrite(
        "reads the model's config.json from the hub; offline here",
        exit_code=2,
        output="cannot read its config.json (offline, and not in the Hugging Face cache)",
    ),
    "mixft sweep my_study --rehearse": Rewrite(
        "reads the first rows of fpb and twitter_sa from the hub; offline here",
        exit_code=2,
        output="cannot load hub:",
    ),
    "mixft sweep my_study --gpus all": Rewrite(
        NEEDS_GPUS + "; offline here, the hub model's config cannot be read",
        ("--dry-run",),
        exit_code=2,
        output="cannot read its config.json",
    ),
    # sweeps for GPU machines and clusters: planned and placed on slots, not run
    "mixft sweep cocktail_paper --gpus all": Rewrite(NEEDS_GPUS, ("--dry-run",)),
    "mixft sweep cocktail_paper --gpus 0-7 --gpus-per-run 2": Rewrite(NEEDS_GPUS, ("--dry-run",)),
    "mixft sweep cocktail_paper_lora --gpus all": Rewrite(NEEDS_GPUS, ("--dry-run",)),
    "mixft sweep cocktail_paper_lora --gpus 0-3,6 --retries 1 --timeout-min 600": Rewrite(
        NEEDS_GPUS, ("--dry-run",)
    ),
    "mixft sweep cocktail_regularizers --gpus all": Rewrite(NEEDS_GPUS, ("--dry-run",)),
    "mixft sweep cocktail_paper_lora --executor slurm executor.partition=gpu executor.account=myproject "
    'executor.timeout_min=240 executor.setup=["module load cuda/12.4","source ~/mixft/.venv/bin/activate"]': (
        Rewrite("needs a SLURM cluster (`make test-slurm` tests that path)", ("--dry-run",))
    ),
    # Ray: a cluster on this host for the (shortened) smoke sweep; other clusters are planned only
    "mixft sweep smoke --executor ray executor.address=local": Rewrite(
        "the full smoke sweep takes minutes on 2 cores; the Ray cluster it starts runs it", SMALL
    ),
    "mixft sweep cocktail_paper --executor ray executor.address=head-node:6379 executor.runs_per_gpu=2": (
        Rewrite("needs a Ray cluster with GPUs (`make test-ray` tests that path on CPUs)", ("--dry-run",))
    ),
    "mixft sweep cocktail_paper --executor my_ray": Rewrite(
        "needs a Ray cluster with GPUs (`make test-ray` tests that path on CPUs)",
        ("--dry-run",),
        output="to run on Ray cluster ray://head-node:10001",
    ),
    # status and compare of those sweeps: the store has no runs of them
    "mixft status cocktail_paper_lora": Rewrite(NOT_HERE, exit_code=2, output="has not run in this store"),
    "mixft status cocktail_paper": Rewrite(NOT_HERE, exit_code=2, output="has not run in this store"),
    "mixft compare cocktail_paper": Rewrite(NOT_HERE, exit_code=2, output="has not run in this store"),
    "mixft compare cocktail_paper --view pairs": Rewrite(
        NOT_HERE, exit_code=2, output="has not run in this store"
    ),
    "mixft compare cocktail_paper --plot cocktail.png --format csv": Rewrite(
        NOT_HERE, exit_code=2, output="has not run in this store"
    ),
    "mixft compare cocktail_regularizers --view regularizer": Rewrite(
        NOT_HERE, exit_code=2, output="has not run in this store"
    ),
    # W&B online
    "mixft sync --all": Rewrite(
        "uploads to W&B; without credentials each upload fails, and the files stay",
        exit_code=1,
        output="failed:",
    ),
    "mixft compare smoke --source wandb": Rewrite(NO_WANDB, exit_code=2, output="needs W&B credentials"),
    "mixft compare cocktail_paper --source wandb --project mixft --entity my-team": Rewrite(
        NO_WANDB, exit_code=2, output="needs W&B credentials"
    ),
    # the hub: no network in tests
    "mixft data show finqa -n 1 --model phi3_mini": Rewrite(
        "downloads finqa and Phi-3's tokenizer; the sample suite and the tiny model stand in",
        ("--samples", "--model", "tiny"),
    ),
    # errors shown on purpose (troubleshooting.md)
    "mixft plan cocktail_paper model=phi3_mni": Rewrite("a typo on purpose", exit_code=2),
    "mixft plan smoke training.learning_rat=1e-5": Rewrite("a typo on purpose", exit_code=2),
    "mixft config show task.fpb.source.path=data/fpb_{split}.jsonl": Rewrite(
        "quoting missing on purpose", exit_code=2, output="cannot parse override"
    ),
    "mixft run model=tiny data.samples=true mixture.tasks=[fpb] training.deepspeed=zero2_offload": Rewrite(
        "DeepSpeed on a machine without CUDA, on purpose", exit_code=2
    ),
    "mixft run model=tiny data.samples=true mixture.tasks=[fpb] training.precision=fp16": Rewrite(
        "fp16 on a machine without CUDA, on purpose", exit_code=2
    ),
    "mixft data show fpb -n 1": Rewrite(
        "offline on purpose: the hub cannot be reached", exit_code=2, output="cannot load hub:"
    ),
}


@dataclass(frozen=True)
class Command:
    page: str
    line: int
    args: tuple[str, ...]
    # lines of a ```text block that follows: what the command prints
    shows: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return " ".join(self.args)


@dataclass(frozen=True)
class File:
    path: str
    text: str


@dataclass(frozen=True)
class Other:
    line: str


# Lines of ```bash blocks that do not run here: why, and the environment they set for the page's
# later commands (the page's own store always stands in for MIXFT_HOME).
OTHER_LINES: dict[str, tuple[str, dict[str, str]]] = {
    "make install": ("the tests run inside the installed venv already", {}),
    "make wheelhouse PY=3.12 PLATFORM=manylinux_2_28_x86_64 EXTRAS=gpu OUT=wheelhouse": (
        "downloads gigabytes of CUDA wheels; tests/smoke/test_wheelhouse.py builds one for this machine",
        {},
    ),
    "make wheelhouse PY=3.12 PLATFORM=manylinux_2_28_x86_64 EXTRAS=gpu LEAN=1 HAVE=host-freeze.txt OUT=lean": (
        "a host's pip freeze; tests/smoke/test_wheelhouse.py builds a lean one for this machine",
        {},
    ),
    "pip install --no-index --find-links wheelhouse 'mixft[gpu]'": ("on the machine without internet", {}),
    "pip install --no-index --no-deps lean/*.whl": ("on the GPU host", {}),
    "pip check": ("on the GPU host", {}),
    "source .venv/bin/activate": ("the tests call the venv's Python directly", {}),
    "pip install -e '.[gpu]'": ("CUDA-only extras; no package downloads in tests", {}),
    "pip install flash-attn --no-build-isolation": ("needs CUDA and a compiler", {}),
    "pip install 'mixft[eval]'": ("the dev install has lm-eval already; no package downloads in tests", {}),
    "export MIXFT_HOME=$HOME/mixft-store": ("each page gets a fresh store in its place", {}),
    "export MIXFT_HOME=/scratch/$USER/mixft": ("each page gets a fresh store in its place", {}),
    "export HF_TOKEN=hf_your_token": ("a secret; tests run without Hugging Face credentials", {}),
    "export WANDB_API_KEY=your_key": ("a secret; tests run without W&B credentials", {}),
    "wandb login": ("interactive, and needs network", {}),
    "mlflow server --host 0.0.0.0 --port 5000 --backend-store-uri sqlite:///mlflow.db --artifacts-destination ./mlartifacts": (
        "a server that runs until stopped; `make test-mlflow` starts one and tests mixft against it",
        {},
    ),
    "export HF_HUB_OFFLINE=1": ("applied (tests are offline anyway)", {"HF_HUB_OFFLINE": "1"}),
    "export HF_DATASETS_OFFLINE=1": ("applied (tests are offline anyway)", {"HF_DATASETS_OFFLINE": "1"}),
    "tail -n 50 $MIXFT_HOME/runs/<training>/evals/<eval>/run.log": (
        "<training> and <eval> are placeholders: the two parts of a run id",
        {},
    ),
    "sky jobs launch -n mixft-cocktail-paper sweep.sky.yaml --secret HF_TOKEN --secret WANDB_API_KEY": (
        "rents a cloud box; tests check the spec `mixft launch-spec` writes instead",
        {},
    ),
    "sky jobs queue": ("needs a SkyPilot controller", {}),
    "sky jobs logs": ("needs a SkyPilot controller", {}),
}


@dataclass
class Page:
    name: str
    items: list[Command | File | Other] = field(default_factory=list)

    @property
    def commands(self) -> list[Command]:
        return [i for i in self.items if isinstance(i, Command)]


FENCE = re.compile(r"^```(\S*)(.*)$")
FILE_COMMENT = re.compile(r"^#\s*file:\s*(\S+)\s*$")
FILE_INFO = re.compile(r"\bfile=(\S+)")
TRAILING_COMMENT = re.compile(r"\s+#(\s.*)?$")
CD = re.compile(r"^cd (\S+)$")


def _blocks(text: str) -> list[tuple[int, str, str, list[str]]]:
    """Fenced blocks: (line number of the first content line, language, info rest, lines)."""
    blocks, current = [], None
    for number, line in enumerate(text.splitlines(), start=1):
        match = FENCE.match(line)
        if current is None and match:
            current = (number + 1, match.group(1), match.group(2), [])
        elif current is not None and line.startswith("```"):
            blocks.append(current)
            current = None
        elif current is not None:
            current[3].append(line)
    assert current is None, f"unclosed ``` block from line {current[0] - 1}"
    return blocks


def _logical_lines(start: int, lines: list[str]) -> list[tuple[int, str]]:
    """(line number, text) with `\\` continuations joined."""
    out: list[tuple[int, str]] = []
    pending = ""
    for offset, line in enumerate(lines):
        if not pending:
            first = start + offset
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        out.append((first, pending.strip()))
        pending = ""
    return out


def _adjacent(text: str, block_start: int, previous_end: int) -> bool:
    """True when only blank lines lie between the previous block's end and this block's fence."""
    between = text.splitlines()[previous_end : block_start - 2]
    return all(not line.strip() for line in between)


def parse(path: Path) -> Page:
    """Read a page into its commands, files and other lines, in document order."""
    text = path.read_text(encoding="utf-8")
    page = Page(path.name)
    previous: tuple[str, int] | None = None  # language and last line of the previous block
    last: Command | None = None  # the last command of the previous block, if it was a bash block
    for start, lang, info, lines in _blocks(text):
        end = start + len(lines)
        first = FILE_COMMENT.match(lines[0]) if lines else None
        named = FILE_INFO.search(info)
        if first or named:
            page.items.append(File((first or named).group(1), "\n".join(lines) + "\n"))
        elif lang == "bash":
            last = None
            for number, line in _logical_lines(start, lines):
                if not line or line.startswith("#"):
                    continue
                if line.startswith("mixft "):
                    last = Command(path.name, number, tuple(shlex.split(line, comments=True)))
                    page.items.append(last)
                else:
                    page.items.append(Other(TRAILING_COMMENT.sub("", line)))
        elif lang == "text" and previous and previous[0] == "bash" and _adjacent(text, start, previous[1]):
            assert last is not None, f"{path.name}:{start}: output shown after a bash block with no command"
            last.shows.extend(ln for ln in lines if ln.strip() and ln.strip() != "...")
        previous = (lang, end)
    return page


def _squash(text: str) -> str:
    return " ".join(text.split())


def _environment(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)  # tests/conftest.py made it offline, with MIXFT_HOME in tmp_path
    for name in ("WANDB_API_KEY", "HF_TOKEN", "PYTHONPATH"):
        env.pop(name, None)
    env["NETRC"] = str(tmp_path / "no-netrc")  # no W&B credentials from ~/.netrc either
    env["WANDB_BASE_URL"] = "http://127.0.0.1:9"  # and nothing could reach a W&B server anyway
    return env


def _run(command: Command, cwd: Path, env: dict[str, str]) -> None:
    rewrite = REWRITES.get(command.key, Rewrite(""))
    args = [*command.args[1:], *rewrite.append]
    done = subprocess.run(
        [sys.executable, "-m", "mixft.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout + done.stderr
    where = f"{command.page}:{command.line}: `{shlex.join(['mixft', *args])}`"
    assert done.returncode == rewrite.exit_code, f"{where} exited {done.returncode}\n{output[-3000:]}"
    assert "Traceback" not in output and "internal error" not in output, f"{where}\n{output[-3000:]}"
    squashed = _squash(output)
    for fragment in [rewrite.output, *command.shows]:
        assert _squash(fragment) in squashed, f"{where} did not print: {fragment}\n{output[-3000:]}"


@pytest.mark.smoke
@pytest.mark.slow
@pytest.mark.parametrize("path", PAGES, ids=[p.stem for p in PAGES])
def test_every_command_of_the_page_runs(path, tmp_path):
    page = parse(path)
    work = tmp_path / "work"
    work.mkdir()
    env = _environment(tmp_path)
    for item in page.items:
        if isinstance(item, File):
            target = work / item.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(item.text, encoding="utf-8")
        elif isinstance(item, Other) and CD.match(item.line):
            work = work / CD.match(item.line).group(1)
        elif isinstance(item, Other):
            assert item.line in OTHER_LINES, f"{path.name}: `{item.line}` is in neither OTHER_LINES nor run"
            env |= OTHER_LINES[item.line][1]
        else:
            _run(item, work, env)


def test_every_bash_line_runs_or_says_why_not():
    unknown = [
        f"{page.name}: {item.line}"
        for page in map(parse, PAGES)
        for item in page.items
        if isinstance(item, Other) and item.line not in OTHER_LINES and not CD.match(item.line)
    ]
    assert not unknown, "add these to OTHER_LINES with the reason they do not run:\n" + "\n".join(unknown)


def test_the_tables_name_only_lines_of_the_docs():
    pages = [parse(p) for p in PAGES]
    commands = {c.key for page in pages for c in page.commands}
    others = {i.line for page in pages for i in page.items if isinstance(i, Other)}
    assert not set(REWRITES) - commands, (
        f"REWRITES entries no doc command matches: {set(REWRITES) - commands}"
    )
    assert not set(OTHER_LINES) - others, f"OTHER_LINES entries the docs lack: {set(OTHER_LINES) - others}"


def test_every_page_has_commands_and_the_readme_links_it():
    readme = README.read_text(encoding="utf-8")
    for path in PAGES:
        assert parse(path).commands, f"{path.name} has no command to test"
        assert f"(docs/{path.name})" in readme, f"README.md does not link docs/{path.name}"


def test_the_reader_finds_commands_outputs_files_and_other_lines(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "```yaml\n# file: conf/task/x.yaml\nname: x\n```\n"
        "```bash\n# a comment\nmixft plan 'my sweep.yaml' \\\n    --format json   # why\nmake install  # why\n```\n"
        "\n```text\n6 runs:  5 trained\n...\n```\n"
        "Prose between: the next block is an illustration, not checked.\n\n```text\nnot checked\n```\n"
        '```json file=data/x.jsonl\n{"a": 1}\n```\n'
    )
    items = parse(page).items
    assert [type(i).__name__ for i in items] == ["File", "Command", "Other", "File"]
    assert items[0] == File("conf/task/x.yaml", "# file: conf/task/x.yaml\nname: x\n")
    assert items[1].args == ("mixft", "plan", "my sweep.yaml", "--format", "json")
    assert items[1].line == 7 and items[1].shows == ["6 runs:  5 trained"]
    assert items[2] == Other("make install") and items[3] == File("data/x.jsonl", '{"a": 1}\n')
