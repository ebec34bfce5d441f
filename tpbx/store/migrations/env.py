# -*- test-case-name: tests.store.test_migrations -*-
"""
Alembic environment for tpbx.

There is no alembic.ini and no logging setup: L{tpbx.store.engine.migrate}
builds the Config in code and hands over an open connection inside a
transaction, so the migration commits or rolls back as one unit (SQLite
included, since the engine emits BEGIN itself).
"""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
