# -*- test-case-name: tests.store.test_migrations -*-
"""
Multicast paging (SPEC E4): a ring group's C{multicast} group and port.

Written out by hand, like 0001 and 0002, so later changes to
L{tpbx.store.schema} can never rewrite what an old database got.  The
server default C{""} leaves every existing ring group as it was: no
multicast, members rung as before.

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ring_groups") as batch:
        batch.add_column(sa.Column("multicast", sa.String(64), nullable=False,
                                   server_default=sa.text("''")))


def downgrade() -> None:
    with op.batch_alter_table("ring_groups") as batch:
        batch.drop_column("multicast")
