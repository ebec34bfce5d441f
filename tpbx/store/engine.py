# -*- test-case-name: tests.store.test_migrations -*-
"""
Opening the database: SQLite in the data directory or PostgreSQL by URL,
the same code for both (DESIGN.md, "Storage and scale").

SQLite is tuned for a server and a C{tpbx-admin} writing the same file at
once: WAL so readers never block the writer, C{synchronous=NORMAL} (in WAL
mode a commit then waits for no fsync; the database stays consistent and
only the last commits before a power cut can be lost, which SQLite
documents as the usual WAL setting), a busy timeout so a writer
waits instead of failing, foreign keys on.  The sqlite3 driver's own
transaction handling is switched off and SQLAlchemy emits C{BEGIN}
itself, so SELECTs are inside transactions and DDL is transactional;
write transactions start with C{BEGIN IMMEDIATE} to take the write lock
up front (a deferred transaction that reads first and writes later can
fail with SQLITE_BUSY without waiting when another process committed in
between).
"""

from __future__ import annotations

import importlib.util
import os
from contextlib import contextmanager
from typing import Iterator

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    URL, Connection, Engine, Table, create_engine, event, make_url,
)
from sqlalchemy.dialects.postgresql import insert as postgresqlInsert
from sqlalchemy.dialects.sqlite import insert as sqliteInsert

__all__ = ["DB_FILENAME", "BUSY_TIMEOUT_MS", "makeEngine", "alembicConfig",
           "migrate", "reading", "writing", "upsert"]

DB_FILENAME = "tpbx.db"
BUSY_TIMEOUT_MS = 10000
_WRITE_OPTION = "tpbx_write"
_INSERTS = {"sqlite": sqliteInsert, "postgresql": postgresqlInsert}


def makeEngine(dataDir: str, url: str | None = None) -> Engine:
    """
    Create the engine; make C{dataDir} first if needed.

    @param dataDir: the server's C{--data} directory.
    @param url: a SQLAlchemy URL (C{postgresql://...}); L{None} for
        C{<dataDir>/tpbx.db}.
    """
    os.makedirs(dataDir, exist_ok=True)
    if url is None:
        url = "sqlite:///" + os.path.abspath(os.path.join(dataDir,
                                                          DB_FILENAME))
    engine = create_engine(_withDriver(make_url(url)))
    if engine.dialect.name == "sqlite":
        _tuneSQLite(engine)
    return engine


def _withDriver(url: URL) -> URL:
    """
    A plain C{postgresql://} URL means SQLAlchemy's default driver, which
    is psycopg 3 since SQLAlchemy 2.1; fall back to psycopg2 (what tpbx
    depends on) when psycopg 3 is not installed.
    """
    if url.drivername != "postgresql" or importlib.util.find_spec(
            "psycopg") is not None:
        return url
    return url.set(drivername="postgresql+psycopg2")


def _tuneSQLite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def onConnect(dbapiConnection, connectionRecord):
        dbapiConnection.isolation_level = None
        cursor = dbapiConnection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def onBegin(connection):
        immediate = connection.get_execution_options().get(_WRITE_OPTION)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate
                                   else "BEGIN")


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """
    A write transaction: commits on success, rolls back on any exception.
    """
    with engine.connect() as connection:
        connection.execution_options(**{_WRITE_OPTION: True})
        with connection.begin():
            yield connection


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """
    A read transaction: one consistent view of the database.
    """
    with engine.connect() as connection, connection.begin():
        yield connection


def alembicConfig() -> Config:
    """
    @return: an Alembic configuration built in code (no alembic.ini),
        pointing at the migrations shipped inside the package.
    """
    config = Config()
    config.set_main_option("script_location", "tpbx.store:migrations")
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """
    Bring the schema to C{revision} in one transaction.  Running it on an
    up-to-date database changes nothing.
    """
    config = alembicConfig()
    with writing(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def upsert(connection: Connection, table: Table, rows: list[dict],
           keys: tuple[str, ...]) -> None:
    """
    Insert C{rows}, replacing those whose C{keys} exist already: one
    executemany of C{INSERT ... ON CONFLICT DO UPDATE}, which SQLite and
    PostgreSQL spell the same way.
    """
    if not rows:
        return
    dialectInsert = _INSERTS[connection.dialect.name]
    statement = dialectInsert(table)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: statement.excluded[name] for name in rows[0]
              if name not in keys})
    connection.execute(statement, rows)
