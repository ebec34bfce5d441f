# -*- test-case-name: tests.store.test_migrations -*-
"""
Helpers for running tests against PostgreSQL, only when
C{TPBX_TEST_POSTGRES_URL} names a database the tests may use (for example
C{postgresql://tpbx:pw@localhost/tpbx_test}).  Each test gets a schema of
its own, so parallel workers (pytest-xdist) never see each other's tables.
"""

import os
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import make_url, text

from tpbx.store.engine import makeEngine

__all__ = ["POSTGRES_URL", "needsPostgres", "postgresSchema"]

POSTGRES_URL = os.environ.get("TPBX_TEST_POSTGRES_URL")
needsPostgres = pytest.mark.skipif(
    not POSTGRES_URL,
    reason="set TPBX_TEST_POSTGRES_URL to run against PostgreSQL")


@contextmanager
def postgresSchema(dataDir):
    """
    Create an empty schema, yield a URL whose connections use it, drop it.
    """
    schema = "tpbx_test_" + uuid.uuid4().hex[:12]
    _execute(dataDir, f'CREATE SCHEMA "{schema}"')
    url = make_url(POSTGRES_URL).update_query_dict(
        {"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        _execute(dataDir, f'DROP SCHEMA "{schema}" CASCADE')


def _execute(dataDir, sql: str) -> None:
    engine = makeEngine(str(dataDir), POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text(sql))
    engine.dispose()
