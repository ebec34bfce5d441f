# -*- test-case-name: tests.web.test_fakes -*-
"""
In-memory stand-ins for the seams the web API uses, so its tests need no
database: a config store that validates like the real one is documented to,
a status source, and an access guard that records what it is told.
"""

from __future__ import annotations

import dataclasses
import ipaddress

from twisted.internet.interfaces import IReactorTime
from zope.interface import implementer

from tests.web.fakecalls import MemoryCallConfig
from tpbx.errors import Conflict, NotFound, ValidationError
from tpbx.interfaces import IConfigStore, IStatusSource
from tpbx.model import AccessEntry, Extension

__all__ = ["MemoryConfigStore", "FakeStatusSource",
           "GENERATED_PASSWORD"]

GENERATED_PASSWORD = "Gen3rated-Secret-Pw"
"""What L{MemoryConfigStore} generates; distinctive so tests can grep it."""

_KINDS = ("blacklist", "whitelist")
_FIELDS = frozenset(f.name for f in dataclasses.fields(Extension))


def _checkExtension(fields: dict) -> None:
    """
    The checks the real store makes, enough to exercise every error path.

    @raise ValidationError: naming the first bad field.
    """
    for name in fields:
        if name not in _FIELDS:
            raise ValidationError(name, "unknown field")
    for name in ("number", "pin"):
        value = fields.get(name, "")
        if value and not value.isdigit():
            raise ValidationError(name, "must be digits")
    email = fields.get("email", "")
    if email and "@" not in email:
        raise ValidationError("email", "is not an email address")


@implementer(IConfigStore)
class MemoryConfigStore(MemoryCallConfig):
    """
    L{IConfigStore} in dictionaries (the call configuration and CDRs come
    from L{MemoryCallConfig}).

    @ivar extensions: number -> L{Extension}.
    @ivar access: kind -> network -> L{AccessEntry}.
    @ivar settings: name -> value.
    """

    def __init__(self, clock: IReactorTime):
        self._clock = clock
        self.extensions: dict[str, Extension] = {}
        self.access: dict[str, dict[str, AccessEntry]] = {
            kind: {} for kind in _KINDS}
        self.settings: dict[str, object] = {}
        self._initCalls()

    def listExtensions(self) -> list[Extension]:
        return [self.extensions[n] for n in sorted(self.extensions)]

    def getExtension(self, number: str) -> Extension | None:
        return self.extensions.get(number)

    def createExtension(self, fields: dict) -> tuple[Extension, str | None]:
        if not fields.get("number"):
            raise ValidationError("number", "is required")
        _checkExtension(fields)
        if fields["number"] in self.extensions:
            raise Conflict(f"extension {fields['number']} exists")
        generated = None if fields.get("password") else GENERATED_PASSWORD
        extension = Extension(**{"authId": fields["number"], **fields,
                                 "password": fields.get("password")
                                 or generated})
        self.extensions[extension.number] = extension
        return extension, generated

    def updateExtension(self, number: str, fields: dict) -> Extension:
        current = self.extensions.get(number)
        if current is None:
            raise NotFound(f"no extension {number}")
        _checkExtension(fields)
        updated = dataclasses.replace(current, **fields)
        if updated.number != number and updated.number in self.extensions:
            raise Conflict(f"extension {updated.number} exists")
        del self.extensions[number]
        self.extensions[updated.number] = updated
        return updated

    def deleteExtension(self, number: str) -> None:
        if self.extensions.pop(number, None) is None:
            raise NotFound(f"no extension {number}")

    def _kind(self, kind: str) -> dict[str, AccessEntry]:
        if kind not in _KINDS:
            raise ValidationError("kind", "must be blacklist or whitelist")
        return self.access[kind]

    def listAccess(self, kind: str) -> list[AccessEntry]:
        now = self._clock.seconds()
        return [e for e in self._kind(kind).values()
                if e.until is None or e.until > now]

    def addAccess(self, kind: str, entry: AccessEntry) -> None:
        try:
            ipaddress.ip_network(entry.network, strict=False)
        except ValueError:
            raise ValidationError("network", "is not an address or network")
        self._kind(kind)[entry.network] = entry

    def removeAccess(self, kind: str, network: str) -> None:
        if self._kind(kind).pop(network, None) is None:
            raise NotFound(f"{network} is not in the {kind}")

    def getSetting(self, name: str, default: object = None) -> object:
        return self.settings.get(name, default)

    def setSetting(self, name: str, value: object) -> None:
        self.settings[name] = value


@implementer(IStatusSource)
class FakeStatusSource:
    """
    L{IStatusSource} returning the registrations and counts it was given.
    """

    def __init__(self, registrations: list[dict] | None = None,
                 counts: dict | None = None):
        self.current = list(registrations or [])
        self.currentCounts = dict(counts or {})

    def registrations(self) -> list[dict]:
        return list(self.current)

    def counts(self) -> dict:
        return dict(self.currentCounts)


