"""Whether each recorded resource's module was stateful when it was applied.

A module removed from the specs is gone from them, but its destroy is still a
stateful change: the record keeps what the specs said.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resource_states") as batch:
        batch.add_column(sa.Column("stateful", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("resource_states") as batch:
        batch.drop_column("stateful")
