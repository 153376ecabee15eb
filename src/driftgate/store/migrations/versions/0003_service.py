"""The service: API tokens, config repos, proposals.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("revoked_at", sa.Float, nullable=True),
    )
    op.create_table(
        "config_repos",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("default_branch", sa.String(200), nullable=False),
        sa.Column("forge", sa.String(32), nullable=False),
        sa.Column("auth_ref", sa.String(500), nullable=False),
        sa.Column("webhook_secret_ref", sa.String(500), nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "config_repo_id", sa.Integer, sa.ForeignKey("config_repos.id", ondelete="SET NULL"), nullable=True
        ),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("rationale", sa.Text, nullable=False),
        sa.Column("edits", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.Column("chart", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reject_reason", sa.Text, nullable=True),
        sa.Column("pr_url", sa.Text, nullable=True),
        sa.Column("pr_number", sa.Integer, nullable=True),
        sa.Column("pr_state", sa.String(16), nullable=True),
        sa.Column("pr_open_error", sa.JSON(), nullable=True),
        sa.Column("job_id", sa.String(64), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_proposals_status", "proposals", ["status", "id"])


def downgrade() -> None:
    for table in ("proposals", "config_repos", "api_tokens"):
        op.drop_table(table)
