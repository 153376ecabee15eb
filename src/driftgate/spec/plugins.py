"""A provider block in ``stack.yaml`` that names a plugin: ``plugin``, ``version``, ``config``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PLUGIN_FIELDS = frozenset({"plugin", "version", "config"})


def is_plugin_block(block: Mapping[str, Any]) -> bool:
    return "plugin" in block


def block_problems(block: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, reason) for each problem of a plugin provider block."""
    found = [
        (name, "unknown field (a plugin block has plugin, version, config)")
        for name in block
        if name not in PLUGIN_FIELDS
    ]
    if not isinstance(block.get("plugin"), str) or not block["plugin"].strip():
        found.append(("plugin", "must be an executable's name (on PATH) or a path relative to the stack"))
    if "version" in block and not isinstance(block["version"], str):
        found.append(("version", 'must be a version constraint such as ">=1.0,<2"'))
    if "config" in block and not isinstance(block["config"], dict):
        found.append(("config", "must be a mapping"))
    return found
