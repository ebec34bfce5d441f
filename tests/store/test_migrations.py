# -*- test-case-name: tests.store.test_migrations -*-
"""
Tests for L{tpbx.store.engine}: migrations run from the package without an
alembic.ini, and SQLite is opened tuned for two processes.
"""

import os

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, inspect

from tpbx.store import openStore
from tpbx.store.engine import alembicConfig, makeEngine, migrate, reading
from tpbx.store.schema import metadata


def headRevision():
    return ScriptDirectory.from_config(alembicConfig()).get_current_head()


def currentRevision(engine):
    with reading(engine) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_emptyToHead(tmp_path, dbUrl):
    """
    Migrating an empty database reaches the head revision and creates
    every table, with config_version at 0.
    """
    engine = makeEngine(str(tmp_path), dbUrl)
    assert currentRevision(engine) is None
    migrate(engine)
    assert currentRevision(engine) == headRevision()
    names = set(inspect(engine).get_table_names())
    assert {"settings", "extensions", "bindings", "access_list",
            "config_version"} <= names
    engine.dispose()


def test_migrateTwiceIsHarmless(tmp_path, dbUrl):
    """
    Re-running the migrations on an up-to-date database (every server and
    tpbx-admin start does) changes nothing and keeps the data.
    """
    store = openStore(str(tmp_path), dbUrl)
    store.setSetting("extensionDigits", 4)
    store.close()
    again = openStore(str(tmp_path), dbUrl)
    assert again.getSetting("extensionDigits") == 4
    assert again.configVersion() == 1
    assert currentRevision(again.engine) == headRevision()
    again.close()


def test_migrationsMatchSchemaModule(store):
    """
    What the migrations create is what L{tpbx.store.schema} describes, so
    the repositories query the tables that exist.
    """
    with reading(store.engine) as connection:
        differences = compare_metadata(
            MigrationContext.configure(connection), metadata)
    assert differences == []


def test_migrationsShippedInPackage():
    """
    The Alembic script location is a package resource (it works from an
    installed tpbx), and every revision file sits in the package.
    """
    config = alembicConfig()
    assert config.get_main_option("script_location") == \
        "tpbx.store:migrations"
    script = ScriptDirectory.from_config(config)
    assert os.path.isfile(os.path.join(script.dir, "env.py"))
    assert [rev.revision for rev in script.walk_revisions()][-1] == "0001"


def test_sqliteDefaultFileInDataDir(tmp_path):
    """
    Without a URL the database is C{<data>/tpbx.db}; the data directory is
    created when missing.
    """
    data = tmp_path / "new" / "data"
    store = openStore(str(data))
    assert (data / "tpbx.db").is_file()
    store.close()


def test_sqlitePragmas(tmp_path):
    """
    SQLite runs in WAL mode with foreign keys and a busy timeout, so the
    server and tpbx-admin can use the file at the same time.
    """
    store = openStore(str(tmp_path))
    with reading(store.engine) as connection:
        pragma = connection.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert pragma("PRAGMA busy_timeout").scalar() >= 1000
    store.close()


def test_sqliteWritesTakeTheLockUpFront(tmp_path):
    """
    On SQLite, write transactions start with BEGIN IMMEDIATE (so a second
    process waits for the lock instead of failing mid-transaction) and
    reads with a plain BEGIN (so they never block the writer).
    """
    store = openStore(str(tmp_path))
    statements = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda conn, cursor, sql, *rest: statements.append(sql))
    store.setSetting("x", 1)
    assert statements[0] == "BEGIN IMMEDIATE"
    del statements[:]
    store.getSetting("x")
    assert statements[0] == "BEGIN"
    store.close()


def test_upgrade0001To0002KeepsData(tmp_path, dbUrl):
    """
    Upgrading a database made at 0001 that holds extensions, settings,
    access entries and bindings keeps all of it; existing extensions get
    the documented call options, and the new tables are usable.
    """
    from sqlalchemy import select, text

    from tpbx.model import CallDetail
    from tpbx.store.schema import settings
    engine = makeEngine(str(tmp_path), dbUrl)
    migrate(engine, "0001")
    with engine.begin() as connection:   # SQL as a 0001 server wrote it
        connection.execute(text(
            "INSERT INTO extensions (number, first_name, last_name, email,"
            " auth_id, password, pin, lan_only, created_at, updated_at) "
            "VALUES ('100', 'Ann', 'Lee', '', 'ann', 'pw-Secret-1', "
            "'1234', true, 1.0, 2.0)"))
        connection.execute(text("INSERT INTO settings (name, value) "
                                "VALUES ('extensionDigits', '3')"))
        connection.execute(text(
            "INSERT INTO access_list (kind, network, until, reason) "
            "VALUES ('blacklist', '192.0.2.1', NULL, 'x')"))
    engine.dispose()
    store = openStore(str(tmp_path), dbUrl)
    assert currentRevision(store.engine) == headRevision()
    ann = store.getExtension("100")
    assert (ann.firstName, ann.authId, ann.password, ann.pin, ann.lanOnly,
            ann.status, ann.callWaiting, ann.recordCalls,
            ann.directMedia) == ("Ann", "ann", "pw-Secret-1", "1234", True,
                                 "available", True, False, False)
    assert store.getSetting("extensionDigits") == 3
    assert [e.network for e in store.listAccess("blacklist")] == [
        "192.0.2.1"]
    store.createRingGroup({"number": "200", "members": ["100"]})
    store.recordCall(CallDetail("c", "100", "200", "200", 1.0, None, 2.0,
                                "no-answer"))
    assert len(store.queryCalls()) == 1
    with reading(store.engine) as connection:
        assert connection.scalar(select(settings.c.value).where(
            settings.c.name == "extensionDigits")) == "3"
    store.close()


def test_downgradeTo0001(tmp_path):
    """
    The 0002 downgrade drops what it added and leaves the 0001 data (a
    way back after a failed upgrade).
    """
    from alembic import command
    store = openStore(str(tmp_path))
    store.setSetting("extensionDigits", 3)
    store.createExtension({"number": "100", "firstName": "Ann"})
    config = alembicConfig()
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")
    names = set(inspect(store.engine).get_table_names())
    assert "ring_groups" not in names and "cdr" not in names
    columns = {c["name"] for c in inspect(store.engine).get_columns(
        "extensions")}
    assert "status" not in columns and "first_name" in columns
    store.close()
