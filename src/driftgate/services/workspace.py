"""The workspace: settings, the store, the provider registry, and loading a stack."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DataError, OperationalError

from driftgate.config import Settings, environment_value
from driftgate.errors import INVALID_INPUT, CodedError, DriftgateError, ProviderConfigError, StoreUnavailable
from driftgate.store.db import make_engine, migrate

if TYPE_CHECKING:  # the spec model and the providers load when a command first needs them
    from driftgate.plugin.host import PluginHost
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
    stack_registries: dict[Path, ProviderRegistry] = field(default_factory=dict)
    plugin_host: PluginHost | None = None
    configured: list[Provider] = field(default_factory=list)  # closed when the run ends

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

    def registry_for(self, directory: Path) -> ProviderRegistry:
        """The registry and the plugins the stack in ``directory`` declares (started on first need:
        their manifests give the kinds its specs are checked against)."""
        directory = directory.resolve()
        known = self.stack_registries.get(directory)
        if known is not None:
            return known
        from driftgate.spec.loader import read_stack_spec
        from driftgate.spec.plugins import is_plugin_block

        spec = read_stack_spec(directory, limits=self.yaml_limits())
        blocks = {n: b for n, b in (spec.providers if spec else {}).items() if is_plugin_block(b)}
        if not blocks:
            return self.registry
        from driftgate.plugin.host import PluginHost
        from driftgate.spec.plugins import block_problems

        if self.plugin_host is None:
            self.plugin_host = PluginHost(action_timeout=self.settings.action_timeout)
        started = {}
        for name, block in blocks.items():
            if block_problems(block):
                continue  # the loader reports them, with file, line and field
            started[name] = self.plugin_host.provider(name, block, directory)
        registry = self.registry.with_instances(started)
        self.stack_registries[directory] = registry
        return registry

    def end_run(self) -> None:
        """Close the providers this run configured (their connections) and stop the plugins it
        started (one process per provider per run); ``close`` does it too."""
        configured, self.configured = self.configured, []
        for provider in configured:
            try:
                provider.close()
            except DriftgateError:
                continue  # closing is best effort; the run's outcome is already recorded
        if self.plugin_host is not None:
            self.plugin_host.close_all()
        self.stack_registries.clear()

    @contextmanager
    def run(self) -> Iterator[Workspace]:
        """One run, on its own plugins (runs at once in one process do not share them), which are
        stopped when it ends, however it ends. The store is shared."""
        mine = replace(self, stack_registries={}, plugin_host=None, configured=[])
        try:
            yield mine
        finally:
            mine.end_run()

    def close(self) -> None:
        self.end_run()
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

        registry = self.registry_for(directory)
        return load_stack(
            directory.resolve(),
            kinds=registry.kind,
            providers=registry.names,
            kind_names=registry.kind_names,
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
        from driftgate.spec.plugins import is_plugin_block

        ctx = ProviderContext(
            stack_dir=stack.directory, data_dir=self.settings.home / "providers" / stack.name
        )
        registry = self.registry_for(stack.directory)
        configured: dict[str, Provider] = {}
        for name, block in stack.spec.providers.items():
            provider = registry.create(name)
            config = block.get("config", {}) if is_plugin_block(block) else block
            try:
                provider.configure(self.secrets().resolve_all(config), ctx)
            except ProviderConfigError:
                raise
            except DriftgateError as exc:
                raise ProviderConfigError(f"provider {name!r}: {exc}") from None
            configured[name] = provider
            self.configured.append(provider)
        return configured
