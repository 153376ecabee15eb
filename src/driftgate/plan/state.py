"""Recorded state as the planner and executor see it (no storage concerns)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class RecordedResource:
    """What the last apply recorded for one address.

    ``attributes`` are the applied values with secret references kept as their
    ``secret://`` text. ``uncertain`` means an action on it was in flight when a
    run stopped, so its live state must be read before anything is decided.
    """

    address: str
    module: str
    type: str
    attributes: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    uncertain: bool = False
    run_id: str | None = None
    # Data-bearing at any apply since it was created (its kind, a Terraform root's listing, or a
    # stateful module): the gate judges a delete or replace by this record, which never goes down.
    data_bearing: bool = False
    data_bearing_parts: tuple[str, ...] = ()  # the same, for an expanding resource's parts (their keys)
    run_status: str | None = None  # how the run that last touched it ended (running, partial, interrupted…)
