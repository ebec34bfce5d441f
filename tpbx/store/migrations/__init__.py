# -*- test-case-name: tests.store.test_migrations -*-
"""
Alembic migrations of the tpbx store (run by L{tpbx.store.engine.migrate}).

A package, not a plain directory, so an installed tpbx carries it like any
other code; Alembic itself reads the files by path.
"""
