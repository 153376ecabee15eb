"""``chaos.file``: the real file provider, plus failures and delays on demand.

Configure it in a stack like the file provider, with extra fields:
``fail_on`` (resource names whose create/update fail), ``fail_delete_on``,
``crash_on`` (names whose provider call raises an unexpected exception) and
``delay`` (seconds each create/update/delete sleeps first) and ``delay_after``
(seconds a create sleeps after writing). Register it through the
``DRIFTGATE_PROVIDER_PLUGINS=driftgate.testing.chaos:ChaosProvider`` setting.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from driftgate.errors import ProviderError
from driftgate.providers.base import ProviderContext
from driftgate.providers.file import FileProvider
from driftgate.spec.schema import KindSchema


class ChaosProvider(FileProvider):
    name = "chaos"
    KINDS = tuple(
        KindSchema(type=k.type.replace("file.", "chaos."), attributes=k.attributes, outputs=k.outputs)
        for k in FileProvider.KINDS
    )

    def __init__(self) -> None:
        super().__init__()
        self.fail_on: set[str] = set()
        self.fail_delete_on: set[str] = set()
        self.crash_on: set[str] = set()
        self.delay = 0.0
        self.delay_after = 0.0

    def configure(self, config: Mapping[str, Any], ctx: ProviderContext) -> None:
        self.fail_on = set(config.get("fail_on", ()))
        self.fail_delete_on = set(config.get("fail_delete_on", ()))
        self.crash_on = set(config.get("crash_on", ()))
        self.delay = float(config.get("delay", 0.0))
        self.delay_after = float(config.get("delay_after", 0.0))
        super().configure({"root": config["root"]}, ctx)

    @staticmethod
    def _file_type(type_: str) -> str:
        return type_.replace("chaos.", "file.")

    def _hazards(self, name: str) -> None:
        if self.delay:
            time.sleep(self.delay)
        if name in self.crash_on:
            raise RuntimeError(f"chaos: unexpected crash for {name}")
        if name in self.fail_on:
            raise ProviderError(f"chaos: injected failure for {name}")

    def read(self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]) -> Any:
        return super().read(self._file_type(type_), attributes, outputs)

    def import_resource(self, type_: str, resource_id: str) -> Any:
        return super().import_resource(self._file_type(type_), resource_id)

    def create(self, type_: str, name: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
        self._hazards(name)
        outputs = super().create(self._file_type(type_), name, attributes)
        time.sleep(self.delay_after)  # the world has changed; driftgate has not recorded it yet
        return outputs

    def delete(self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]) -> None:
        if self.delay:
            time.sleep(self.delay)
        if any(str(attributes.get("path", "")).endswith(n) for n in self.fail_delete_on):
            raise ProviderError(f"chaos: injected delete failure for {attributes.get('path')}")
        super().delete(self._file_type(type_), attributes, outputs)
