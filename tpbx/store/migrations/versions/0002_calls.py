# -*- test-case-name: tests.store.test_migrations -*-
"""
Calls (issue 3): per-extension call options, ring groups, forwarding
rules, office hours and holidays, and call detail records.

Written out by hand, like 0001, so later changes to
L{tpbx.store.schema} can never rewrite what an old database got.  The
new extension columns carry server defaults so rows that exist already
get the documented defaults (status available, call waiting on,
recording and direct media off).

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_EXTENSION_COLUMNS = [
    ("status", sa.String(32), sa.text("'available'")),
    ("call_waiting", sa.Boolean, sa.true()),
    ("record_calls", sa.Boolean, sa.false()),
    ("direct_media", sa.Boolean, sa.false()),
]


def upgrade() -> None:
    with op.batch_alter_table("extensions") as batch:
        for name, kind, default in _EXTENSION_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=False,
                                       server_default=default))
    _ringGroups()
    _forwarding()
    _schedule()
    _cdr()


def _ringGroups() -> None:
    op.create_table(
        "ring_groups",
        sa.Column("number", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("strategy", sa.String(16), nullable=False),
        sa.Column("ring_time", sa.Integer, nullable=False),
        sa.Column("no_answer", sa.String(64), nullable=False),
    )
    op.create_table(
        "ring_group_members",
        sa.Column("group_number", sa.String(16),
                  sa.ForeignKey("ring_groups.number", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("position", sa.Integer, primary_key=True,
                  autoincrement=False),
        sa.Column("extension", sa.String(16),
                  sa.ForeignKey("extensions.number", ondelete="CASCADE"),
                  nullable=False),
    )


def _forwarding() -> None:
    op.create_table(
        "forwarding_rules",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("extension", sa.String(16),
                  sa.ForeignKey("extensions.number", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("hours", sa.String(16), nullable=False),
        sa.Column("caller", sa.String(16), nullable=False),
        sa.Column("condition", sa.String(16), nullable=False),
        sa.Column("delay", sa.Integer, nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
    )
    op.create_index("forwarding_rules_extension", "forwarding_rules",
                    ["extension"])


def _schedule() -> None:
    op.create_table(
        "office_hours",
        sa.Column("weekday", sa.Integer, primary_key=True,
                  autoincrement=False),
        sa.Column("open", sa.String(5), primary_key=True),
        sa.Column("close", sa.String(5), nullable=False),
    )
    op.create_table(
        "holidays",
        sa.Column("date", sa.String(10), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
    )


def _cdr() -> None:
    op.create_table(
        "cdr",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("call_id", sa.String(255), nullable=False),
        sa.Column("leg", sa.String(64), nullable=False),
        sa.Column("caller", sa.String(64), nullable=False),
        sa.Column("callee", sa.String(64), nullable=False),
        sa.Column("dialled", sa.String(64), nullable=False),
        sa.Column("start", sa.Float, nullable=False),
        sa.Column("answer", sa.Float),
        sa.Column("end", sa.Float, nullable=False),
        sa.Column("duration", sa.Float, nullable=False),
        sa.Column("disposition", sa.String(16), nullable=False),
        sa.Column("hangup_side", sa.String(16), nullable=False),
        sa.Column("codec", sa.String(32), nullable=False),
    )
    op.create_index("cdr_start", "cdr", ["start"])


def downgrade() -> None:
    for name in ("cdr", "holidays", "office_hours", "forwarding_rules",
                 "ring_group_members", "ring_groups"):
        op.drop_table(name)
    with op.batch_alter_table("extensions") as batch:
        for name, _, _ in reversed(_EXTENSION_COLUMNS):
            batch.drop_column(name)
