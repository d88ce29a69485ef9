"""A run's ids from its resolved config: the training it needs and the evaluation it is.

run: mixft plan smoke --format json    (`id` is `<training>-<evaluation>`, `training` the first part)

The rules live next to the hashing, in store/identity.py; this module adds the data identities
(data/fingerprint.py), which reading files puts above the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mixft.runner.config.load import load_config
from mixft.runner.config.run import resolve, role_of
from mixft.runner.config.schema import Config
from mixft.runner.data.fingerprint import data_files, data_ids
from mixft.runner.store.identity import Digests, run_ids, split_id


@dataclass(frozen=True)
class RunIds:
    # `<training>-<evaluation>`: the run's folder is runs/<training>/evals/<evaluation>/
    run: str
    # the training identity without data content (see `run_ids`)
    recipe: str
    # local files the run reads: path -> SHA-256
    files: dict[str, str | None] = field(default_factory=dict)

    @property
    def training(self) -> str:
        """The training id: runs/<training>/ holds the weights."""
        return split_id(self.run)[0]

    def training_facts(self) -> dict[str, Any]:
        """What the training's run.json records so that a later plan can say what changed."""
        return {"recipe": self.recipe, "data": self.files}


class Identifier:
    """Ids of many runs, with section digests memoised across them."""

    def __init__(self) -> None:
        self.digests = Digests()

    def __call__(self, cfg: Config) -> RunIds:
        data = data_ids(cfg)
        rid, recipe = run_ids(cfg, data, self.digests)
        return RunIds(rid, recipe, data_files(data))


def ids_of(cfg: Config) -> RunIds:
    """The ids of one resolved run config."""
    return Identifier()(cfg)


def identify(overrides: list[str]) -> tuple[str, Config, str, dict[str, Any]]:
    """A run from its overrides as a sweep plans it now: run id, resolved config, role, training facts.

    Raises:
        ConfigError: the overrides no longer compose (a removed option or field).
    """
    cfg = resolve(load_config(overrides))
    ids = ids_of(cfg)
    return ids.run, cfg, role_of(cfg), ids.training_facts()
