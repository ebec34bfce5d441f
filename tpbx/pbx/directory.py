# -*- test-case-name: tests.pbx.test_directory -*-
"""
An L{IDirectory} whose snapshot can be swapped while the PBX runs.

The SIP path keeps a reference to one L{LiveDirectory} for its whole life;
when the store reports a configuration change, the service builds a new
snapshot and calls L{LiveDirectory.replace}, so every reader sees the new
configuration from its next message on, without a restart.
"""

from __future__ import annotations

from zope.interface import implementer

from tpbx.interfaces import IDirectory

__all__ = ["LiveDirectory"]


@implementer(IDirectory)
class LiveDirectory:
    """Delegates every lookup to the current snapshot."""

    def __init__(self, snapshot: IDirectory):
        self._snapshot = snapshot

    def replace(self, snapshot: IDirectory) -> None:
        """Make C{snapshot} the one every later lookup reads."""
        self._snapshot = snapshot

    def extensionByNumber(self, number):
        return self._snapshot.extensionByNumber(number)

    def extensionByAuthId(self, authId):
        return self._snapshot.extensionByAuthId(authId)

    def setting(self, name, default=None):
        return self._snapshot.setting(name, default)

    def ringGroup(self, number):
        return self._snapshot.ringGroup(number)

    def forwardingRules(self, number):
        return self._snapshot.forwardingRules(number)

    def isOfficeHours(self, now):
        return self._snapshot.isOfficeHours(now)

    def dialCodes(self):
        return self._snapshot.dialCodes()
