"""The one rule for what looks like a secret, and the checks that keep secrets out of configs.

run: mixft config show training.sft_kwargs.hub_token=x    (-> refused: pass tokens through the environment)

Tokens (HF_TOKEN, WANDB_API_KEY, ...) reach mixft through the environment only. A config is saved
with its run and sent to W&B, so a key that looks like a secret is refused wherever it appears: as an
override's key, or at any depth of a value (a dict-valued override).
"""

from __future__ import annotations

import re
from typing import Any

from mixft.runner.errors import ConfigError

# hub_token, api_key, password ... but not max_new_tokens or n_tokens
SECRET_NAME = re.compile(r"(^|_)(token|key|apikey|secret|password|passwd|credentials?)$", re.IGNORECASE)


def looks_secret(name: str) -> bool:
    """True for a key named like a secret (…_token, …_key, password, credentials, ...)."""
    return bool(SECRET_NAME.search(name))


def secret_paths(value: Any, path: str = "") -> list[str]:
    """Dotted paths of secret-looking keys that hold a value, at any depth."""
    if isinstance(value, dict):
        return [hit for k, v in value.items() for hit in secret_paths(v, f"{path}.{k}".lstrip("."))]
    if isinstance(value, list):
        return [hit for v in value for hit in secret_paths(v, path)]
    return [path] if looks_secret(path.rsplit(".", 1)[-1]) and value not in (None, "") else []


def refuse_secrets(value: Any) -> None:
    """Raise ConfigError naming the first secret-looking key that holds a value (see `secret_paths`)."""
    hidden = secret_paths(value)
    if hidden:
        raise ConfigError(
            f"'{hidden[0]}' looks like a secret: pass tokens through the environment (HF_TOKEN, "
            "WANDB_API_KEY), never in overrides or configs, which are saved with the run"
        )


def without_secrets(value: Any) -> Any:
    """A copy without secret-looking keys, for what leaves the machine (W&B config)."""
    if isinstance(value, dict):
        return {k: without_secrets(v) for k, v in value.items() if not looks_secret(str(k))}
    if isinstance(value, list):
        return [without_secrets(v) for v in value]
    return value
