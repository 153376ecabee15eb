"""Whether each recorded resource is data-bearing, as a fact that only rises.

Revision 0010 recorded whether a resource's module was stateful when it was last
applied, and every apply rewrote it from the specs: flipping ``stateful: false``
lowered it. The gate now judges a delete or replace by this record, so it becomes
``data_bearing`` (its kind is data-bearing, a Terraform root lists it, or its module
was stateful, at any apply since it was created) and is never lowered by a spec
edit. ``data_bearing_parts`` holds the same fact for the parts of an expanding
resource (a Terraform root's addresses), which have no row of their own.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("resource_states") as batch:
        batch.alter_column("stateful", new_column_name="data_bearing")
        batch.add_column(sa.Column("data_bearing_parts", sa.JSON, nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("resource_states") as batch:
        batch.drop_column("data_bearing_parts")
        batch.alter_column("data_bearing", new_column_name="stateful")
