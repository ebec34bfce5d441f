# -*- test-case-name: tests.pbx.test_status -*-
"""
Live state for the console and the API (the manual's "extension status"
page, SPEC A6), read from the PBX objects, never from the database.
"""

from __future__ import annotations

from zope.interface import implementer

from tpbx.interfaces import ILocationService, IStatusSource

__all__ = ["PBXStatus"]


@implementer(IStatusSource)
class PBXStatus:
    """Registrations as plain dicts, sorted by extension."""

    def __init__(self, location: ILocationService, clock):
        self._location = location
        self._clock = clock

    def registrations(self) -> list[dict]:
        now = self._clock.seconds()
        rows = [{
            "extension": b.aor,
            "contact": b.contact,
            "transport": b.peer.transport,
            "source": b.peer.hostport(),
            "userAgent": b.userAgent,
            "expires": b.remaining(now),
        } for b in self._location.allBindings(now)]
        rows.sort(key=lambda r: (r["extension"], r["contact"]))
        return rows
