"""
Tests for L{tpbx.pbx.guard.AccessGuard} (SPEC I3).
"""

import pytest
from zope.interface.verify import verifyObject

from tpbx.events import ADDRESS_BLACKLISTED, MemoryEventSink
from tpbx.interfaces import IAccessGuard
from tpbx.model import AccessEntry
from tpbx.events import ADDRESS_FLOODING
from tpbx.pbx.guard import AccessGuard, GuardPolicy

SCANNER = "203.0.113.9"


def makeGuard(**policy):
    events = MemoryEventSink()
    return AccessGuard(events, GuardPolicy(**policy)), events


def test_providesInterface():
    """AccessGuard is an IAccessGuard."""
    assert verifyObject(IAccessGuard, makeGuard()[0])


def test_blacklistAfter25FailuresIn60s():
    """
    The 25th failure within 60 s blacklists the address for an hour: no
    packet is allowed, one 12290 event names address, reason and until.
    """
    guard, events = makeGuard()
    for i in range(24):
        guard.authFailed(SCANNER, 100.0 + i, "1001")
    assert guard.allowPacket(SCANNER, 124.0)
    guard.authFailed(SCANNER, 124.0, "1001")
    assert not guard.allowPacket(SCANNER, 124.0)
    assert not guard.requestSeen(SCANNER, 125.0)
    assert guard.allowPacket("198.51.100.1", 125.0)
    [event] = events.events
    assert event.id == ADDRESS_BLACKLISTED
    assert event.fields == {"address": SCANNER, "reason": "failed authentications",
                            "until": 124.0 + 3600, "user": "1001"}
    guard.authFailed(SCANNER, 126.0, "1001")
    assert len(events.events) == 1
    assert guard.allowPacket(SCANNER, 124.0 + 3600)


def test_slowFailuresNeverBlacklist():
    """Failures spread wider than the window (a phone with a stale
    password retrying) do not blacklist."""
    guard, events = makeGuard()
    for i in range(100):
        guard.authFailed(SCANNER, i * 3.0, None)
    assert guard.allowPacket(SCANNER, 300.0)
    assert events.events == []


def test_floodBlacklists():
    """More than 200 requests within one second from one address is a flood
    (event 12292); 200 per second forever is not."""
    guard, events = makeGuard()
    for second in range(3):
        for i in range(200):
            assert guard.requestSeen(SCANNER, second + i / 1000)
    assert not guard.requestSeen(SCANNER, 2.5)
    assert not guard.allowPacket(SCANNER, 3.0)
    [event] = events.events
    assert (event.id, event.fields["reason"]) == (ADDRESS_FLOODING, "too many requests")


def test_whitelistExempts():
    """A whitelisted network is never blacklisted, even when also on the
    static blacklist; loopback is not exempt unless whitelisted."""
    guard, events = makeGuard(maxAuthFailures=3)
    guard.setStaticLists([AccessEntry("10.0.0.0/8")], [AccessEntry("10.1.0.0/16")])
    for i in range(10):
        guard.authFailed("10.1.2.3", float(i), None)
        guard.requestSeen("10.1.2.3", 1.0)
    assert guard.allowPacket("10.1.2.3", 10.0)
    assert not guard.allowPacket("10.2.0.1", 10.0)
    for i in range(3):
        guard.authFailed("127.0.0.1", float(i), None)
    assert not guard.allowPacket("127.0.0.1", 3.0)
    assert [e.fields["address"] for e in events.events] == ["127.0.0.1"]


def test_staticEntriesWithEnd():
    """Static entries match exact addresses and networks, until they end."""
    guard, _ = makeGuard()
    guard.setStaticLists([AccessEntry("192.0.2.7", until=50.0),
                          AccessEntry("2001:db8::/32")], [])
    assert not guard.allowPacket("192.0.2.7", 10.0)
    assert guard.allowPacket("192.0.2.7", 50.0)
    assert not guard.allowPacket("2001:db8::1", 10.0)
    assert guard.allowPacket("192.0.2.8", 10.0)
    assert guard.allowPacket("not-an-address", 10.0)
    with pytest.raises(ValueError):
        guard.setStaticLists([AccessEntry("bogus/99")], [])


def test_whitelistingLiftsDynamicEntry():
    """Whitelisting an address that is dynamically blocked unblocks it."""
    guard, _ = makeGuard(maxAuthFailures=1)
    guard.authFailed(SCANNER, 0.0, None)
    assert not guard.allowPacket(SCANNER, 1.0)
    guard.setStaticLists([], [AccessEntry(SCANNER)])
    assert guard.allowPacket(SCANNER, 1.0)


def test_dynamicEntriesForPersistence():
    """Live automatic entries can be listed (to persist) and lifted."""
    guard, _ = makeGuard(maxAuthFailures=1, blacklistSeconds=100)
    guard.authFailed(SCANNER, 0.0, None)
    guard.authFailed("198.51.100.2", 50.0, None)
    assert guard.dynamicEntries(10.0) == [
        AccessEntry(SCANNER, 100.0, "failed authentications"),
        AccessEntry("198.51.100.2", 150.0, "failed authentications")]
    assert [e.network for e in guard.dynamicEntries(120.0)] == ["198.51.100.2"]
    assert guard.removeDynamic(SCANNER).network == SCANNER
    assert guard.allowPacket(SCANNER, 10.0)
    assert guard.removeDynamic(SCANNER) is None


def test_countersPruned():
    """Idle counters are forgotten, so memory follows active addresses."""
    guard, _ = makeGuard(maxTrackedHosts=1000)
    for i in range(500):
        guard.authFailed(f"198.51.{i // 256}.{i % 256}", 0.0, None)
        guard.requestSeen(f"198.51.{i // 256}.{i % 256}", 0.0)
    guard.requestSeen(SCANNER, 120.0)
    assert len(guard._failures) + len(guard._requests) <= 1
