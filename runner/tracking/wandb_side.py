"""W&B side runs (a comparison, a search's rounds) and reading a sweep's W&B runs back.

run: mixft compare smoke --publish    |    mixft search search_smoke tracker=wandb    |    mixft compare smoke --source wandb

The one place a W&B side run is set up: job type = its kind, group = the sweep or search, files in
<folder>/wandb (offline without credentials; `mixft sync --all` uploads them). A failure is one warning.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from mixft.runner.config.trackers import WandbConfig
from mixft.runner.errors import ConfigError
from mixft.runner.tracking.base import SideRun, TrackedRun, guarded, one_line
from mixft.runner.tracking.wandb_init import SETTINGS, has_credentials, init_run, resolve_mode

log = logging.getLogger(__name__)

API_TIMEOUT_S = 60
# W&B run states -> mixft states
WANDB_STATES = {"finished": "done", "failed": "failed", "crashed": "failed", "killed": "interrupted"}


class WandbSideRun(SideRun):
    """One W&B run beside a sweep's runs."""

    def __init__(self, run: Any, online: bool) -> None:
        self.run, self.online = run, online

    @classmethod
    def start(
        cls, settings: WandbConfig, kind: str, group: str, folder: Path, config: dict[str, Any]
    ) -> WandbSideRun | None:
        """Start it; None when W&B is disabled or the start failed (warned)."""
        import wandb

        folder.mkdir(parents=True, exist_ok=True)
        try:
            mode = resolve_mode(settings.mode, folder / "wandb", "--all")
            if mode == "disabled":
                return None
            kwargs = {
                "project": settings.project,
                "entity": settings.entity,
                "group": group,
                "job_type": kind,
                "name": f"{kind} · {group}",
                "dir": str(folder),
                "config": config,
                "settings": wandb.Settings(**SETTINGS),
            }
            return cls(init_run(mode, kwargs, folder / "wandb", "--all"), mode == "online")
        except Exception as exc:
            log.warning(
                "W&B: starting the %s run failed (%s); local files are unaffected", kind, one_line(exc)
            )
            return None

    def log_step(self, values: dict[str, float], step: int) -> None:
        with guarded("W&B", "log"):
            self.run.log(values, step=step)

    def log_table(self, name: str, rows: list[dict[str, Any]]) -> None:
        import wandb

        columns = list(rows[0]) if rows else ["model", "task", "mixture", "delta"]
        data = [
            ["+".join(v) if isinstance(v, list) else v for v in (r.get(c) for c in columns)] for r in rows
        ]
        with guarded("W&B", f"table {name}"):
            self.run.log({name: wandb.Table(columns=columns, data=data)})

    def log_image(self, name: str, path: Path) -> None:
        import wandb

        with guarded("W&B", f"image {name}"):
            self.run.log({name: wandb.Image(str(path))})

    def set_summary(self, values: dict[str, Any]) -> None:
        with guarded("W&B", "summary"):
            self.run.summary.update(values)

    def finish(self) -> str | None:
        import wandb

        try:
            where = self.run.url if self.online else str(Path(self.run.dir).parent)
            self.run.finish()
            wandb.teardown()
            return where
        except Exception as exc:
            log.warning("W&B: finishing the side run failed (%s); local files are unaffected", one_line(exc))
            return None


def _fetcher(run: Any, cache: Path) -> Any:
    def fetch(name: str) -> str | None:
        """The text of one of the run's W&B files; None when not uploaded or not reachable."""
        try:
            run.file(name).download(root=str(cache), replace=True, exist_ok=True)
            return (cache / name).read_text(encoding="utf-8")
        except Exception:  # not uploaded (an older run), or the network went away: no interval
            return None

    return fetch


def read_group(settings: WandbConfig, sweep: str, cache: Path | None = None) -> list[TrackedRun]:
    """The W&B runs of group `sweep` in the settings' project (side runs included: the reader drops
    what has no role), with their files fetched on demand into `cache`.

    Raises:
        ConfigError: No credentials, or the project cannot be listed.
    """
    import wandb

    from mixft.runner.paths import compare_dir

    if not has_credentials():
        raise ConfigError("--source wandb needs W&B credentials: set WANDB_API_KEY or run `wandb login`")
    path = f"{settings.entity}/{settings.project}" if settings.entity else settings.project
    try:
        found = list(wandb.Api(timeout=API_TIMEOUT_S).runs(path, filters={"group": sweep}))
    except Exception as exc:
        raise ConfigError(f"W&B project '{path}': cannot list runs ({str(exc).splitlines()[0]})") from None
    cache = cache or compare_dir(sweep) / "wandb-files"
    return [
        TrackedRun(
            id=run.id,
            state=WANDB_STATES.get(run.state, run.state),
            config=dict(run.config),
            summary=dict(run.summary),
            fetch=_fetcher(run, cache / run.id),
        )
        for run in found
    ]
