# -*- test-case-name: tests.store.test_migrations -*-
"""
The tables the repositories query, as SQLAlchemy Core objects.

This describes the schema at migration head; the migrations in
C{tpbx/store/migrations/versions} are what create and change it, and a
test checks that both agree.  Timestamps are epoch seconds (floats) so
SQLite and PostgreSQL store them alike and tests can use fake time.
"""

from sqlalchemy import (
    Boolean, CheckConstraint, Column, Float, ForeignKey, Index, Integer,
    MetaData, String, Table, Text, UniqueConstraint,
)

__all__ = ["metadata", "settings", "extensions", "bindings", "accessList",
           "configVersion", "ringGroups", "ringGroupMembers",
           "forwardingRules", "officeHours", "holidays", "cdr",
           "ACCESS_KINDS"]

ACCESS_KINDS = ("blacklist", "whitelist")

metadata = MetaData()

settings = Table(
    "settings", metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),  # JSON text
)

extensions = Table(
    "extensions", metadata,
    Column("number", String(16), primary_key=True),
    Column("first_name", String(100), nullable=False, default=""),
    Column("last_name", String(100), nullable=False, default=""),
    Column("email", String(254), nullable=False, default=""),
    Column("auth_id", String(64), nullable=False),
    Column("password", String(128), nullable=False),
    Column("pin", String(12), nullable=False, default=""),
    Column("lan_only", Boolean, nullable=False, default=False),
    Column("status", String(32), nullable=False, default="available"),
    Column("call_waiting", Boolean, nullable=False, default=True),
    Column("record_calls", Boolean, nullable=False, default=False),
    Column("direct_media", Boolean, nullable=False, default=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("auth_id", name="extensions_auth_id_key"),
)

bindings = Table(
    "bindings", metadata,
    Column("aor", String(255), primary_key=True),
    Column("contact", String(1024), primary_key=True),
    Column("expires_at", Float, nullable=False),
    Column("q", Float),
    Column("call_id", String(255), nullable=False),
    Column("cseq", Integer, nullable=False),
    Column("transport", String(8), nullable=False),
    Column("source_host", String(64), nullable=False),
    Column("source_port", Integer, nullable=False),
    Column("user_agent", String(255), nullable=False, default=""),
    Column("instance_id", String(255)),
    Column("reg_id", Integer),
    Index("bindings_expires_at", "expires_at"),
)

accessList = Table(
    "access_list", metadata,
    Column("kind", String(16), primary_key=True),
    Column("network", String(64), primary_key=True),
    Column("until", Float),  # NULL: permanent
    Column("reason", String(255), nullable=False, default=""),
    CheckConstraint("kind IN ('blacklist', 'whitelist')",
                    name="access_list_kind"),
)

configVersion = Table(
    "config_version", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", Integer, nullable=False),
    CheckConstraint("id = 1", name="config_version_single_row"),
)

ringGroups = Table(
    "ring_groups", metadata,
    Column("number", String(16), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("strategy", String(16), nullable=False),
    Column("ring_time", Integer, nullable=False),
    Column("no_answer", String(64), nullable=False),
    # SPEC E4: "239.255.0.1:5004", "[ff05::1]:5004", or "" (no multicast).
    Column("multicast", String(64), nullable=False, server_default=""),
)

ringGroupMembers = Table(
    "ring_group_members", metadata,
    Column("group_number", String(16),
           ForeignKey("ring_groups.number", ondelete="CASCADE"),
           primary_key=True),
    Column("position", Integer, primary_key=True, autoincrement=False),
    Column("extension", String(16),
           ForeignKey("extensions.number", ondelete="CASCADE"),
           nullable=False),
)

forwardingRules = Table(
    "forwarding_rules", metadata,
    Column("id", Integer, primary_key=True),
    Column("extension", String(16),
           ForeignKey("extensions.number", ondelete="CASCADE"),
           nullable=False),
    Column("status", String(32), nullable=False),
    Column("hours", String(16), nullable=False),
    Column("caller", String(16), nullable=False),
    Column("condition", String(16), nullable=False),
    Column("delay", Integer, nullable=False),
    Column("action", String(64), nullable=False),
    Index("forwarding_rules_extension", "extension"),
)

officeHours = Table(
    "office_hours", metadata,
    Column("weekday", Integer, primary_key=True, autoincrement=False),
    Column("open", String(5), primary_key=True),
    Column("close", String(5), nullable=False),
)

holidays = Table(
    "holidays", metadata,
    Column("date", String(10), primary_key=True),
    Column("name", String(100), nullable=False),
)

cdr = Table(
    "cdr", metadata,
    Column("id", Integer, primary_key=True),
    Column("call_id", String(255), nullable=False),
    Column("leg", String(64), nullable=False),
    Column("caller", String(64), nullable=False),
    Column("callee", String(64), nullable=False),
    Column("dialled", String(64), nullable=False),
    Column("start", Float, nullable=False),
    Column("answer", Float),
    Column("end", Float, nullable=False),
    Column("duration", Float, nullable=False),
    Column("disposition", String(16), nullable=False),
    Column("hangup_side", String(16), nullable=False),
    Column("codec", String(32), nullable=False),
    Index("cdr_start", "start"),
)
