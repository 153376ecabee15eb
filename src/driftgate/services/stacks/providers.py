"""Which providers a stack can use: the built-ins and the plugins its stack.yaml names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from driftgate import __version__
from driftgate.plugin.client import PluginProvider
from driftgate.plugin.manifest import PROTOCOL_MAJOR, PROTOCOL_MINOR
from driftgate.services.workspace import Workspace

CAPABILITY_ORDER = ("read", "list", "import", "backup", "batch_read")


def list_providers(ws: Workspace, directory: Path) -> list[dict[str, Any]]:
    """One entry per provider: name, source, version, protocol, capabilities, kinds, apply modes
    (a stack's plugins are started to read their manifests)."""
    registry = ws.registry_for(directory)
    found = []
    for name in registry.names:
        provider = registry.create(name)
        if isinstance(provider, PluginProvider):
            manifest = provider.manifest
            source, version = str(provider.process.argv[0]), manifest.version
            protocol, modes = f"{manifest.protocol[0]}.{manifest.protocol[1]}", list(manifest.apply_modes)
        else:
            source, version = "built-in", __version__
            protocol, modes = f"{PROTOCOL_MAJOR}.{PROTOCOL_MINOR} (in process)", ["per_action"]
        found.append(
            {
                "name": name,
                "source": source,
                "version": version,
                "protocol": protocol,
                "capabilities": [c for c in CAPABILITY_ORDER if c in provider.capabilities],
                "apply_modes": modes,
                "kinds": sorted(provider.kinds()),
                "data_bearing": sorted(t for t, k in provider.kinds().items() if k.data_bearing),
            }
        )
    return found
