"""The API's request and response bodies, as pydantic models: ``/openapi.json`` types every route.

Response models forbid fields they do not declare, so a service that grows a field fails the
tests until the model says what it is, rather than the API dropping or leaking it silently.
Routes whose documents leave out empty fields (a commit-back, a reconcile) serialize with
``response_model_exclude_unset``: what the service left out stays out.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from driftgate.forge import KINDS

MAX_ID = 2**31 - 1  # every id is a 32-bit integer in the store


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---- config repos ---------------------------------------------------------------------------

RepoName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
RepoUrl = Annotated[str, Field(min_length=1, max_length=2000)]
BranchName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]
SecretRef = Annotated[str, Field(min_length=1, max_length=500)]
ForgeKind = Annotated[str, Field(pattern=f"^({'|'.join(sorted(KINDS))})$", description="The forge's kind.")]


class ConfigRepoIn(_In):
    """A config repo. PATCH takes the same fields with the same rules, each optional."""

    name: RepoName
    url: RepoUrl
    default_branch: BranchName = "main"
    auth_ref: SecretRef
    webhook_secret_ref: SecretRef | None = None
    forge: ForgeKind | None = None  # omitted: a well-known host's, else asked of the host once and recorded


class ConfigRepoPatch(_In):
    name: RepoName | None = None
    url: RepoUrl | None = None
    default_branch: BranchName | None = None
    auth_ref: SecretRef | None = None
    webhook_secret_ref: SecretRef | None = None
    forge: ForgeKind | None = None


class ConfigRepo(_Out):
    """A registered config repo: its credentials are references (``secret://…``), never values."""

    id: int
    name: str
    url: str
    default_branch: str
    forge: str
    auth_ref: str
    webhook_secret_ref: str | None
    created_at: float
    updated_at: float


# ---- proposals ------------------------------------------------------------------------------


class Edit(BaseModel):
    """One change to one value of one file: the value at ``pointer`` goes from ``from`` to ``to``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    path: str = Field(min_length=1, max_length=1000)
    format: Literal["json", "yaml", "toml"]
    pointer: str = Field(min_length=1, max_length=1000)
    from_: Any = Field(alias="from")
    to: Any


class ProposalIn(_In):
    config_repo_id: int = Field(ge=1, le=MAX_ID)
    title: str = Field(min_length=1, max_length=300)
    rationale: str = Field(default="", max_length=20_000)
    edits: list[Edit] = Field(min_length=1, max_length=200)
    metrics: dict[str, Any] | None = None
    chart: dict[str, Any] | None = None


class RejectIn(_In):
    reason: str = Field(min_length=1, max_length=2000)


ProposalStatus = Literal["pending", "pr_opened", "rejected"]


class Proposal(_Out):
    id: int
    config_repo_id: int | None
    title: str
    rationale: str
    edits: list[Edit]
    metrics: dict[str, Any] | None
    chart: dict[str, Any] | None
    status: ProposalStatus
    reject_reason: str | None
    pr_url: str | None
    pr_number: int | None
    pr_state: str | None
    pr_open_error: dict[str, Any] | None
    pr_opened_at: float | None
    pr_state_at: float | None = Field(description="The forge's updated_at of the recorded pr_state.")
    job_id: str | None
    job_status: str | None
    job_heartbeat: float | None
    created_by: str
    created_at: float
    updated_at: float


class OpenPrAccepted(_Out):
    proposal_id: int
    job_id: str = Field(description="Shared by every request for the same pending proposal.")


# ---- pages ----------------------------------------------------------------------------------


class ConfigRepoPage(_Out):
    """A page in id order; ``X-Total-Count`` carries the count of the whole listing."""

    items: list[ConfigRepo]
    has_more: bool
    next_cursor: str | None


class ProposalPage(_Out):
    """A page in id order; ``X-Total-Count`` carries the count of the whole listing."""

    items: list[Proposal]
    has_more: bool
    next_cursor: str | None


# ---- webhooks -------------------------------------------------------------------------------


class WebhookAnswer(_Out):
    event: str
    pong: bool | None = None
    ignored: bool | None = None
    state: str | None = None
    updated: int | None = Field(default=None, description="Proposals whose PR state moved.")


# ---- health ---------------------------------------------------------------------------------


class Health(_Out):
    status: Literal["ok"]


class Ready(_Out):
    status: Literal["ready"]
    store: Literal["ok"]


# ---- stacks: plan, apply, drift, reconcile --------------------------------------------------


class StackIn(_In):
    stack: str = Field(min_length=1, max_length=500, description="Path of the stack under the stacks root.")


class PlanIn(StackIn):
    refresh: bool = True


class ApplyIn(StackIn):
    lane: Literal["manual", "auto"] = "manual"
    modules: list[str] = Field(default_factory=list, max_length=50)
    allow_stateful: bool = False
    confirm: str | None = Field(default=None, max_length=64)
    backup_ref: str | None = Field(default=None, max_length=255)
    commit_back: bool = True


ActionKindName = Literal["create", "update", "replace", "delete", "noop"]


class AttributeChange(_Out):
    name: str
    old: Any
    new: Any
    forces_replace: bool
    sensitive: bool


class PlannedAction(_Out):
    index: int
    address: str
    module: str
    type: str
    action: ActionKindName
    desired: dict[str, Any] | None
    prior: dict[str, Any] | None
    prior_outputs: dict[str, Any] | None
    depends_on: list[str]
    changes: list[AttributeChange]
    stateful: bool = Field(description="The same as data_bearing (its earlier name).")
    data_bearing: bool = Field(
        description="Holds data an apply can destroy, by the record or the specs "
        "(its kind, a Terraform root's listing, a stateful module)."
    )
    data_loss: bool = Field(
        description="Deletes or replaces a data-bearing resource: gated, never the auto lane."
    )
    reason: str
    adopt: bool


class Plan(_Out):
    """The plan file's document (``driftgate-plan/v1``)."""

    format: Literal["driftgate-plan/v1"]
    stack: str
    spec_digest: str
    state_serial: int
    refreshed: bool
    created_at: str
    summary: dict[ActionKindName, int]
    errors: list[str]
    stateful_modules: list[str]
    scope: list[str]
    actions: list[PlannedAction]


class PlanOut(_Out):
    exit_code: Literal[0, 1, 2] = Field(description="0 in sync, 2 changes present, 1 error.")
    plan: Plan


class Outcome(_Out):
    """One action's line of the ledger."""

    index: int
    address: str
    action: str
    status: str
    error: str | None
    outputs: dict[str, Any] | None
    attempted: bool
    started_at: float | None
    finished_at: float | None
    duration_ms: float | None = None


class ApplyResult(_Out):
    full_success: bool
    action_count: int | None
    errors: list[str]
    actions: list[Outcome]


class GateDecision(_Out):
    lane: Literal["manual", "auto"]
    refused: bool
    reasons: list[str]
    applied_modules: list[str]
    blocked: dict[str, str] = Field(description="Modules held back, with the reason for each.")
    out_of_scope: list[str]


class CommitBack(_Out):
    """What commit-back did; fields it has nothing to say about are left out."""

    committed: bool
    reason: str | None = None
    state_diverged: bool = False
    commit: str | None = None
    branch: str | None = None
    target: str | None = None
    pushed_pending: int = 0
    pr_url: str | None = None


class ApplyOut(_Out):
    run_id: str
    full_success: bool
    result: ApplyResult
    gate: GateDecision
    commit_back: CommitBack | None
    state_diverged: bool = Field(description="Applied, but git could not be brought to match (HTTP 207).")


class DriftChange(_Out):
    attribute: str
    recorded: Any
    live: Any
    sensitive: bool


class DriftItem(_Out):
    address: str
    module: str
    type: str
    drift: Literal["changed", "deleted", "unmanaged"]
    changes: list[DriftChange]
    resource_id: str | None


class DriftOut(_Out):
    exit_code: Literal[0, 1, 2] = Field(description="0 no drift, 2 drift, 1 error.")
    stack: str
    scanned: int
    drifted: int
    errors: list[str]
    items: list[DriftItem]


class ReconcileOut(_Out):
    """A reconcile run; fields it has nothing to say about are left out."""

    run_id: str
    draft: bool
    drifted: int = 0
    warning: str | None = None
    branch: str | None = None
    pr_url: str | None = None
    state_diverged: bool = False
    reason: str | None = None
    commit: str | None = None
    healed: list[str] = Field(default_factory=list)
    ignored: list[str] = Field(default_factory=list)
    resolved_comment: bool = False


# ---- runs -----------------------------------------------------------------------------------


class Run(_Out):
    id: str
    stack: str
    kind: str
    status: str
    actor: str
    started_at: float
    finished_at: float | None
    action_count: int | None
    summary: dict[str, Any]
    errors: list[str]
    pid: int | None
    host: str | None


class RunList(_Out):
    items: list[Run]


class LedgerEntry(_Out):
    index: int
    address: str
    action: str
    status: str | None = Field(
        description="UNCERTAIN: in flight when the run stopped; NOT_STARTED: never begun."
    )
    phase: Literal["pending", "in_flight", "done"]
    error: str | None
    outputs: dict[str, Any] | None
    attempted: bool
    started_at: float | None
    finished_at: float | None


class RunDetail(Run):
    ledger: list[LedgerEntry]
