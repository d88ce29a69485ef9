"""The shape of the code: stages import one way, small modules, every command documents itself, and
every file a docstring points at exists."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest
import typer

from mixft.cli.formats import Format
from mixft.cli.main import app
from tests.unit.helpers import invoke

ROOT = Path(__file__).resolve().parents[2]
MAX_LINES = 310  # "~300": a module past this has more than one job
LEAVES = {"__init__.py", "errors.py", "paths.py", "jsonutil.py"}  # the only modules at the top of runner/


def commands() -> list[list[str]]:
    """Every command path of the CLI: [], [plan], [config], [config, ls], ..."""
    found: list[list[str]] = []

    def walk(command: click.Command, path: list[str]) -> None:
        found.append(path)
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def test_the_import_contract_holds():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "1 kept, 0 broken" in result.stdout


def test_runner_is_folders_and_a_few_shared_leaves():
    top = {p.name for p in (ROOT / "runner").iterdir() if p.suffix == ".py"}
    assert top == LEAVES
    folders = {p.name for p in (ROOT / "runner").iterdir() if p.is_dir() and p.name != "__pycache__"}
    stages = {
        "config",
        "plan",
        "store",
        "execute",
        "train",
        "evaluate",
        "scoring",
        "tracking",
        "data",
        "compare",
        "search",
    }
    assert folders == stages


@pytest.mark.parametrize(
    "path", sorted((ROOT / "runner").rglob("*.py")) + sorted((ROOT / "cli").glob("*.py"))
)
def test_modules_stay_small(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES, f"{path.relative_to(ROOT)}: split it by job"


@pytest.mark.parametrize("command", commands(), ids=lambda c: " ".join(c) or "mixft")
def test_every_command_has_help(command):
    result = invoke(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage" in result.stdout and len(result.stdout.strip().splitlines()) > 3


def test_every_format_option_offers_known_formats_only():
    offered = {}

    def walk(command: click.Command, path: str) -> None:
        for param in command.params:
            if "--format" in getattr(param, "opts", []):
                offered[path] = [str(m.value) for m in param.type_descriptor.annotation]
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}".strip())

    walk(typer.main.get_command(app), "")
    assert set(offered) == {"plan", "run", "status", "compare", "data stats"}
    for choices in offered.values():
        assert set(choices) <= {f.value for f in Format}
    assert offered["run"] == offered["status"] == ["table", "json"]  # each offers what it prints


# A path in a docstring or comment: runner/..., cli/..., tests/..., conf/..., docs/..., sweeps/..., or a
# module inside runner/ named from its stage folder (store/rundir.py)
STAGES = "config|plan|store|execute|train|evaluate|scoring|tracking|data|compare"
POINTER = re.compile(rf"(?<![\w/.])((?:runner|cli|tests|conf|docs|sweeps|{STAGES})/[\w./{{}}<>-]*\w)")


def pointers(path: Path) -> list[str]:
    """Repository paths a file's docstrings and comments name (templates with <...> or {...} left out)."""
    text = path.read_text()
    found = []
    if path.suffix == ".py":
        tree = ast.parse(text)
        nodes = [n for n in ast.walk(tree) if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef)]
        docs = [ast.get_docstring(n) or "" for n in nodes]
        comments = [line.split("#", 1)[1] for line in text.splitlines() if "#" in line]
        text = "\n".join(docs + comments)
    for match in POINTER.findall(text):
        if not any(c in match for c in "<>{}*") and "." in match.rsplit("/", 1)[-1]:
            found.append(match)
    return found


SOURCES = [
    *sorted((ROOT / "runner").rglob("*.py")),
    *sorted((ROOT / "cli").glob("*.py")),
    *sorted((ROOT / "tests" / "bench").glob("*.py")),
    *sorted((ROOT / "conf").rglob("*.yaml")),
    *sorted((ROOT / "sweeps").glob("*.yaml")),
]


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_files_named_in_docstrings_exist(path):
    missing = [p for p in pointers(path) if not (ROOT / p).exists() and not (ROOT / "runner" / p).exists()]
    assert not missing, f"{path.relative_to(ROOT)} names files that do not exist: {missing}"


# Public names no product code calls, kept on purpose: each says who it is for.
FOR_TESTS_AND_USERS = {
    "clear_caches": "a live process that changed conf/ (tests, notebooks) composes anew",
    "packaged_sweeps": "the sweeps mixft ships, which tests plan one by one",
    "label_of": "the sample suite's labelling rule, which tests check every sample row against",
    "numeric_metrics": "numeric accuracy over parsed numbers, the reference evaluation is checked against",
    "score_example": "score one output by task kind, for tests and notebooks",
}


def product_sources() -> list[Path]:
    return [*sorted((ROOT / "runner").rglob("*.py")), *sorted((ROOT / "cli").glob("*.py"))]


def test_no_public_code_is_left_for_tests_alone():
    """A public function, class or constant that no product code uses is dead (as `record_stats` was)."""
    defined: dict[str, Path] = {}
    used: set[str] = set()
    for path in product_sources():
        tree = ast.parse(path.read_text())
        for node in tree.body:
            decorated = isinstance(node, ast.FunctionDef) and node.decorator_list  # CLI commands
            if (
                isinstance(node, ast.FunctionDef | ast.ClassDef)
                and not node.name.startswith("_")
                and not decorated
            ):
                defined[node.name] = path
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name) and not target.id.startswith("_"):
                        defined[target.id] = path
        for node in ast.walk(tree):
            if isinstance(node, ast.Name | ast.Attribute):
                used.add(node.id if isinstance(node, ast.Name) else node.attr)
            elif isinstance(node, ast.alias):
                used.add(node.name.rsplit(".", 1)[-1])
    unused = {name: str(path.relative_to(ROOT)) for name, path in defined.items() if name not in used}
    assert unused.keys() == FOR_TESTS_AND_USERS.keys(), unused


def test_help_keeps_text_in_brackets():
    # rich reads [...] as markup: an unescaped "[fpb]" or "[default: ...]" vanished from --help
    assert "mixture.tasks=[fpb]" in " ".join(invoke("run", "--help").stdout.split())
    sweep_help = " ".join(invoke("sweep", "--help").stdout.split())
    assert "(default: executor.gpus)" in sweep_help and "FIELD=VALUE[,...]" in sweep_help
