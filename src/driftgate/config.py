"""Settings: the only module that reads the environment."""

from __future__ import annotations

import fnmatch
import getpass
import os
import socket
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_ENV_PREFIX = "DRIFTGATE_SECRET_"


def _default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "driftgate"


def _safe_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class Settings(BaseSettings):
    """driftgate's settings, read from ``DRIFTGATE_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="DRIFTGATE_", extra="ignore")

    home: Path = Field(default_factory=_default_home)
    database_url: str | None = None
    queue_url: str | None = None  # redis://host:port/db to scale out; default: SQLite under home
    stacks_root: Path | None = None  # where the API finds stacks by relative path; default: home/stacks
    secrets_dir: Path | None = None
    parallelism: int = Field(default=10, ge=1, le=256)
    action_timeout: float = Field(default=600.0, gt=0)
    git_timeout: float = Field(default=60.0, gt=0, le=3600)  # one git fetch or push; then it is stopped
    max_spec_file_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    max_spec_depth: int = Field(default=64, ge=4, le=512)  # nesting of specs, plan files, API bodies
    max_spec_expanded_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)  # scalars counted through aliases
    provider_plugins: str = ""
    # The trust boundary of secret://env: glob patterns of the variables a spec may read, besides
    # DRIFTGATE_SECRET_*. driftgate's own settings (every other DRIFTGATE_* name) are never readable.
    secret_env_allow: str = ""
    job_stale_seconds: float = Field(default=900.0, gt=0)  # a silent queued/running job is re-queued
    reconcile_every_minutes: int = Field(default=0, ge=0, le=1440)  # 0: the periodic reconcile is off
    reconcile_stacks: str = ""  # comma-separated stack paths under the stacks root
    pr_rate_per_hour: int = Field(default=2, ge=1)  # per config repo, like Renovate's default
    pr_max_open: int = Field(default=10, ge=1)
    log_level: str = "WARNING"
    actor: str = Field(default_factory=lambda: _safe_user())
    hostname: str = Field(default_factory=socket.gethostname)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'driftgate.db'}"

    @property
    def effective_stacks_root(self) -> Path:
        return self.stacks_root or self.home / "stacks"

    @property
    def effective_secrets_dir(self) -> Path:
        return self.secrets_dir or self.home / "secrets"

    @property
    def reconcile_stack_list(self) -> list[str]:
        return [p.strip() for p in self.reconcile_stacks.split(",") if p.strip()]

    def secret_env_allowed(self, name: str) -> bool:
        """May a ``secret://env/NAME`` reference read this variable?"""
        if name.startswith(SECRET_ENV_PREFIX):
            return True
        if name.upper().startswith("DRIFTGATE_"):
            return False
        patterns = [p.strip() for p in self.secret_env_allow.split(",") if p.strip()]
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)

    @property
    def plugin_specs(self) -> list[str]:
        return [p.strip() for p in self.provider_plugins.split(",") if p.strip()]


def load_settings(**overrides: object) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]


def environment_value(name: str) -> str | None:
    """Read one variable for the ``secret://env`` backend (settings own the environment)."""
    return os.environ.get(name)
