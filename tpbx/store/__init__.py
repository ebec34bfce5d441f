# -*- test-case-name: tests.store -*-
"""
The configuration store: schema, migrations, repositories and the
in-memory snapshot the SIP path reads (DESIGN.md, "Storage and scale").

SQLAlchemy Core with Alembic migrations, SQLite in the data directory by
default and PostgreSQL by URL, the same code for both.
"""

from tpbx.store.firstrun import (
    SetupChoices, initialise, isInitialised, setAdminPassword,
    verifyAdminPassword,
)
from tpbx.store.repositories import FieldConflict, Store, openStore
from tpbx.store.snapshot import DirectorySnapshot, SnapshotRefresher

__all__ = [
    "openStore", "Store", "FieldConflict", "DirectorySnapshot",
    "SnapshotRefresher", "SetupChoices", "initialise", "isInitialised",
    "setAdminPassword", "verifyAdminPassword",
]
