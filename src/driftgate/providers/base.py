"""The provider contract.

A provider owns resource kinds (``<provider>.<kind>``). It declares each kind's
attribute schema, observes live state (``read``; ``import_resource`` by id),
and carries out ``create``/``update``/``delete``. Values it receives are fully
resolved (output references substituted, secrets resolved); values it returns
must not contain secrets except where the kind marks them sensitive.

Failures: raise ``ProviderError`` (the action is ERROR), ``CompensatedError``
(failed, prior live state restored), ``CompensationFailedError`` or
``ProviderTransientError``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from driftgate.errors import ProviderError
from driftgate.plan.model import AttributeChange
from driftgate.spec.schema import KindSchema

CAP_READ = "read"
CAP_IMPORT = "import"
CAP_LIST = "list"
CAP_BACKUP = "backup"
CAP_BATCH_READ = "batch_read"  # read_many answers many resources per call
CAP_BATCH_APPLY = "batch_apply"  # apply_many: independent actions in one call, results as they finish
PER_ACTION = "per_action"  # the engine walks the plan and calls create/update/delete per action
WHOLE_PLAN = "whole_plan"
EXPANSION_TOKEN = (
    "@plan"  # see Expansion.token  # the provider applies all of its actions of a plan in one call
)


@dataclass(frozen=True)
class ProviderContext:
    """What a provider may know of its surroundings."""

    stack_dir: Path
    data_dir: Path | None = None  # the provider's own files for this stack (0700), under driftgate's home


@dataclass(frozen=True)
class Observed:
    """A resource as it exists live. ``notes``: what a plan should say about how an attribute was
    read, when it differs (a write-only password, say: checked against the server, or not)."""

    attributes: dict[str, Any]
    outputs: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Change:
    """One action of a whole-plan apply, its attributes resolved (prior ones for a delete)."""

    index: int
    kind: str  # create | update | replace | delete
    type: str
    name: str
    attributes: dict[str, Any]
    prior_outputs: dict[str, Any] = field(default_factory=dict)
    address: str = ""
    parent: str = ""  # a child action's resource address (see Expansion)


@dataclass(frozen=True)
class Child:
    """One change inside an expanding resource (a Terraform root's resource instance)."""

    key: str  # its own address inside the resource, e.g. aws_s3_bucket.logs
    kind: str  # create | update | replace | delete | noop
    changes: tuple[AttributeChange, ...] = ()
    reason: str = ""
    data_bearing: bool = False  # it holds data an apply can destroy (a Terraform root's data_bearing)


@dataclass(frozen=True)
class Expansion:
    """What an expanding resource would do: its children's changes, and its outputs as they
    will be (values known only after apply: UNKNOWN; sensitive ones: SENSITIVE)."""

    children: tuple[Child, ...]
    outputs: dict[str, Any] = field(default_factory=dict)
    token: str = ""  # names what the provider kept of this plan; apply gets it back in each action's
    #                 attributes under EXPANSION_TOKEN (a Terraform plan file, say)


@dataclass(frozen=True)
class ChildDrift:
    """One child of an expanding resource found changed, deleted or made outside driftgate."""

    key: str
    kind: str  # changed | deleted | unmanaged
    changes: tuple[AttributeChange, ...] = ()  # old: live, new: as recorded (masked)
    live: dict[str, Any] = field(default_factory=dict)  # masked


@dataclass(frozen=True)
class ChangeResult:
    status: str  # an ActionStatus value: SUCCESS, ERROR, DELETE_FAILED, COMPENSATED, COMPENSATION_FAILED
    error: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    attempted: bool = True  # False: an ERROR for an action never started (it waited on a failure)


@dataclass(frozen=True)
class PlanResult:
    """A whole-plan apply's valid results by action index; what broke the result contract; the
    provider's own errors. A planned action without a valid result is an ERROR, its state uncertain."""

    results: dict[int, ChangeResult]
    violations: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


@runtime_checkable
class Provider(Protocol):
    name: str
    inline: bool  # cheap calls the executor may make on its own thread instead of a worker

    @property
    def capabilities(self) -> frozenset[str]: ...

    @property
    def apply_modes(self) -> tuple[str, ...]:
        """PER_ACTION and/or WHOLE_PLAN; the engine prefers PER_ACTION."""
        ...

    def kinds(self) -> Mapping[str, KindSchema]: ...

    def configure(self, config: Mapping[str, Any], ctx: ProviderContext) -> None: ...

    def read(self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]) -> Observed | None:
        """The live resource identified by its recorded attributes/outputs; None if gone."""
        ...

    def read_many(
        self, items: Sequence[tuple[str, Mapping[str, Any], Mapping[str, Any]]]
    ) -> list[Observed | None]:
        """``read`` of each (type, attributes, outputs), in order: one call where the provider batches.
        Raises if any read fails (the caller then reads one by one to place the error)."""
        ...

    def diff(self, type_: str, current: Mapping[str, Any], desired: Mapping[str, Any]) -> list[str]:
        """Names of the attributes whose live value differs from the desired one."""
        ...

    def create(self, type_: str, name: str, attributes: Mapping[str, Any]) -> dict[str, Any]: ...

    def update(
        self,
        type_: str,
        name: str,
        attributes: Mapping[str, Any],
        prior_outputs: Mapping[str, Any],
    ) -> dict[str, Any]: ...

    def delete(self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]) -> None: ...

    def import_resource(self, type_: str, resource_id: str) -> Observed | None: ...

    def backup_resource(
        self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]
    ) -> dict[str, bytes] | None:
        """The live data of one resource as named blobs, or None if this kind cannot be backed up."""
        ...

    def restore_resource(
        self, type_: str, attributes: Mapping[str, Any], files: Mapping[str, bytes]
    ) -> Observed:
        """Put backed-up data back live; return the resource as it now is."""
        ...

    def list_ids(self, type_: str) -> set[str] | None:
        """The ids of every live resource of this kind in the provider's scope (None: cannot list)."""
        ...

    def check_backup(self, type_: str, files: Mapping[str, bytes]) -> None:
        """Raise if backed-up files could not be restored (beyond their checksum: a dump's own
        table of contents, say)."""
        ...

    def resource_id(self, type_: str, attributes: Mapping[str, Any]) -> str | None:
        """The id that ``list_ids`` and ``import_resource`` use for these attributes."""
        ...

    def resource_ids(self, type_: str, items: Sequence[Mapping[str, Any]]) -> list[str | None]:
        """``resource_id`` of many resources of one kind at once (one call to a plugin)."""
        ...

    def apply_plan(self, changes: Sequence[Change]) -> PlanResult:
        """All of this provider's actions of a plan at once (WHOLE_PLAN providers)."""
        ...

    def plan_children(
        self, type_: str, address: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]
    ) -> Expansion:
        """An expanding kind's (``KindSchema.expands``) planned child changes: the engine plans each
        as an action of its own, applied with the resource by ``apply_plan``."""
        ...

    def drift_children(
        self, type_: str, address: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]
    ) -> list[ChildDrift]:
        """An expanding resource's children that changed outside driftgate, for ``drift``."""
        ...

    def generate_import(
        self, type_: str, attributes: Mapping[str, Any], key: str, resource_id: str
    ) -> dict[str, str]:
        """Code that adopts a live object as the child ``key`` of an expanding resource (a Terraform
        ``import`` block and its generated configuration): files by path relative to the stack."""
        ...

    def accept_drift_hint(self, type_: str, attributes: Mapping[str, Any]) -> str:
        """The command a reviewer runs to accept an expanding resource's drift (its spec
        attributes, secrets unresolved); empty when there is none."""
        ...

    def check_expansion(self, type_: str, address: str, attributes: Mapping[str, Any], token: str) -> None:
        """Raise StalePlanError when what ``plan_children`` kept (``token``) can no longer be applied
        as reviewed: asked before a saved plan is applied."""
        ...

    def apply_many(self, changes: Sequence[Change]) -> Iterator[tuple[int, ChangeResult]]:
        """Independent actions in one call (CAP_BATCH_APPLY providers): (index, result) as each is
        done. Raises only when the call itself fails; the actions without a result are then unknown."""
        ...

    def stop(self) -> None:
        """Cancel work in progress (Ctrl-C): calls under way should end soon, however they end."""
        ...

    def close(self) -> None:
        """Release everything (a plugin: stop its process). Called once, when the run ends."""
        ...


class NoExpansion:
    """The defaults of a provider without expanding kinds (``KindSchema.expands``): nothing to
    expand, check, accept or import."""

    def plan_children(
        self, type_: str, address: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]
    ) -> Expansion:
        raise ProviderError(f"{type_} has no child changes")

    def check_expansion(self, type_: str, address: str, attributes: Mapping[str, Any], token: str) -> None:
        return None

    def accept_drift_hint(self, type_: str, attributes: Mapping[str, Any]) -> str:
        return ""

    def generate_import(
        self, type_: str, attributes: Mapping[str, Any], key: str, resource_id: str
    ) -> dict[str, str]:
        raise ProviderError(f"{type_} cannot generate import code")

    def drift_children(
        self, type_: str, address: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]
    ) -> list[ChildDrift]:
        return []


class BaseProvider(NoExpansion):
    """Shared defaults: attribute-wise diff and a kinds table from ``KINDS``."""

    name: str = ""
    capabilities: frozenset[str] = frozenset({CAP_READ})
    inline: bool = False
    apply_modes: tuple[str, ...] = (PER_ACTION,)
    KINDS: tuple[KindSchema, ...] = ()

    def kinds(self) -> Mapping[str, KindSchema]:
        return {k.type: k for k in self.KINDS}

    def configure(self, config: Mapping[str, Any], ctx: ProviderContext) -> None:
        return None

    def read_many(
        self, items: Sequence[tuple[str, Mapping[str, Any], Mapping[str, Any]]]
    ) -> list[Observed | None]:
        return [self.read(t, a, o) for t, a, o in items]  # type: ignore[attr-defined]

    def diff(self, type_: str, current: Mapping[str, Any], desired: Mapping[str, Any]) -> list[str]:
        schema = self.kinds()[type_]
        return [n for n in schema.attributes if current.get(n) != desired.get(n)]

    def backup_resource(
        self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]
    ) -> dict[str, bytes] | None:
        return None

    def list_ids(self, type_: str) -> set[str] | None:
        """The ids of every live resource of this kind in the provider's scope (None: cannot list)."""
        return None

    def resource_id(self, type_: str, attributes: Mapping[str, Any]) -> str | None:
        """The id that ``list_ids`` and ``import_resource`` use for these attributes."""
        return None

    def resource_ids(self, type_: str, items: Sequence[Mapping[str, Any]]) -> list[str | None]:
        return [self.resource_id(type_, attributes) for attributes in items]

    def restore_resource(
        self, type_: str, attributes: Mapping[str, Any], files: Mapping[str, bytes]
    ) -> Observed:
        raise ProviderError(f"{type_} cannot be restored from a backup")

    def apply_plan(self, changes: Sequence[Change]) -> PlanResult:
        raise ProviderError(f"provider {self.name!r} does not apply whole plans")

    def apply_many(self, changes: Sequence[Change]) -> Iterator[tuple[int, ChangeResult]]:
        raise ProviderError(f"provider {self.name!r} does not apply batches")

    def check_backup(self, type_: str, files: Mapping[str, bytes]) -> None:
        return None

    def stop(self) -> None:
        return None

    def close(self) -> None:
        return None
