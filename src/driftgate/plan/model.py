"""Plan, Action and AttributeChange, and the plan file format.

A plan is data. It records the digest of the specs it was made from and the
state serial it saw, so apply can refuse a plan that went stale.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from driftgate.errors import PlanInvalidError, StalePlanError
from driftgate.security.limits import InputTooLarge, loads_json, read_bounded

PLAN_FORMAT = "driftgate-plan/v1"
UNKNOWN = "(known after apply)"
SENSITIVE = "(sensitive)"


class ActionKind(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    NOOP = "noop"


@dataclass(frozen=True, slots=True)
class AttributeChange:
    name: str
    old: Any
    new: Any
    forces_replace: bool = False
    sensitive: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "old": self.old,
            "new": self.new,
            "forces_replace": self.forces_replace,
            "sensitive": self.sensitive,
        }


@dataclass(frozen=True, slots=True)
class Action:
    """One planned step for one resource address."""

    index: int
    address: str
    module: str
    type: str
    kind: ActionKind  # what happens to the resource; "action" in the plan file
    desired: dict[str, Any] | None = None
    prior: dict[str, Any] | None = None
    prior_outputs: dict[str, Any] | None = None
    depends_on: tuple[str, ...] = ()
    changes: tuple[AttributeChange, ...] = ()
    # The resource holds data an apply can destroy, by what is recorded or by the specs now: its kind
    # is data-bearing, a Terraform root lists it, or its module is (or was, when applied) stateful.
    data_bearing: bool = False
    reason: str = ""
    adopt: bool = False
    parent: str = (
        ""  # a child action's resource (a Terraform root's resource changes): its state is the parent's
    )

    @property
    def name(self) -> str:
        return self.address.split("[", 1)[0].rsplit(".", 1)[1]

    @property
    def data_loss(self) -> bool:
        """Deletes or replaces a data-bearing resource: never the auto lane, always a fresh backup."""
        return self.data_bearing and self.kind in (ActionKind.DELETE, ActionKind.REPLACE)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "address": self.address,
            "module": self.module,
            "type": self.type,
            "action": self.kind.value,
            "desired": self.desired,
            "prior": self.prior,
            "prior_outputs": self.prior_outputs,
            "depends_on": list(self.depends_on),
            "changes": [c.to_dict() for c in self.changes],
            "data_bearing": self.data_bearing,
            "data_loss": self.data_loss,
            "stateful": self.data_bearing,  # format 1.0's name for data_bearing, kept for its readers
            "reason": self.reason,
            "adopt": self.adopt,
            **({"parent": self.parent} if self.parent else {}),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Action:
        return cls(
            index=int(raw["index"]),
            address=str(raw["address"]),
            module=str(raw["module"]),
            type=str(raw["type"]),
            kind=ActionKind(raw["action"]),
            desired=raw.get("desired"),
            prior=raw.get("prior"),
            prior_outputs=raw.get("prior_outputs"),
            depends_on=tuple(raw.get("depends_on", ())),
            changes=tuple(AttributeChange(**c) for c in raw.get("changes", ())),
            data_bearing=bool(raw.get("data_bearing", raw.get("stateful", False))),
            reason=str(raw.get("reason", "")),
            adopt=bool(raw.get("adopt", False)),
            parent=str(raw.get("parent", "")),
        )


@dataclass(frozen=True)
class Plan:
    stack: str
    spec_digest: str
    state_serial: int
    refreshed: bool
    created_at: str
    actions: tuple[Action, ...]
    errors: tuple[str, ...] = ()
    stateful_modules: tuple[str, ...] = field(default=())
    scope: tuple[str, ...] = ()  # modules a targeted plan was cut to (empty: the whole stack)

    @property
    def changes(self) -> list[Action]:
        return [a for a in self.actions if a.kind is not ActionKind.NOOP]

    @property
    def data_loss_actions(self) -> list[Action]:
        return [a for a in self.actions if a.data_loss]

    @property
    def has_changes(self) -> bool:
        return any(a.kind is not ActionKind.NOOP for a in self.actions)

    def counts(self) -> dict[str, int]:
        counts = {kind.value: 0 for kind in ActionKind}
        for action in self.actions:
            counts[action.kind.value] += 1
        return counts

    def content_digest(self) -> str:
        """A digest of what this plan would do (specs, recorded state, every action and its values),
        not of when it was made: two plans with the same digest apply the same changes. A page shows
        it with a plan so that an apply from that page applies that plan, or is refused as stale."""
        body = {
            "stack": self.stack,
            "spec_digest": self.spec_digest,
            "state_serial": self.state_serial,
            "scope": list(self.scope),
            "errors": list(self.errors),
            "actions": [{**a.to_dict(), "index": None} for a in self.actions],
        }
        raw = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(raw.encode()).hexdigest()

    def exit_code(self) -> int:
        """``terraform plan -detailed-exitcode``: 0 in sync, 2 changes present, 1 error."""
        if self.errors:
            return 1
        return 2 if self.has_changes else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "stack": self.stack,
            "spec_digest": self.spec_digest,
            "state_serial": self.state_serial,
            "refreshed": self.refreshed,
            "created_at": self.created_at,
            "summary": self.counts(),
            "errors": list(self.errors),
            "stateful_modules": list(self.stateful_modules),
            "scope": list(self.scope),
            "actions": [a.to_dict() for a in self.actions],
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Plan:
        if raw.get("format") != PLAN_FORMAT:
            raise PlanInvalidError(f"not a driftgate plan file (format {raw.get('format')!r})")
        return cls(
            stack=str(raw["stack"]),
            spec_digest=str(raw["spec_digest"]),
            state_serial=int(raw["state_serial"]),
            refreshed=bool(raw["refreshed"]),
            created_at=str(raw["created_at"]),
            actions=tuple(Action.from_dict(a) for a in raw["actions"]),
            errors=tuple(raw.get("errors", ())),
            stateful_modules=tuple(raw.get("stateful_modules", ())),
            scope=tuple(raw.get("scope", ())),
        )

    def targeted(self, modules: tuple[str, ...]) -> Plan:
        """Only the actions of ``modules`` and of everything they depend on (like ``-target``)."""
        by_address = {a.address: a for a in self.actions}
        wanted = {a.address for a in self.actions if a.module in modules}
        pending = list(wanted)
        while pending:
            for dep in by_address[pending.pop()].depends_on:
                if dep in by_address and dep not in wanted:
                    wanted.add(dep)
                    pending.append(dep)
        kept = [a for a in self.actions if a.address in wanted]
        actions = tuple(Action.from_dict({**a.to_dict(), "index": i}) for i, a in enumerate(kept))
        left_out = {a.address for a in self.actions} - wanted
        return replace(self, actions=actions, scope=tuple(modules), errors=self.errors_without(left_out))

    def errors_without(self, addresses: set[str]) -> tuple[str, ...]:
        """The plan's errors but those of ``addresses`` (an error names its resource first)."""
        return tuple(e for e in self.errors if e.split(": ", 1)[0] not in addresses)


MAX_PLAN_FILE_BYTES = 1 << 30


def _signature(raw: dict[str, Any], key: bytes) -> str:
    body = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def write_plan(plan: Plan, path: Path, *, key: bytes | None = None) -> None:
    """Write the plan file; with ``key``, an HMAC over all of it (actions included) is added."""
    raw = plan.to_dict()
    if key is not None:
        raw["signature"] = _signature(raw, key)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(raw, separators=(",", ":")), encoding="utf-8")
    tmp.replace(path)


def read_plan(path: Path, *, key: bytes | None = None) -> Plan:
    """Read a plan file; with ``key``, refuse one whose signature does not cover exactly this content."""
    try:
        raw = loads_json(read_bounded(path, MAX_PLAN_FILE_BYTES))
    except InputTooLarge as exc:
        raise PlanInvalidError(f"{path}: plan file refused: {exc}") from None
    except OSError as exc:
        raise PlanInvalidError(f"{path}: cannot read plan file: {exc.strerror}") from None
    except ValueError as exc:
        raise PlanInvalidError(f"{path}: plan file is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise PlanInvalidError(f"{path}: plan file must hold a JSON object")
    if key is not None:
        _verify(path, raw, key)
    try:
        return Plan.from_dict(raw)
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanInvalidError(f"{path}: malformed plan file: {exc}") from None


def _verify(path: Path, raw: dict[str, Any], key: bytes) -> None:
    signature = raw.pop("signature", None)
    if raw.get("format") != PLAN_FORMAT:
        return  # from_dict says what is wrong
    if not isinstance(signature, str) or not hmac.compare_digest(signature, _signature(raw, key)):
        raise StalePlanError(
            f"{path}: the plan file was modified after it was made, or made by another driftgate home "
            "(its signature does not match); plan again"
        )
