# -*- test-case-name: tests.store.test_repositories -*-
"""
The configuration store: validated edits of extensions, the access lists
and settings, plus the persisted registration bindings; call
configuration and CDRs come from mixins (L{tpbx.store.callstore},
L{tpbx.store.cdr}).

Every configuration write bumps C{config_version} in the same
transaction; the running server polls that one integer
(L{tpbx.store.snapshot.SnapshotRefresher}) so an edit made by
C{tpbx-admin} in another process reaches the SIP path within a second.
Binding flushes do not bump it: they are live state, not configuration.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, NamedTuple

from sqlalchemy import Connection, Engine, delete, or_, select, update
from zope.interface import implementer

from tpbx.errors import Conflict, NotFound, ValidationError
from tpbx.interfaces import IConfigStore
from tpbx.model import AccessEntry, Extension
from tpbx.passwords import generatePassword
from tpbx.store import bindings as bindingRows
from tpbx.store.callstore import (
    CallConfigRepository, checkNumberFree, readForwarding, readHolidays,
    readOfficeHours, readRingGroups,
)
from tpbx.store.cdr import CallDetailRepository
from tpbx.store.engine import makeEngine, migrate, reading, upsert, writing
from tpbx.store.schema import (
    ACCESS_KINDS, accessList, configVersion, extensions, settings,
)
from tpbx.store.validation import (
    COLUMN_OF, FieldConflict, canonicalNetwork, checkKind, cleanAccess,
    cleanExtension,
)

__all__ = ["Store", "openStore", "FieldConflict", "DirectoryData",
           "DIGITS_SETTING", "VOICEMAIL_SETTING"]

DIGITS_SETTING = "extensionDigits"
VOICEMAIL_SETTING = "voicemailNumber"


class DirectoryData(NamedTuple):
    """
    Everything a L{tpbx.store.snapshot.DirectorySnapshot} holds, read in
    one transaction so the parts agree with each other and with
    C{version}.
    """

    version: int
    extensions: list
    settings: dict
    access: dict
    ringGroups: list = ()
    forwarding: list = ()
    officeHours: list = ()
    holidays: list = ()


def openStore(dataDir: str, url: str | None = None,
              seconds: Callable[[], float] = time.time) -> "Store":
    """
    Open (creating if needed) the store and migrate it to the newest
    schema.

    @param dataDir: the C{--data} directory; holds C{tpbx.db} for SQLite.
    @param url: a database URL (C{postgresql://user:pw@host/db}), or
        L{None} for SQLite in C{dataDir}.
    @param seconds: the clock (C{reactor.seconds} in the server).
    """
    engine = makeEngine(dataDir, url)
    migrate(engine)
    return Store(engine, seconds)


@implementer(IConfigStore)
class Store(CallConfigRepository, CallDetailRepository):
    """
    L{IConfigStore} over SQLAlchemy Core; see the module docstring.  The
    call configuration and CDR methods come from the mixins
    L{CallConfigRepository} and L{CallDetailRepository}.
    """

    def __init__(self, engine: Engine,
                 seconds: Callable[[], float] = time.time):
        """
        @param engine: from L{tpbx.store.engine.makeEngine}, migrated.
        @param seconds: returns the current epoch time.
        """
        self.engine = engine
        self._seconds = seconds

    def now(self) -> float:
        """@return: the current time from the store's clock."""
        return self._seconds()

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    @contextmanager
    def _configWrite(self) -> Iterator[Connection]:
        with writing(self.engine) as connection:
            yield connection
            connection.execute(update(configVersion).where(
                configVersion.c.id == 1).values(
                    version=configVersion.c.version + 1))

    def configVersion(self) -> int:
        """
        @return: the counter bumped by every configuration write (one
            indexed single-row read; cheap enough to poll every second).
        """
        with reading(self.engine) as connection:
            return connection.scalar(select(configVersion.c.version))

    # Extensions (SPEC B1, B4, B5)

    def listExtensions(self) -> list[Extension]:
        with reading(self.engine) as connection:
            return _allExtensions(connection)

    def getExtension(self, number: str) -> Extension | None:
        with reading(self.engine) as connection:
            return _extensionBy(connection, extensions.c.number, number)

    def createExtension(self, fields: dict):
        """
        See L{IConfigStore.createExtension}; a weak password is refused
        unless C{fields["allowWeakPassword"]} is true.

        @raise ValidationError: a field is bad.
        @raise FieldConflict: the number or auth ID is taken.
        """
        [result] = self.createExtensions([fields])
        if isinstance(result, Exception):
            raise result
        return result

    def createExtensions(self, fieldsList: Iterable[dict]) -> list:
        """
        Create many extensions in one transaction (CSV import): a bad item
        is reported and skipped, the good ones are stored.

        @return: per item, C{(extension, generatedPassword or None)} or
            the L{ValidationError}/L{FieldConflict} that refused it.
        """
        results = []
        with self._configWrite() as connection:
            digits = _getSetting(connection, DIGITS_SETTING)
            digits = None if digits is None else int(digits)
            voicemail = _getSetting(connection, VOICEMAIL_SETTING)
            reserved = {voicemail: "the voicemail access number"} \
                if voicemail else {}
            for fields in fieldsList:
                try:
                    clean = cleanExtension(fields, None, digits, reserved)
                    results.append(self._insert(connection, clean))
                except (ValidationError, Conflict) as error:
                    results.append(error)
        return results

    def _insert(self, connection: Connection, clean: dict):
        generated = None
        if "password" not in clean:
            generated = clean["password"] = generatePassword()
        clean.setdefault("authId", clean["number"])
        _checkUnique(connection, clean["number"], clean["authId"])
        now = self._seconds()
        record = Extension(**clean)
        row = {column: getattr(record, field)
               for field, column in COLUMN_OF.items()}
        connection.execute(extensions.insert().values(
            created_at=now, updated_at=now, **row))
        return record, generated

    def updateExtension(self, number: str, fields: dict) -> Extension:
        """
        See L{IConfigStore.updateExtension}.

        @raise NotFound: no such extension.
        @raise ValidationError: a field is bad (the number cannot change).
        @raise FieldConflict: the new auth ID is taken.
        """
        with self._configWrite() as connection:
            current = _extensionBy(connection, extensions.c.number, number)
            if current is None:
                raise NotFound(f"extension {number} does not exist")
            clean = cleanExtension(fields, current)
            if clean.get("authId", current.authId) != current.authId:
                _checkUnique(connection, None, clean["authId"])
            changes = {COLUMN_OF[field]: value
                       for field, value in clean.items()}
            connection.execute(update(extensions).where(
                extensions.c.number == number).values(
                    updated_at=self._seconds(), **changes))
            return _extensionBy(connection, extensions.c.number, number)

    def deleteExtension(self, number: str) -> None:
        """@raise NotFound: no such extension."""
        with self._configWrite() as connection:
            result = connection.execute(delete(extensions).where(
                extensions.c.number == number))
            if result.rowcount == 0:
                raise NotFound(f"extension {number} does not exist")

    # Blacklist and whitelist (SPEC I3)

    def listAccess(self, kind: str) -> list[AccessEntry]:
        checkKind(kind)
        with reading(self.engine) as connection:
            return _liveAccess(connection, self._seconds(), kind)

    def addAccess(self, kind: str, entry: AccessEntry) -> AccessEntry:
        """
        Add or replace the entry for C{entry.network}.

        @return: the entry as stored (network normalised).
        """
        entry = cleanAccess(kind, entry)
        with self._configWrite() as connection:
            upsert(connection, accessList, [{
                "kind": kind, "network": entry.network,
                "until": entry.until, "reason": entry.reason}],
                ("kind", "network"))
        return entry

    def removeAccess(self, kind: str, network: str) -> None:
        """@raise NotFound: no such entry."""
        checkKind(kind)
        network = canonicalNetwork("network", network)
        with self._configWrite() as connection:
            result = connection.execute(delete(accessList).where(
                accessList.c.kind == kind, accessList.c.network == network))
            if result.rowcount == 0:
                raise NotFound(f"{network} is not on the {kind}")

    # Settings

    def getSetting(self, name: str, default=None):
        with reading(self.engine) as connection:
            return _getSetting(connection, name, default)

    def setSetting(self, name: str, value) -> None:
        self.setSettings({name: value})

    def setSettings(self, values: dict) -> None:
        """
        Store several settings in one transaction.

        @param values: names to JSON-able values.
        @raise ValidationError: a value cannot be stored as JSON.
        """
        rows = []
        for name, value in values.items():
            try:
                rows.append({"name": name, "value": json.dumps(value)})
            except (TypeError, ValueError):
                raise ValidationError(name, "is not a JSON value")
        with self._configWrite() as connection:
            upsert(connection, settings, rows, ("name",))

    # The running server's view

    def readDirectory(self) -> DirectoryData:
        """
        @return: the whole configuration the SIP path consults, read in
            one transaction.
        """
        now = self._seconds()
        with reading(self.engine) as connection:
            return DirectoryData(
                version=connection.scalar(select(configVersion.c.version)),
                extensions=_allExtensions(connection),
                settings={row.name: json.loads(row.value) for row in
                          connection.execute(select(settings))},
                access={kind: _liveAccess(connection, now, kind)
                        for kind in ACCESS_KINDS},
                ringGroups=readRingGroups(connection),
                forwarding=[rule for _, rule in readForwarding(connection)],
                officeHours=readOfficeHours(connection),
                holidays=readHolidays(connection))

    # Registration bindings (live state, not configuration)

    def saveBindings(self, rows: Iterable[dict]) -> None:
        """Upsert binding rows (see L{bindingRows.BINDING_FIELDS})."""
        self.flushBindings(rows, ())

    def deleteBindings(self, keys: Iterable[tuple[str, str]]) -> None:
        """Delete bindings by C{(aor, contact)}."""
        self.flushBindings((), keys)

    def flushBindings(self, saved: Iterable[dict],
                      deleted: Iterable[tuple[str, str]]) -> None:
        """
        Write one batch of binding changes in one transaction: what the
        server calls once a second with whatever changed since.
        """
        with writing(self.engine) as connection:
            bindingRows.flushBindings(connection, saved, deleted)

    def loadBindings(self, now: float) -> list[dict]:
        """
        @return: the bindings still live at C{now} (expired ones are
            deleted).
        """
        with writing(self.engine) as connection:
            return bindingRows.loadBindings(connection, now)


def _getSetting(connection: Connection, name: str, default=None):
    value = connection.scalar(select(settings.c.value).where(
        settings.c.name == name))
    return default if value is None else json.loads(value)


def _toExtension(row) -> Extension:
    mapping = row._mapping
    return Extension(**{field: mapping[column]
                        for field, column in COLUMN_OF.items()})


def _extensionBy(connection: Connection, column, value) -> Extension | None:
    row = connection.execute(select(extensions).where(
        column == value)).first()
    return None if row is None else _toExtension(row)


def _allExtensions(connection: Connection) -> list[Extension]:
    return [_toExtension(row) for row in connection.execute(
        select(extensions).order_by(extensions.c.number))]


def _checkUnique(connection: Connection, number: str | None,
                 authId: str) -> None:
    """
    @param number: a number about to be created, or L{None} on update.
    @raise FieldConflict: C{number} exists or C{authId} is in use.
    """
    if number is not None:
        checkNumberFree(connection, number)
    owner = _extensionBy(connection, extensions.c.auth_id, authId)
    if owner is not None:
        raise FieldConflict(
            "authId", f"auth ID {authId} is used by extension {owner.number}")


def _liveAccess(connection: Connection, now: float,
                kind: str) -> list[AccessEntry]:
    rows = connection.execute(select(accessList).where(
        accessList.c.kind == kind,
        or_(accessList.c.until.is_(None), accessList.c.until > now),
    ).order_by(accessList.c.network))
    return [AccessEntry(row.network, row.until, row.reason) for row in rows]
