"""Provider plugins: the wire protocol (``proto/``), the SDK (``serve``) and the engine's client."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from driftgate.plugin.server import serve

__all__ = ["serve"]


def __getattr__(name: str) -> Any:
    if name == "serve":  # grpc loads only when a plugin is served
        from driftgate.plugin.server import serve

        return serve
    raise AttributeError(name)
