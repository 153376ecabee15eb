"""The workspace: settings, the store, the provider registry, and loading a stack."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine

from driftgate.config import Settings, environment_value
from driftgate.errors import DriftgateError, ProviderConfigError
from driftgate.providers.base import Provider, ProviderContext
from driftgate.providers.registry import ProviderRegistry, default_registry
from driftgate.spec.loader import load_stack
from driftgate.spec.model import Stack
from driftgate.spec.refs import SecretResolver
from driftgate.spec.yamlsafe import ParseCache
from driftgate.store.db import make_engine, migrate


@dataclass
class Workspace:
    settings: Settings
    engine: Engine
    registry: ProviderRegistry

    @classmethod
    def open(cls, settings: Settings) -> Workspace:
        settings.home.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.effective_database_url)
        migrate(engine)
        return cls(settings, engine, default_registry(settings.plugin_specs))

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One unit of work: commit on success, roll back on error."""
        with self.engine.begin() as conn:
            yield conn

    def secrets(self) -> SecretResolver:
        return SecretResolver(env=environment_value, files_root=self.settings.effective_secrets_dir)

    def load_stack(self, directory: Path) -> Stack:
        return load_stack(
            directory.resolve(),
            kinds=self.registry.kind,
            providers=self.registry.names,
            max_bytes=self.settings.max_spec_file_bytes,
            cache=ParseCache(self.settings.home / "cache" / "specs"),
        )

    def providers_for(self, stack: Stack) -> dict[str, Provider]:
        """Configured providers for every provider block in the stack (secrets resolved now)."""
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
