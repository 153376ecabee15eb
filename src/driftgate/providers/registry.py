"""The provider registry: built-ins registered explicitly, plugins by entry point or setting."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
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
    """Factories by provider name; ``create`` gives a fresh, unconfigured provider."""

    def __init__(self) -> None:
        self._factories: dict[str, Factory] = {}
        self._kinds: dict[str, KindSchema] = {}

    def register(self, name: str, factory: Factory) -> None:
        self._factories[name] = factory
        for type_, schema in factory().kinds().items():
            if not type_.startswith(name + "."):
                raise ProviderConfigError(f"provider {name!r} declares foreign kind {type_!r}")
            self._kinds[type_] = schema

    def with_instances(self, providers: Mapping[str, Provider]) -> ProviderRegistry:
        """This registry and the given running providers (plugins a stack declares), as a new one."""
        extended = ProviderRegistry()
        extended._factories = dict(self._factories)
        extended._kinds = dict(self._kinds)
        for name, provider in providers.items():
            extended.register(name, partial(_same, provider))
        return extended

    @property
    def names(self) -> list[str]:
        return sorted(self._factories)

    def kind(self, type_: str) -> KindSchema | None:
        return self._kinds.get(type_)

    @property
    def kind_names(self) -> list[str]:
        return sorted(self._kinds)

    def create(self, name: str) -> Provider:
        factory = self._factories.get(name)
        if factory is None:
            raise ProviderConfigError(f"unknown provider {name!r}")
        return factory()


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
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in ("file", "data"):
            registry.register(ep.name, ep.load())
    for spec in plugins:
        factory = _load_object(spec)
        registry.register(factory().name, factory)
    return registry
