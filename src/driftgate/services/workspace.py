"""The workspace: settings, the store, the provider registry, and loading a stack."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DataError, OperationalError

from driftgate.config import Settings, environment_value
from driftgate.errors import INVALID_INPUT, CodedError, DriftgateError, ProviderConfigError, StoreUnavailable
from driftgate.store.db import make_engine, migrate

if TYPE_CHECKING:  # the spec model and the providers load when a command first needs them
    from driftgate.providers.base import Provider
    from driftgate.providers.registry import ProviderRegistry
    from driftgate.spec.model import Stack
    from driftgate.spec.refs import SecretResolver
    from driftgate.spec.yamlsafe import YamlLimits


@contextmanager
def store_errors() -> Iterator[None]:
    """The one boundary where the database driver's operational failures become a driftgate error."""
    try:
        yield
    except OperationalError as exc:
        reason = " ".join(str(exc.orig or exc).split())[:300]
        raise StoreUnavailable(f"the store did not answer or could not write: {reason}") from None
    except DataError as exc:  # a value this store cannot hold (PostgreSQL: a NUL in text)
        reason = " ".join(str(exc.orig or exc).split())[:300]
        raise CodedError(INVALID_INPUT, f"the store cannot hold a value given: {reason}") from None


@dataclass
class Workspace:
    settings: Settings
    engine: Engine
    loaded_registry: ProviderRegistry | None = None

    @classmethod
    def open(cls, settings: Settings) -> Workspace:
        settings.home.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.effective_database_url)
        with store_errors():
            migrate(engine)
        return cls(settings, engine)

    @property
    def registry(self) -> ProviderRegistry:
        """The providers (built-in and plugins), found on first use: a listing never needs them."""
        if self.loaded_registry is None:
            from driftgate.providers.registry import default_registry

            self.loaded_registry = default_registry(self.settings.plugin_specs)
        return self.loaded_registry

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One unit of work: commit on success, roll back on error; store failures as StoreUnavailable."""
        with store_errors(), self.engine.begin() as conn:
            yield conn

    def secrets(self) -> SecretResolver:
        from driftgate.spec.refs import SecretResolver

        return SecretResolver(
            env=environment_value,
            files_root=self.settings.effective_secrets_dir,
            env_allowed=self.settings.secret_env_allowed,
        )

    def load_stack(self, directory: Path) -> Stack:
        from driftgate.spec.loader import load_stack
        from driftgate.spec.yamlsafe import ParseCache

        return load_stack(
            directory.resolve(),
            kinds=self.registry.kind,
            providers=self.registry.names,
            kind_names=self.registry.kind_names,
            limits=self.yaml_limits(),
            cache=ParseCache(self.settings.home / "cache" / "specs"),
        )

    def plan_key(self) -> bytes:
        """This home's key for signing plan files (made on first use, readable by its owner only)."""
        path = self.settings.home / "plan-signing.key"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            return path.read_bytes()
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
        return path.read_bytes()

    def yaml_limits(self) -> YamlLimits:
        from driftgate.spec.yamlsafe import YamlLimits

        return YamlLimits(
            max_bytes=self.settings.max_spec_file_bytes,
            max_depth=self.settings.max_spec_depth,
            max_expanded_bytes=self.settings.max_spec_expanded_bytes,
        )

    def providers_for(self, stack: Stack) -> dict[str, Provider]:
        """Configured providers for every provider block in the stack (secrets resolved now)."""
        from driftgate.providers.base import ProviderContext

        ctx = ProviderContext(stack_dir=stack.directory)
        configured: dict[str, Provider] = {}
        for name, config in stack.spec.providers.items():
            provider = self.registry.create(name)
            try:
                provider.configure(self.secrets().resolve_all(config), ctx)
            except ProviderConfigError:
                raise
            except DriftgateError as exc:
                raise ProviderConfigError(f"provider {name!r}: {exc}") from None
            configured[name] = provider
        return configured
