# -*- test-case-name: tests.pbx.test_status -*-
"""
Tests for L{tpbx.pbx.status.PBXStatus}: the live registrations the console
and the API show (SPEC A6), read from the location service.
"""

from __future__ import annotations

from twisted.internet.task import Clock
from zope.interface.verify import verifyObject

from tpbx.interfaces import IStatusSource
from tpbx.pbx.location import Binding, MemoryLocationService
from tpbx.pbx.status import PBXStatus
from tpbx.sip.peer import Peer

NOW = 1_700_000_000.0


def bind(location, aor, contact, expiresIn, peer, userAgent=""):
    location.register(aor, Binding(aor, contact, NOW + expiresIn, 1.0, "c", 1, peer,
                                   userAgent), NOW)


def makeStatus():
    clock = Clock()
    clock.advance(NOW)
    location = MemoryLocationService()
    return PBXStatus(location, clock), location, clock


def test_statusProvidesIStatusSource():
    """PBXStatus is a real IStatusSource."""
    assert verifyObject(IStatusSource, makeStatus()[0])


def test_registrationsAsSortedRows():
    """
    One row per live binding, sorted by extension then contact, with the
    transport, the source address (IPv6 bracketed), the User-Agent and the
    whole seconds left.
    """
    status, location, clock = makeStatus()
    bind(location, "1002", "sip:1002@10.0.0.2", 600, Peer("udp", "10.0.0.2", 5060), "B/1")
    bind(location, "1001", "sip:1001@b", 3600, Peer("tls", "2001:db8::5", 5061, flow=3))
    bind(location, "1001", "sip:1001@a", 1800, Peer("tcp", "10.0.0.1", 5070), "A/1")
    clock.advance(100.4)
    assert status.registrations() == [
        {"extension": "1001", "contact": "sip:1001@a", "transport": "tcp",
         "source": "10.0.0.1:5070", "userAgent": "A/1", "expires": 1700},
        {"extension": "1001", "contact": "sip:1001@b", "transport": "tls",
         "source": "[2001:db8::5]:5061", "userAgent": "", "expires": 3500},
        {"extension": "1002", "contact": "sip:1002@10.0.0.2", "transport": "udp",
         "source": "10.0.0.2:5060", "userAgent": "B/1", "expires": 500},
    ]


def test_expiredBindingsLeftOut():
    """A binding past its expiry is not shown, even before expiry runs."""
    status, location, clock = makeStatus()
    bind(location, "1001", "sip:1001@a", 60, Peer("udp", "10.0.0.1", 5060))
    assert len(status.registrations()) == 1
    clock.advance(60)
    assert status.registrations() == []
    assert clock.getDelayedCalls() == []


class FakeCalls:
    """A call manager that reports fixed counts."""

    def counts(self):
        return {"calls": 2, "legs": 4, "transactions": 1, "timers": 3}


class FakeRelay:
    """A relay that reports fixed stats, with one pool for both ranges or two."""

    def __init__(self, shared):
        self.internal = {"size": 250, "free": 246, "inUse": 4, "bad": 0}
        self.external = dict(self.internal) if shared else {"size": 25, "free": 24,
                                                            "inUse": 1, "bad": 0}

    def stats(self):
        return {"sessions": 2, "keptPairs": 7, "internal": self.internal,
                "external": self.external}


def test_countsWithoutCallsOrRelay():
    """Without a call manager or relay every count is zero."""
    status, _, _ = makeStatus()
    assert status.counts() == {
        "calls": 0, "legs": 0, "transactions": 0, "timers": 0, "relaySessions": 0,
        "relayPorts": {"inUse": 0, "kept": 0, "internal": {}, "external": {}}}


def test_countsFromCallsAndRelay():
    """
    The call manager's calls, legs, transactions and timers, the relay's
    sessions, the RTP ports in use summed over two distinct ranges, and
    the free pairs whose sockets the relay keeps open.
    """
    location = MemoryLocationService()
    relay = FakeRelay(shared=False)
    status = PBXStatus(location, Clock(), calls=FakeCalls(), relay=relay)
    assert status.counts() == {
        "calls": 2, "legs": 4, "transactions": 1, "timers": 3, "relaySessions": 2,
        "relayPorts": {"inUse": 5, "kept": 7, "internal": relay.internal,
                       "external": relay.external}}


def test_countsSharedPoolCountedOnce():
    """When the internal and external ranges are one pool its ports count once."""
    status = PBXStatus(MemoryLocationService(), Clock(), relay=FakeRelay(shared=True))
    assert status.counts()["relayPorts"]["inUse"] == 4
