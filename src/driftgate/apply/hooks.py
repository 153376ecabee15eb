"""Subscribers the executor calls per finished action, so later loops attach without touching it."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from driftgate.apply.result import ActionOutcome, ActionStatus
from driftgate.plan.model import Action, ActionKind

Subscriber = Callable[[Action, ActionOutcome], None]
log = logging.getLogger(__name__)


@dataclass
class ApplyHooks:
    """``on_resource_applied`` fires for each successful create/update/replace,
    ``on_resource_deleted`` for each successful delete. A failing subscriber is
    logged and does not change any outcome."""

    on_resource_applied: list[Subscriber] = field(default_factory=list)
    on_resource_deleted: list[Subscriber] = field(default_factory=list)

    def notify(self, action: Action, outcome: ActionOutcome) -> None:
        if outcome.status is not ActionStatus.SUCCESS or action.kind is ActionKind.NOOP:
            return
        targets = self.on_resource_deleted if action.kind is ActionKind.DELETE else self.on_resource_applied
        for subscriber in targets:
            try:
                subscriber(action, outcome)
            except Exception:  # noqa: BLE001 - a subscriber must never break the ledger
                log.exception("apply hook %r failed for %s", subscriber, action.address)
