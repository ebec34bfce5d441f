# -*- test-case-name: tests.store.test_migrations -*-
"""
One module per schema revision, oldest first; Alembic skips this file.
"""
