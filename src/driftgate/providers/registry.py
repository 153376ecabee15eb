"""The provider registry: built-ins registered explicitly, plugins by entry point or setting."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from importlib.metadata import entry_points

from driftgate.errors import ProviderConfigError
from driftgate.providers.base import Provider
from driftgate.providers.data import DataProvider
from driftgate.providers.file import FileProvider
from driftgate.spec.schema import KindSchema

ENTRY_POINT_GROUP = "driftgate.providers"
Factory = Callable[[], Provider]


class ProviderRegistry:
    """Factories by provider name; ``create`` gives a fresh, unconfigured provider. A provider's
    kinds are read the first time one of them is asked for (a plugin is not waited for until then)."""

    def __init__(self) -> None:
        self._factories: dict[str, Factory] = {}
        self._kinds: dict[str, dict[str, KindSchema]] = {}  # by provider, once read

    def register(self, name: str, factory: Factory) -> None:
        self._factories[name] = factory
        self._kinds.pop(name, None)

    def with_instances(self, providers: Mapping[str, Provider]) -> ProviderRegistry:
        """This registry and the given running providers (plugins a stack declares), as a new one."""
        extended = ProviderRegistry()
        extended._factories = dict(self._factories)
        extended._kinds = {n: k for n, k in self._kinds.items() if n not in providers}
        for name, provider in providers.items():
            extended.register(name, partial(_same, provider))
        return extended

    def _kinds_of(self, name: str) -> dict[str, KindSchema]:
        found = self._kinds.get(name)
        if found is None:
            found = dict(self._factories[name]().kinds())
            foreign = next((t for t in found if not t.startswith(name + ".")), None)
            if foreign is not None:
                raise ProviderConfigError(f"provider {name!r} declares foreign kind {foreign!r}")
            self._kinds[name] = found
        return found

    @property
    def names(self) -> list[str]:
        return sorted(self._factories)

    def kind(self, type_: str) -> KindSchema | None:
        name = type_.split(".", 1)[0]
        return self._kinds_of(name).get(type_) if name in self._factories else None

    @property
    def kind_names(self) -> Iterable[str]:
        """Every kind (read when iterated: only a misspelled kind needs them all)."""
        return _AllKinds(self)

    def all_kind_names(self) -> list[str]:
        return sorted(t for name in self._factories for t in self._kinds_of(name))

    def create(self, name: str) -> Provider:
        factory = self._factories.get(name)
        if factory is None:
            raise ProviderConfigError(f"unknown provider {name!r}")
        return factory()


class _AllKinds:
    def __init__(self, registry: ProviderRegistry) -> None:
        self.registry = registry

    def __iter__(self) -> Iterator[str]:
        return iter(self.registry.all_kind_names())


def _postgres() -> Provider:
    """Imported when a stack uses it (psycopg is not loaded for the others)."""
    from driftgate.providers.postgres import PostgresProvider

    return PostgresProvider()


def _terraform() -> Provider:
    from driftgate.providers.terraform.provider import TerraformProvider

    return TerraformProvider()


def _same(provider: Provider) -> Provider:
    return provider


def _load_object(spec: str) -> Factory:
    module_name, _, attr = spec.partition(":")
    try:
        obj = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ProviderConfigError(f"cannot load provider plugin {spec!r}: {exc}") from None
    factory: Factory = obj
    return factory


def default_registry(plugins: Iterable[str] = ()) -> ProviderRegistry:
    """Built-ins, then installed entry points, then ``module:attr`` plugin specs."""
    registry = ProviderRegistry()
    registry.register("file", FileProvider)
    registry.register("data", DataProvider)
    registry.register("postgres", _postgres)
    registry.register("terraform", _terraform)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in ("file", "data", "postgres", "terraform"):
            registry.register(ep.name, ep.load())
    for spec in plugins:
        factory = _load_object(spec)
        registry.register(factory().name, factory)
    return registry
