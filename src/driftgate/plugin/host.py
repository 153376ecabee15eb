"""The plugins of one driftgate process: started when a stack first needs them, one process per
provider block, all stopped when the process ends (or the workspace closes)."""

from __future__ import annotations

import atexit
import shutil
import threading
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

from driftgate.errors import ProviderConfigError, UnsafePathError
from driftgate.plugin.client import PluginProcess, PluginProvider
from driftgate.plugin.manifest import Manifest, PluginRefused, check_version
from driftgate.security.paths import contain


def executable(command: str, stack_dir: Path) -> Path:
    """A plugin's executable: a path (relative to the stack, and inside it) or a name on PATH."""
    if "/" in command:
        try:
            path = Path(command) if Path(command).is_absolute() else contain(stack_dir, command)
        except UnsafePathError as exc:
            raise ProviderConfigError(f"plugin {command!r}: {exc}") from None
        if not path.is_file():
            raise ProviderConfigError(f"plugin {command!r}: no such file")
        return path
    found = shutil.which(command)
    if found is None:
        raise ProviderConfigError(f"plugin {command!r}: not found on PATH")
    return Path(found)


def _checked(name: str, constraint: str | None, source: str, manifest: Manifest) -> None:
    if manifest.name != name:
        raise PluginRefused(f"{source}: serves provider {manifest.name!r}; the stack calls it {name!r}")
    check_version(manifest, constraint, source=source)


class PluginHost:
    def __init__(self, *, action_timeout: float) -> None:
        self.action_timeout = action_timeout
        self._running: dict[tuple[str, Path], PluginProvider] = {}
        self._lock = threading.Lock()
        self._registered = False

    def provider(self, name: str, block: Mapping[str, Any], stack_dir: Path) -> PluginProvider:
        """The running plugin for the provider block ``name``, started (and checked) if it is not."""
        command = str(block["plugin"])
        path = executable(command, stack_dir)
        with self._lock:
            running = self._running.get((name, path))
            if running is not None and running.process.alive:
                return running
            source = f"provider {name!r} ({command})"
            process = PluginProcess(
                [str(path)],
                source=source,
                cwd=stack_dir,
                check=partial(_checked, name, block.get("version"), source),
            )
            if not self._registered:
                atexit.register(self.close_all)
                self._registered = True
            process.launch()  # it boots while the stack's specs are read; its manifest is awaited on use
            provider = PluginProvider(process, name=name, action_timeout=self.action_timeout)
            self._running[(name, path)] = provider
            return provider

    @property
    def running(self) -> list[PluginProvider]:
        return list(self._running.values())

    def close_all(self) -> None:
        with self._lock:
            running, self._running = list(self._running.values()), {}
        for provider in running:
            provider.close()
