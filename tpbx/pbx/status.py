# -*- test-case-name: tests.pbx.test_status -*-
"""
Live state for the console and the API (the manual's "extension status"
page, SPEC A6), read from the PBX objects, never from the database.

Why the counts live here too: after calls end an operator (and the SIPp
load test) must be able to see that no call, leg, transaction, timer or
relay port is left behind, without a debugger.
"""

from __future__ import annotations

from zope.interface import implementer

from tpbx.interfaces import ILocationService, IStatusSource

__all__ = ["PBXStatus"]

_NO_CALLS = {"calls": 0, "legs": 0, "transactions": 0, "timers": 0}


@implementer(IStatusSource)
class PBXStatus:
    """Registrations as plain dicts, sorted by extension; live counts."""

    def __init__(self, location: ILocationService, clock, calls=None, relay=None):
        """
        @param calls: the L{tpbx.pbx.calls.CallManager} (its C{counts()}),
            or L{None} when the PBX has no calls.
        @param relay: the L{tpbx.interfaces.IMediaRelay} (its C{stats()}),
            or L{None} when media is not relayed.
        """
        self._location = location
        self._clock = clock
        self._calls = calls
        self._relay = relay

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

    def counts(self) -> dict:
        """See L{IStatusSource.counts}."""
        counts = dict(self._calls.counts() if self._calls is not None else _NO_CALLS)
        stats = self._relay.stats() if self._relay is not None else {}
        internal, external = stats.get("internal", {}), stats.get("external", {})
        inUse = internal.get("inUse", 0)
        if external != internal:    # equal ranges share one pool: count it once
            inUse += external.get("inUse", 0)
        counts["relaySessions"] = stats.get("sessions", 0)
        counts["relayPorts"] = {"inUse": inUse, "kept": stats.get("keptPairs", 0),
                                "internal": internal, "external": external}
        return counts
