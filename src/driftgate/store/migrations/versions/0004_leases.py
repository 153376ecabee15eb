"""Per-repo leases (serialization across workers and machines) and proposal job status.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "repo_leases",
        sa.Column("repo_id", sa.Integer, primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    with op.batch_alter_table("proposals") as batch:
        batch.add_column(sa.Column("job_status", sa.String(16), nullable=True))
        batch.add_column(sa.Column("job_heartbeat", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("proposals") as batch:
        batch.drop_column("job_heartbeat")
        batch.drop_column("job_status")
    op.drop_table("repo_leases")
