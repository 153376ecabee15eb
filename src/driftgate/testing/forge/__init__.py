"""A local forge for tests, the quickstart and demos: smart-HTTP git and GitHub's REST subset."""

from driftgate.testing.forge.server import Fault, LocalForge

__all__ = ["Fault", "LocalForge"]
