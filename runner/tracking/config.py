"""What every tracker records as a run's config: the resolved config with dotted keys, secrets out.

run: mixft sweep smoke tracker=mlflow    (then: each MLflow run's params; W&B: each run's config)
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mixft.runner.config.run import summary
from mixft.runner.config.schema import Config
from mixft.runner.config.secrets import without_secrets
from mixft.runner.jsonutil import flatten


def tracking_config(cfg: Config, role: str, sweep: str | None) -> dict[str, Any]:
    """The resolved config with dotted keys, plus the sweep axes (role, tasks, ...) at top level.

    Secret-looking keys are left out by the one rule of config/secrets.py; the task catalogue is cut
    to its names (the details are in the run dir's config.yaml).
    """
    plain = dataclasses.asdict(cfg) | {"task": sorted(cfg.task)}
    return flatten(without_secrets(plain)) | summary(cfg, role) | {"sweep": sweep}
