"""The local forge: a GitHub stand-in on 127.0.0.1 for the quickstart, demos and tests.

Git over smart HTTP (``git_http``), GitHub's REST routes for pull-request work (``rest``), every
answer built from the forge's own state (``forge``, ``documents``), faults on demand (``faults``).
``driftgate local-forge`` runs one; ``LocalForge(root, token=...)`` starts one in Python.
"""

from driftgate.localforge.documents import Pull
from driftgate.localforge.faults import Fault, parse_fault
from driftgate.localforge.forge import Answer, LocalForge

__all__ = ["Answer", "Fault", "LocalForge", "Pull", "parse_fault"]
