# -*- test-case-name: tests.pbx.test_auth -*-
"""
An in-memory L{IDirectory} built from a few L{Extension} records, for tests
of everything that consults the directory (authentication, registrar,
routing) without a store.
"""

from __future__ import annotations

from typing import Iterable

from zope.interface import implementer

from tpbx.interfaces import IDirectory
from tpbx.model import Extension

__all__ = ["FakeDirectory"]


@implementer(IDirectory)
class FakeDirectory:
    """
    Extensions by number and by auth ID (which defaults to the number, as
    in the store), plus a settings dict.
    """

    def __init__(self, extensions: Iterable[Extension] = (), settings: dict | None = None):
        self._byNumber = {e.number: e for e in extensions}
        self._byAuthId = {(e.authId or e.number): e for e in self._byNumber.values()}
        self._settings = dict(settings or {})

    def extensionByNumber(self, number):
        return self._byNumber.get(number)

    def extensionByAuthId(self, authId):
        return self._byAuthId.get(authId)

    def setting(self, name, default=None):
        return self._settings.get(name, default)
