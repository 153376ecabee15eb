"""Drift detection, built on the planner's comparison (recorded state vs refreshed live state).

Results are keyed by address, never by position: a provider may answer in any order.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from driftgate.errors import DriftgateError
from driftgate.plan.model import SENSITIVE, AttributeChange
from driftgate.plan.state import RecordedResource
from driftgate.planner.planner import drift_of, read_live
from driftgate.providers.base import CAP_LIST, Observed, Provider
from driftgate.security.redact import scrub_values
from driftgate.spec.refs import SecretResolver

CHANGED = "changed"
DELETED = "deleted"
UNMANAGED = "unmanaged"


@dataclass(frozen=True)
class DriftItem:
    address: str
    module: str
    type: str
    kind: str  # changed | deleted | unmanaged
    changes: tuple[AttributeChange, ...] = ()
    live: Observed | None = None
    resource_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "module": self.module,
            "type": self.type,
            "drift": self.kind,
            "changes": [
                {"attribute": c.name, "recorded": c.new, "live": c.old, "sensitive": c.sensitive}
                for c in self.changes
            ],
            "resource_id": self.resource_id,
        }


@dataclass(frozen=True)
class DriftReport:
    stack: str
    items: tuple[DriftItem, ...]
    errors: tuple[str, ...] = ()
    scanned: int = 0
    modules: tuple[str, ...] = field(default=())

    @property
    def drifted(self) -> bool:
        return bool(self.items)

    def scrubbed(self, secrets: Collection[str]) -> DriftReport:
        """The report with every known secret value taken out of what was found live."""
        if not secrets:
            return self
        return replace(self, items=tuple(_scrub_item(i, secrets) for i in self.items))

    def exit_code(self) -> int:
        """0 no drift, 2 drift, 1 error (like a plan)."""
        if self.errors:
            return 1
        return 2 if self.items else 0

    def by_address(self) -> dict[str, DriftItem]:
        return {item.address: item for item in self.items}

    def to_dict(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "scanned": self.scanned,
            "drifted": len(self.items),
            "errors": list(self.errors),
            "items": [i.to_dict() for i in self.items],
        }


def detect_drift(
    stack: str,
    recorded: Mapping[str, RecordedResource],
    *,
    providers: Mapping[str, Provider],
    secrets: SecretResolver,
    modules: Iterable[str] = (),
) -> DriftReport:
    wanted = set(modules)
    scope = {a: r for a, r in recorded.items() if not wanted or r.module in wanted}
    items: list[DriftItem] = []
    errors: list[str] = []
    read = read_live(scope.values(), providers, secrets)
    for address in sorted(scope):
        rec = scope[address]
        live, changes, problems = drift_of(rec, providers=providers, secrets=secrets, live=read)
        errors.extend(problems)
        if problems:
            continue
        if live is None:
            items.append(DriftItem(address, rec.module, rec.type, DELETED))
        elif changes:
            items.append(DriftItem(address, rec.module, rec.type, CHANGED, tuple(changes), live))
        elif _expands(providers, rec.type):
            found, problem = _children(providers, rec, secrets)
            items.extend(found)
            errors.extend(problem)
    if not wanted:
        items.extend(_unmanaged(recorded, providers))
    return DriftReport(stack, tuple(items), tuple(errors), len(scope), tuple(sorted(wanted)))


def _unmanaged(
    recorded: Mapping[str, RecordedResource], providers: Mapping[str, Provider]
) -> list[DriftItem]:
    found: list[DriftItem] = []
    for _name, provider in sorted(providers.items()):
        if CAP_LIST not in provider.capabilities:
            continue
        for type_ in sorted(provider.kinds()):
            listed = provider.list_ids(type_)
            if listed is None:
                continue
            managed = {
                provider.resource_id(type_, r.attributes) for r in recorded.values() if r.type == type_
            }
            for resource_id in sorted(listed - managed):
                live = provider.import_resource(type_, resource_id)  # only what nobody manages is imported
                if live is not None:
                    address = f"(unmanaged)/{type_}[{resource_id}]"
                    found.append(DriftItem(address, "", type_, UNMANAGED, (), live, resource_id))
    return found


def _scrub_item(item: DriftItem, secrets: Collection[str]) -> DriftItem:
    changes = tuple(replace(c, old=scrub_values(c.old, secrets, whole=SENSITIVE)[0]) for c in item.changes)
    live = item.live
    if live is not None:
        live = Observed(
            scrub_values(live.attributes, secrets, whole=SENSITIVE)[0],
            scrub_values(live.outputs, secrets, whole=SENSITIVE)[0],
        )
    resource_id = scrub_values(item.resource_id, secrets, whole=SENSITIVE)[0]
    return replace(item, changes=changes, live=live, resource_id=resource_id)


def _expands(providers: Mapping[str, Provider], type_: str) -> bool:
    provider = providers.get(type_.split(".", 1)[0])
    kind = provider.kinds().get(type_) if provider is not None else None
    return bool(kind and kind.expands)


def _children(
    providers: Mapping[str, Provider], rec: RecordedResource, secrets: SecretResolver
) -> tuple[list[DriftItem], list[str]]:
    """An expanding resource's children that drifted (a Terraform root's resources), by address."""
    provider = providers[rec.type.split(".", 1)[0]]
    try:
        attributes = secrets.resolve_all(rec.attributes)
        found = provider.drift_children(rec.type, rec.address, attributes, rec.outputs)
    except DriftgateError as exc:
        return [], [f"{rec.address}: {exc}"]
    return [
        DriftItem(
            f"{rec.address}[{child.key}]",
            rec.module,
            rec.type,
            child.kind,
            child.changes,
            Observed(dict(child.live)) if child.kind != DELETED else None,
        )
        for child in found
    ], []
