"""driftgate: a closed-loop GitOps control plane that keeps git the single source of truth."""

from __future__ import annotations

__version__ = "0.1.0"
