"""Where config options and sweeps come from: project folders first, then the packaged ones.

run: mixft config ls task    (from a project folder: its conf/task/*.yaml listed with the packaged tasks)

A project folder holds `conf/<group>/*.yaml` and/or `sweeps/*.yaml`. mixft reads, highest first: the
folders of `--config-dir` and MIXFT_CONFIG_PATH (dir1:dir2), then the directory it runs in when that is
a project folder, then the package. Hydra gets the same folders, before its own primary source, from
config/compose.py's ProjectSearchPath (a Hydra SearchPathPlugin), so an option of the same name in a project shadows the
packaged one for both Hydra's composition and mixft's fast path and task catalogue: this module is the
one owner of the order.
"""

from __future__ import annotations

import filecmp
import os
import shutil
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

from mixft.runner.config.yamlio import parse_yaml
from mixft.runner.errors import ConfigError, unknown

ENV = "MIXFT_CONFIG_PATH"
PACKAGED_CONF = "mixft.conf"
PACKAGED_SWEEPS = "mixft.sweeps"
# the folders of conf/ a project may add options to
CONF_GROUPS = ("model", "task", "mixture", "regularizer", "training", "eval", "suite", "tracker", "executor")


@dataclass(frozen=True)
class Source:
    """One place options come from: a project folder, or the package itself (`project` is False)."""

    root: Path
    conf: Path
    sweeps: Path
    project: bool

    @property
    def label(self) -> str:
        """How listings name it: the project folder's path, or "packaged"."""
        return str(self.root) if self.project else "packaged"


def packaged() -> Source:
    """The configs and sweeps shipped inside mixft."""
    conf = Path(str(files(PACKAGED_CONF)))
    return Source(conf.parent, conf, Path(str(files(PACKAGED_SWEEPS))), project=False)


def packaged_sweeps() -> list[str]:
    """Names of the sweeps shipped in mixft's sweeps/."""
    return sorted(p.stem for p in packaged().sweeps.glob("*.yaml"))


def is_project(folder: Path) -> bool:
    """True for a folder holding conf/ or sweeps/."""
    return (folder / "conf").is_dir() or (folder / "sweeps").is_dir()


def use_project(folder: str | Path) -> Path:
    """Put `folder` first on this process's search path (and its children's, through MIXFT_CONFIG_PATH)."""
    path = Path(folder).expanduser().resolve()
    if not path.is_dir():
        raise ConfigError(f"--config-dir {folder}: no such folder")
    if not is_project(path):
        raise ConfigError(f"--config-dir {folder}: not a project folder (it has no conf/ or sweeps/)")
    rest = os.environ.get(ENV, "")
    os.environ[ENV] = f"{path}{os.pathsep}{rest}" if rest else str(path)
    return path


def pin_search_path() -> None:
    """Write this process's project folders into MIXFT_CONFIG_PATH as absolute paths, so that the run
    processes it starts (locally, on SLURM, on Ray) read the same options wherever they start."""
    found = projects()
    if found:
        os.environ[ENV] = os.pathsep.join(str(s.root) for s in found)


def sources() -> tuple[Source, ...]:
    """Every source, highest first: the project folders, then the package."""
    try:
        cwd = os.getcwd()
    except OSError:  # the directory it ran in was deleted
        cwd = ""
    return _sources(os.environ.get(ENV, ""), cwd)


@cache
def _sources(env: str, cwd: str) -> tuple[Source, ...]:
    home = packaged()
    folders = []
    for entry in env.split(os.pathsep):
        if not entry:
            continue
        folder = Path(entry).expanduser().resolve()
        if not folder.is_dir():
            raise ConfigError(f"{ENV}: '{entry}' is not a folder; list project folders separated by ':'")
        folders.append(folder)
    if cwd and is_project(Path(cwd)):
        folders.append(Path(cwd).resolve())
    found: list[Source] = []
    for folder in dict.fromkeys(folders):  # in order, once each
        # the package's own checkout (an editable install run from it) is the packaged source
        if (folder / "conf").resolve() != home.conf.resolve():
            found.append(Source(folder, folder / "conf", folder / "sweeps", project=True))
    return (*found, home)


def projects() -> tuple[Source, ...]:
    """The project folders on the search path, highest first (empty outside any project)."""
    return sources()[:-1]


def option_file(group: str, option: str) -> Path | None:
    """The file of a group's option (the first source holding `<group>/<option>.yaml`), or None."""
    for source in sources():
        path = source.conf / group / f"{option}.yaml"
        if path.is_file():
            return path
    return None


def config_file(name: str = "config") -> Path:
    """The primary config (conf/config.yaml), from the first source that has one."""
    for source in sources():
        path = source.conf / f"{name}.yaml"
        if path.is_file():
            return path
    raise ConfigError(f"no conf/{name}.yaml in any config source")


def origins(group: str) -> dict[str, list[Path]]:
    """Every option of a group (sorted) with the files that define it, the one in use first."""
    return _origins(group, sources())


@cache
def _origins(group: str, sources_: tuple[Source, ...]) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for source in sources_:
        for path in sorted((source.conf / group).glob("*.yaml")):
            found.setdefault(path.stem, []).append(path)
    return dict(sorted(found.items()))


def sweep_origins() -> dict[str, list[Path]]:
    """Every sweep name (sorted) with the files that define it, the one in use first."""
    found: dict[str, list[Path]] = {}
    for source in sources():
        for path in sorted(source.sweeps.glob("*.yaml")):
            found.setdefault(path.stem, []).append(path)
    return dict(sorted(found.items()))


def shadowed(groups: tuple[str, ...]) -> list[tuple[str, str, Path]]:
    """(group, option, project file) for each project option that replaces a different packaged one
    (an identical copy replaces nothing: it is not reported)."""
    home = packaged().conf
    out = []
    for group in groups:
        for option, paths in origins(group).items():
            replaced = len(paths) > 1 and paths[-1].is_relative_to(home)
            if replaced and not filecmp.cmp(paths[0], paths[-1], shallow=False):
                out.append((group, option, paths[0]))
    return out


def source_of(path: Path) -> Source | None:
    """The project a config file belongs to; None for a packaged file."""
    return next((s for s in projects() if path.is_relative_to(s.conf)), None)


def copy_option(option: str, dest: Path | None = None, *, force: bool = False) -> Path:
    """Copy the packaged `GROUP/NAME` (or `sweep/NAME`) to `dest` (a file, or a folder to put it in;
    default: the project layout under the current directory). Returns the file written."""
    group, _, name = option.partition("/")
    home = packaged()
    groups = (*CONF_GROUPS, "sweep")
    if group not in groups or not name:
        raise ConfigError(f"'{option}': write GROUP/NAME, GROUP one of {', '.join(groups)} (task/fpb)")
    folder = home.sweeps if group == "sweep" else home.conf / group
    choices = sorted(p.stem for p in folder.glob("*.yaml"))
    if name not in choices:
        raise unknown(f"packaged {group}", name, choices)
    layout = Path("sweeps") if group == "sweep" else Path("conf") / group
    target = dest if dest is not None else layout
    if target.is_dir() or dest is None:
        target = target / f"{name}.yaml"
    if target.exists() and not force:
        raise ConfigError(f"{target} exists; pass --force to overwrite it")
    target.parent.mkdir(parents=True, exist_ok=True)
    tasks = suite_folder(folder / f"{name}.yaml") if group == "suite" else None
    if tasks is not None:  # the suite's lm-eval task YAMLs, at the same place relative to the copy
        if (target.parent / tasks).exists() and not force:
            raise ConfigError(f"{target.parent / tasks} exists; pass --force to overwrite it")
        shutil.copytree(folder / tasks, target.parent / tasks, dirs_exist_ok=True, ignore=IGNORED)
    shutil.copyfile(folder / f"{name}.yaml", target)
    return target


IGNORED = shutil.ignore_patterns("__pycache__", "__init__.py")


def suite_folder(suite_file: Path) -> str | None:
    """A packaged suite's `include_path` when it is a folder next to the file; else None."""
    include = (parse_yaml(suite_file.read_text(encoding="utf-8"), str(suite_file)) or {}).get("include_path")
    if include and not Path(include).is_absolute() and (suite_file.parent / include).is_dir():
        return include
    return None


def shown(path: Path) -> str:
    """A config file's path as one would type it here: relative under the current directory."""
    try:
        return str(path.relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(path)
