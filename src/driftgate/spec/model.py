"""The authored spec format (``apiVersion: driftgate/v1``) and the loaded stack."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from driftgate.spec import STACK_FILE as STACK_FILE  # it lives in driftgate.spec (no pydantic)
from driftgate.spec.refs import NAME_PATTERN, TYPE_PATTERN

API_VERSION = "driftgate/v1"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ResourceSpec(_Strict):
    type: str = Field(pattern=rf"^{TYPE_PATTERN}$")
    name: str = Field(pattern=rf"^{NAME_PATTERN}$", max_length=128)
    spec: dict[str, Any] = Field(default_factory=dict)
    depends_on: list[str] = Field(default_factory=list)


class ModuleSpec(_Strict):
    apiVersion: Literal["driftgate/v1"]  # noqa: N815 - the field name users write
    kind: Literal["Module"]
    name: str = Field(pattern=rf"^{NAME_PATTERN}$", max_length=64)
    description: str = ""
    stateful: bool = False
    # stateful modules only: backup-required (a valid backup lets a change apply) or
    # noop-only (the module's plan must be in sync: the smoke lane)
    stateful_mode: Literal["backup-required", "noop-only"] = "backup-required"
    backup_max_age_hours: float | None = Field(default=None, gt=0)
    drift: Literal["pr", "heal", "ignore"] = "pr"
    resources: list[ResourceSpec] = Field(default_factory=list)


class CommitBackPolicy(_Strict):
    """Where and how commit-back publishes the authored specs after a fully successful apply."""

    enabled: bool = True
    target: Literal["branch-push", "pull-request"] = "branch-push"
    remote: str | None = None  # default: origin of the git repository holding the stack
    branch: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$", max_length=200)
    path: str | None = None  # the stack's directory in that repository; default: where it is now
    trailer: str = Field(default="", max_length=200)  # e.g. "[skip ci]"
    auth: str | None = None  # secret:// reference to a token for an HTTPS remote
    forge: Literal["github", "gitea", "forgejo", "gitlab"] | None = None  # default: asked of the host


class StackSpec(_Strict):
    apiVersion: Literal["driftgate/v1"]  # noqa: N815
    kind: Literal["Stack"]
    name: str = Field(pattern=rf"^{NAME_PATTERN}$", max_length=64)
    description: str = ""
    providers: dict[str, dict[str, Any]] = Field(default_factory=dict)
    modules: list[str] = Field(default_factory=lambda: ["modules"], min_length=1)
    commit_back: CommitBackPolicy = Field(default_factory=CommitBackPolicy)


@dataclass(frozen=True)
class Resource:
    """A resource as the planner sees it: authored spec plus where it came from."""

    address: str
    module: str
    type: str
    name: str
    spec: dict[str, Any]
    depends_on: tuple[str, ...]
    source: str
    index: int

    @property
    def provider(self) -> str:
        return self.type.split(".", 1)[0]


@dataclass(frozen=True)
class Module:
    spec: ModuleSpec
    source: str
    indices: tuple[int, ...] = ()  # each resource's position in the file (invalid ones are left out)

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(frozen=True)
class Stack:
    """A loaded, validated stack: every resource by address, in authored order."""

    directory: Path
    spec: StackSpec
    modules: tuple[Module, ...]
    resources: dict[str, Resource]
    warnings: tuple[str, ...] = ()  # findings that do not stop a run (validate prints them)

    @property
    def name(self) -> str:
        return self.spec.name

    def module(self, name: str) -> Module | None:
        return next((m for m in self.modules if m.name == name), None)


def address_of(module: str, type_: str, name: str) -> str:
    return f"{module}/{type_}.{name}"
