# -*- test-case-name: tests.store.test_snapshot -*-
"""
The in-memory view of configuration the SIP path consults on every
message (L{IDirectory}), and the poller that keeps it fresh.

A REGISTER must never wait for the database, so the server answers from
plain dicts built in one read.  C{tpbx-admin} and the web console write
to the store, maybe from another process; each write bumps
C{config_version}, and L{SnapshotRefresher.poll}, called every second by
the server, rebuilds the snapshot only when that number moved.
"""

from __future__ import annotations

from typing import Callable, Iterable

from sqlalchemy.exc import SQLAlchemyError
from twisted.logger import Logger
from zope.interface import implementer

from tpbx.interfaces import IDirectory
from tpbx.model import AccessEntry, Extension, ForwardingRule, RingGroup
from tpbx.store.callstore import DIAL_CODES_SETTING
from tpbx.store.callvalidation import effectiveDialCodes
from tpbx.store.officehours import (
    DEFAULT_TIMEZONE, TIMEZONE_SETTING, Holiday, OfficeInterval, Schedule,
)

__all__ = ["DirectorySnapshot", "SnapshotRefresher"]


@implementer(IDirectory)
class DirectorySnapshot:
    """
    Frozen configuration: extensions by number and by auth ID, settings,
    access lists, ring groups, forwarding rules, the office hours
    schedule and the dial codes.  Never does I/O.

    @ivar version: the C{config_version} it was read at.
    """

    def __init__(self, version: int, extensions: list[Extension],
                 settings: dict, access: dict[str, list[AccessEntry]], *,
                 ringGroups: Iterable[RingGroup] = (),
                 forwarding: Iterable[ForwardingRule] = (),
                 officeHours: Iterable[OfficeInterval] = (),
                 holidays: Iterable[Holiday] = ()):
        """
        @param forwarding: every extension's rules, each extension's in
            evaluation order.
        """
        self.version = version
        self._byNumber = {ext.number: ext for ext in extensions}
        self._byAuthId = {ext.authId: ext for ext in extensions}
        self._settings = dict(settings)
        self._access = {kind: tuple(entries)
                        for kind, entries in access.items()}
        self._groups = {group.number: group for group in ringGroups}
        rules: dict[str, list[ForwardingRule]] = {}
        for rule in forwarding:
            rules.setdefault(rule.extension, []).append(rule)
        self._rules = {number: tuple(found) for number, found in
                       rules.items()}
        self._dialCodes = effectiveDialCodes(
            self._settings.get(DIAL_CODES_SETTING))
        self._schedule = Schedule(officeHours, holidays, self._settings.get(
            TIMEZONE_SETTING) or DEFAULT_TIMEZONE)

    @classmethod
    def fromStore(cls, store) -> "DirectorySnapshot":
        """
        Build from L{tpbx.store.repositories.Store.readDirectory} (one
        read transaction).
        """
        data = store.readDirectory()
        return cls(data.version, data.extensions, data.settings, data.access,
                   ringGroups=data.ringGroups, forwarding=data.forwarding,
                   officeHours=data.officeHours, holidays=data.holidays)

    def extensionByNumber(self, number: str) -> Extension | None:
        return self._byNumber.get(number)

    def extensionByAuthId(self, authId: str) -> Extension | None:
        return self._byAuthId.get(authId)

    def setting(self, name: str, default=None):
        return self._settings.get(name, default)

    def ringGroup(self, number: str) -> RingGroup | None:
        return self._groups.get(number)

    def forwardingRules(self, number: str) -> tuple[ForwardingRule, ...]:
        return self._rules.get(number, ())

    def isOfficeHours(self, now: float) -> bool:
        return self._schedule.isOpen(now)

    def dialCodes(self) -> dict:
        return dict(self._dialCodes)

    def extensions(self) -> list[Extension]:
        """@return: every extension, ordered by number."""
        return sorted(self._byNumber.values(), key=lambda ext: ext.number)

    def accessList(self, kind: str) -> tuple[AccessEntry, ...]:
        """
        @return: the C{"blacklist"} or C{"whitelist"} entries that were
            live when the snapshot was read; callers still compare
            C{until} with their clock, as entries expire between reads.
        """
        return self._access.get(kind, ())


class SnapshotRefresher:
    """
    Rebuild the L{DirectorySnapshot} when the store's configuration
    version changes.

    @ivar snapshot: the current snapshot (built at construction).
    """

    _log = Logger()

    def __init__(self, store,
                 onChange: Callable[[DirectorySnapshot], None]):
        """
        @param store: a L{tpbx.store.repositories.Store}.
        @param onChange: called with each new snapshot after the first.
        """
        self._store = store
        self._onChange = onChange
        self.snapshot = DirectorySnapshot.fromStore(store)

    def poll(self) -> DirectorySnapshot | None:
        """
        Check the version (one single-row SELECT) and rebuild on change.
        Database errors (a locked file, a lost PostgreSQL connection) are
        logged and retried at the next poll, never raised: the caller is
        a LoopingCall that would stop on an exception.

        @return: the new snapshot, or L{None} when nothing changed.
        """
        try:
            if self._store.configVersion() == self.snapshot.version:
                return None
            snapshot = DirectorySnapshot.fromStore(self._store)
        except SQLAlchemyError as error:
            self._log.warn("configuration refresh failed: {error}",
                           error=error)
            return None
        self.snapshot = snapshot
        self._onChange(snapshot)
        return snapshot
