# -*- test-case-name: tests.store.test_migrations -*-
"""
Initial schema: settings, extensions, registration bindings, the
blacklist/whitelist and the configuration version counter.

Written out by hand rather than from L{tpbx.store.schema} so that later
changes to the schema module can never rewrite what an old database got.

Revision ID: 0001
Revises:
"""

from alembic import op
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settings",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "extensions",
        sa.Column("number", sa.String(16), primary_key=True),
        sa.Column("first_name", sa.String(100), nullable=False),
        sa.Column("last_name", sa.String(100), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("auth_id", sa.String(64), nullable=False),
        sa.Column("password", sa.String(128), nullable=False),
        sa.Column("pin", sa.String(12), nullable=False),
        sa.Column("lan_only", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.UniqueConstraint("auth_id", name="extensions_auth_id_key"),
    )
    op.create_table(
        "bindings",
        sa.Column("aor", sa.String(255), primary_key=True),
        sa.Column("contact", sa.String(1024), primary_key=True),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("q", sa.Float),
        sa.Column("call_id", sa.String(255), nullable=False),
        sa.Column("cseq", sa.Integer, nullable=False),
        sa.Column("transport", sa.String(8), nullable=False),
        sa.Column("source_host", sa.String(64), nullable=False),
        sa.Column("source_port", sa.Integer, nullable=False),
        sa.Column("user_agent", sa.String(255), nullable=False),
        sa.Column("instance_id", sa.String(255)),
        sa.Column("reg_id", sa.Integer),
    )
    op.create_index("bindings_expires_at", "bindings", ["expires_at"])
    op.create_table(
        "access_list",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("network", sa.String(64), primary_key=True),
        sa.Column("until", sa.Float),
        sa.Column("reason", sa.String(255), nullable=False),
        sa.CheckConstraint("kind IN ('blacklist', 'whitelist')",
                           name="access_list_kind"),
    )
    versions = op.create_table(
        "config_version",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.CheckConstraint("id = 1", name="config_version_single_row"),
    )
    op.bulk_insert(versions, [{"id": 1, "version": 0}])


def downgrade() -> None:
    for name in ("config_version", "access_list", "bindings", "extensions",
                 "settings"):
        op.drop_table(name)
