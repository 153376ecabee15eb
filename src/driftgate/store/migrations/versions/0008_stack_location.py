"""Where a stack lives (its config repo and path): one name, one place.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stacks") as batch:
        batch.add_column(sa.Column("location", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("stacks") as batch:
        batch.drop_column("location")
