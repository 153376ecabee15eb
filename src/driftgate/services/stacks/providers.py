"""Which providers a stack can use: the built-ins and the plugins its stack.yaml names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from driftgate import __version__
from driftgate.errors import Problem
from driftgate.plugin.client import PluginProvider
from driftgate.plugin.manifest import PROTOCOL_MAJOR, PROTOCOL_MINOR
from driftgate.services.workspace import Workspace
from driftgate.spec.model import Stack
from driftgate.spec.refs import holds_secret, iter_strings, output_refs

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


def plugin_problems(ws: Workspace, stack: Stack) -> list[Problem]:
    """What each plugin says of the resources it would manage (``ValidateResourceConfig``). Only
    literal values are sent: a value holding a reference is not known until plan or apply, and is
    named in ``unknown`` so the plugin does not call it missing."""
    registry = ws.registry_for(stack.directory)
    plugins = {n: p for n in registry.names if isinstance(p := registry.create(n), PluginProvider)}
    found = []
    for resource in stack.resources.values():
        provider = plugins.get(resource.provider)
        if provider is None:
            continue
        literal = {k: v for k, v in resource.spec.items() if not _references(v, resource.module)}
        unknown = [k for k in resource.spec if k not in literal]  # set, known only at plan or apply
        for reason in provider.validate(resource.type, literal, unknown):
            found.append(Problem(resource.source, 0, resource.address, f"{provider.name} plugin: {reason}"))
    return found


def _references(value: Any, module: str) -> bool:
    return holds_secret(value) or any(output_refs(text, module) for _, text in iter_strings(value))
