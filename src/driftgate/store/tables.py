"""Table definitions (SQLAlchemy Core; one metadata for models and migrations)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
)

metadata = MetaData()
# JSON on both backends (PostgreSQL: json). Nothing queries inside these documents yet.
Json = JSON()

stacks = Table(
    "stacks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("directory", Text, nullable=False),
    Column("location", Text, nullable=True),  # config repo and path the stack was first applied from
    Column("state_serial", Integer, nullable=False, default=0),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

resource_states = Table(
    "resource_states",
    metadata,
    Column("stack_id", Integer, ForeignKey("stacks.id", ondelete="CASCADE"), primary_key=True),
    Column("address", String(400), primary_key=True),
    Column("module", String(64), nullable=False),
    Column("type", String(128), nullable=False),
    Column("attributes", Json, nullable=False),
    Column("outputs", Json, nullable=False),
    Column("depends_on", Json, nullable=False),
    Column("status", String(16), nullable=False),  # applied | uncertain
    # data-bearing at any apply since it was created (kind, Terraform listing or stateful module): only rises
    Column("data_bearing", Boolean, nullable=False, server_default=false()),
    Column("data_bearing_parts", Json, nullable=False, server_default="[]"),  # an expanding resource's
    Column("run_id", String(36), nullable=True),
    Column("updated_at", Float, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("stack_id", Integer, ForeignKey("stacks.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float, nullable=True),
    Column("action_count", Integer, nullable=True),
    Column("summary", Json, nullable=False),
    Column("errors", Json, nullable=False),
    Column("pid", Integer, nullable=True),
    Column("host", String(255), nullable=True),
    Index("ix_runs_stack_started", "stack_id", "started_at"),
)

action_outcomes = Table(
    "action_outcomes",
    metadata,
    Column("run_id", String(36), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("address", String(400), nullable=False),
    Column("action", String(16), nullable=False),
    Column("phase", String(16), nullable=False),  # pending | in_flight | done
    Column("status", String(24), nullable=True),
    Column("error", Text, nullable=True),
    Column("outputs", Json, nullable=False),
    Column("attempted", Boolean, nullable=False, default=False),
    Column("started_at", Float, nullable=True),
    Column("finished_at", Float, nullable=True),
)

stack_locks = Table(
    "stack_locks",
    metadata,
    Column("stack_id", Integer, ForeignKey("stacks.id", ondelete="CASCADE"), primary_key=True),
    Column("run_id", String(36), nullable=True),
    Column("holder", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("host", String(255), nullable=False),
    Column("acquired_at", Float, nullable=False),
)

backups = Table(
    "backups",
    metadata,
    Column("ref", String(255), primary_key=True),
    Column("stack_id", Integer, ForeignKey("stacks.id", ondelete="CASCADE"), nullable=False),
    Column("module", String(64), nullable=False),
    Column("path", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("manifest", Json, nullable=False),
    Index("ix_backups_stack_module", "stack_id", "module", "created_at"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float, nullable=True),
)

config_repos = Table(
    "config_repos",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("url", Text, nullable=False),
    Column("default_branch", String(200), nullable=False),
    Column("forge", String(32), nullable=False),
    Column("auth_ref", String(500), nullable=False),
    Column("webhook_secret_ref", String(500), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

proposals = Table(
    "proposals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("config_repo_id", Integer, ForeignKey("config_repos.id", ondelete="SET NULL"), nullable=True),
    Column("title", String(300), nullable=False),
    Column("rationale", Text, nullable=False),
    Column("edits", Json, nullable=False),
    Column("metrics", Json, nullable=True),
    Column("chart", Json, nullable=True),
    Column("status", String(16), nullable=False),
    Column("reject_reason", Text, nullable=True),
    Column("pr_url", Text, nullable=True),
    Column("pr_number", Integer, nullable=True),
    Column("pr_state", String(16), nullable=True),
    Column("pr_open_error", Json, nullable=True),
    Column("pr_opened_at", Float, nullable=True),
    Column("pr_state_at", Float, nullable=True),  # the forge's updated_at of the recorded pr_state
    Column("job_id", String(64), nullable=True),
    Column("job_status", String(16), nullable=True),
    Column("job_heartbeat", Float, nullable=True),
    Column("created_by", String(100), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Index("ix_proposals_status", "status", "id"),
)

repo_leases = Table(
    "repo_leases",
    metadata,
    Column("repo_id", Integer, primary_key=True),
    Column("holder", String(200), nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("epoch", Integer, nullable=False, server_default="0"),  # raised by every grant: the fence
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("delivery_id", String(100), primary_key=True),
    Column("received_at", Float, nullable=False),
)

forge_hosts = Table(
    "forge_hosts",
    metadata,
    Column("host", String(255), primary_key=True),  # host[:port], lower-case
    Column("kind", String(32), nullable=False),
    Column("detected_at", Float, nullable=False),
)

ui_sessions = Table(
    "ui_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),  # sha256 of the cookie's value, never the value
    Column("token_id", Integer, ForeignKey("api_tokens.id", ondelete="CASCADE"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)
