# -*- test-case-name: tests.store.test_snapshot -*-
"""
Tests for L{tpbx.store.snapshot}: the in-memory directory and its refresh
when the store changes, including from another process's Store.
"""

from sqlalchemy.exc import OperationalError
from zope.interface.verify import verifyObject

from tpbx.interfaces import IDirectory
from tpbx.model import AccessEntry
from tpbx.store import DirectorySnapshot, SnapshotRefresher


def addAnn(store, number="100"):
    store.createExtension({"number": number, "firstName": "Ann",
                           "authId": "ann" + number})


def test_snapshotContents(store, clock):
    """
    A snapshot answers by number, by auth ID and by setting name, and
    holds the live access entries, all from one read.
    """
    addAnn(store)
    store.setSetting("extensionDigits", 3)
    store.addAccess("blacklist", AccessEntry("192.0.2.1"))
    store.addAccess("blacklist", AccessEntry("192.0.2.2",
                                             clock.seconds() - 1))
    snapshot = DirectorySnapshot.fromStore(store)
    assert verifyObject(IDirectory, snapshot)
    assert snapshot.extensionByNumber("100").firstName == "Ann"
    assert snapshot.extensionByAuthId("ann100").number == "100"
    assert snapshot.extensionByNumber("101") is None
    assert snapshot.extensionByAuthId("100") is None
    assert snapshot.setting("extensionDigits") == 3
    assert snapshot.setting("missing", "d") == "d"
    assert snapshot.accessList("blacklist") == (AccessEntry("192.0.2.1"),)
    assert snapshot.accessList("whitelist") == ()
    assert [e.number for e in snapshot.extensions()] == ["100"]
    assert snapshot.version == store.configVersion()


def test_pollWithoutChange(store):
    """Polling an unchanged store keeps the snapshot and calls nobody."""
    changes = []
    refresher = SnapshotRefresher(store, changes.append)
    first = refresher.snapshot
    assert refresher.poll() is None
    assert refresher.snapshot is first and changes == []


def test_refreshOnWriteFromOtherStore(store, secondStore):
    """
    A write made through another Store on the same database (tpbx-admin
    while the server runs) is picked up by the next poll.
    """
    changes = []
    refresher = SnapshotRefresher(store, changes.append)
    assert refresher.snapshot.extensionByNumber("100") is None
    addAnn(secondStore)
    snapshot = refresher.poll()
    assert changes == [snapshot]
    assert refresher.snapshot is snapshot
    assert snapshot.extensionByNumber("100").authId == "ann100"
    assert refresher.poll() is None
    secondStore.deleteExtension("100")
    assert refresher.poll().extensionByNumber("100") is None


class BrokenStore:
    """A store whose database went away."""

    def __init__(self, store):
        self.store = store
        self.broken = False

    def configVersion(self):
        if self.broken:
            raise OperationalError("SELECT", {}, Exception("locked"))
        return self.store.configVersion()

    def readDirectory(self):
        return self.store.readDirectory()


def test_pollSurvivesDatabaseErrors(store):
    """
    A database error during a poll keeps the old snapshot and is retried
    at the next poll, instead of stopping the server's LoopingCall.
    """
    broken = BrokenStore(store)
    changes = []
    refresher = SnapshotRefresher(broken, changes.append)
    addAnn(store)
    broken.broken = True
    assert refresher.poll() is None
    broken.broken = False
    assert refresher.poll().extensionByNumber("100") is not None
    assert len(changes) == 1


def test_snapshotCallConfiguration(store):
    """
    A snapshot answers ring groups, each extension's forwarding rules in
    order, the dial codes (defaults filled in) and office hours in the
    configured zone, all read with the rest.
    """
    from tpbx.model import ForwardingRule, RingGroup
    from tpbx.store.officehours import OfficeInterval
    addAnn(store, "100")
    addAnn(store, "101")
    store.createRingGroup({"number": "200", "members": ["101", "100"]})
    store.addForwardingRule(ForwardingRule("100", "busy", "voicemail"))
    store.addForwardingRule(ForwardingRule("100", "no-answer", "end",
                                           delay=5))
    store.setDialCodes({"park": "*55"})
    store.setCallSettings({"timezone": "Europe/Paris"})
    store.setOfficeHours([OfficeInterval(0, "08:00", "12:00")])
    store.addHoliday("2026-03-09")
    snapshot = DirectorySnapshot.fromStore(store)
    assert snapshot.ringGroup("200") == RingGroup("200",
                                                  members=("101", "100"))
    assert snapshot.ringGroup("100") is None
    assert [r.condition for r in snapshot.forwardingRules("100")] == [
        "busy", "no-answer"]
    assert snapshot.forwardingRules("101") == ()
    codes = snapshot.dialCodes()
    assert (codes["park"], codes["pickup"]) == ("*55", "*8")
    codes["park"] = "changed"
    assert snapshot.dialCodes()["park"] == "*55"
    monday9Paris = 1772409600 + 8 * 3600    # 2026-03-02T08:00Z = 09:00
    assert snapshot.isOfficeHours(monday9Paris)
    assert not snapshot.isOfficeHours(monday9Paris + 3 * 3600)
    assert not snapshot.isOfficeHours(monday9Paris + 7 * 86400)  # holiday
    assert snapshot.extensionByNumber("100").status == "available"


def test_emptySnapshotCallDefaults():
    """
    A snapshot built without call configuration (as older callers build
    it) has no groups or rules, the default dial codes, and is always in
    office hours.
    """
    snapshot = DirectorySnapshot(1, [], {}, {})
    assert snapshot.ringGroup("200") is None
    assert snapshot.forwardingRules("100") == ()
    assert snapshot.dialCodes()["voicemail"] == "*97"
    assert snapshot.isOfficeHours(0.0)
