# -*- test-case-name: tests.store.test_repositories -*-
"""
Store fixtures: a fresh store on SQLite in C{tmp_path}, and the same tests
against PostgreSQL when C{TPBX_TEST_POSTGRES_URL} is set (see
L{tests.store.postgres}).
"""

import pytest
from twisted.internet.task import Clock

from tests.store.postgres import needsPostgres, postgresSchema
from tpbx.store import openStore

BACKENDS = ["sqlite", pytest.param("postgresql", marks=needsPostgres)]


@pytest.fixture(params=BACKENDS)
def dbUrl(request, tmp_path):
    """
    L{None} for SQLite in C{tmp_path}, or a PostgreSQL URL using a fresh
    schema.
    """
    if request.param == "sqlite":
        yield None
        return
    with postgresSchema(tmp_path) as url:
        yield url


@pytest.fixture
def clock():
    """Fake time, starting well after the epoch."""
    clock = Clock()
    clock.advance(1_700_000_000)
    return clock


@pytest.fixture
def store(tmp_path, dbUrl, clock):
    """A migrated, empty store."""
    store = openStore(str(tmp_path / "data"), dbUrl, clock.seconds)
    yield store
    store.close()


@pytest.fixture
def secondStore(tmp_path, dbUrl, clock, store):
    """Another Store on the same database, as tpbx-admin would open."""
    other = openStore(str(tmp_path / "data"), dbUrl, clock.seconds)
    yield other
    other.close()
