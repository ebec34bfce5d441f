# -*- test-case-name: tests.store.test_ringgroup_multicast -*-
"""
Tests for the C{multicast} field of ring groups (SPEC E4, multicast
paging) in the store: validation (L{tpbx.store.callvalidation}), the
C{ring_groups.multicast} column, migration 0003 and the snapshot.
"""

import pytest
from alembic import command
from sqlalchemy import inspect, text

from tpbx.errors import ValidationError
from tpbx.model import RingGroup
from tpbx.store import openStore
from tpbx.store.callvalidation import Numbers, cleanRingGroup
from tpbx.store.engine import alembicConfig, makeEngine, migrate
from tpbx.store.snapshot import DirectorySnapshot

STRONG = "Tr1cky-Sip-Secret"
GROUP = "239.255.0.1:5004"


@pytest.fixture
def ready(store):
    """A store with 3-digit extensions 100 and 101."""
    store.setSetting("extensionDigits", 3)
    for number in ("100", "101"):
        store.createExtension({"number": number, "firstName": "X",
                               "password": STRONG})
    return store


def test_roundTrip(ready):
    """
    A paging group's multicast group is stored and read back (get, list,
    snapshot); such a group needs no members.
    """
    group = ready.createRingGroup({"number": "300", "strategy": "paging",
                                   "members": [], "multicast": GROUP})
    assert group == RingGroup("300", strategy="paging", multicast=GROUP)
    assert ready.getRingGroup("300") == group
    assert ready.listRingGroups() == [group]
    assert DirectorySnapshot.fromStore(ready).ringGroup("300") \
        .multicastGroup() == ("239.255.0.1", 5004)


def test_updateAndClear(ready):
    """
    An update may set the multicast group of an existing paging group
    alone (its strategy is the stored one), change it, and clear it with
    an empty string; the rest of the group is kept.
    """
    ready.createRingGroup({"number": "300", "strategy": "paging",
                           "members": ["100", "101"]})
    assert ready.getRingGroup("300").multicast == ""
    ready.updateRingGroup("300", {"multicast": " [ff05::1]:5004 "})
    assert ready.getRingGroup("300").multicastGroup() == ("ff05::1", 5004)
    ready.updateRingGroup("300", {"multicast": ""})
    group = ready.getRingGroup("300")
    assert (group.multicast, group.multicastGroup(), group.members) == (
        "", None, ("100", "101"))


@pytest.mark.parametrize("value, words", [
    ("239.255.0.1", "ADDRESS:PORT"),
    ("192.0.2.1:5004", "not a multicast address"),
    ("239.255.0.1:80", "1024 to 65534"),
    ("239.255.0.1:5005", "even"),
    (5004, "must be text"),
])
def test_badValueRefused(ready, value, words):
    """
    A value that is not a multicast group and an even port is refused
    naming C{multicast}, with the reason, and nothing is stored.
    """
    with pytest.raises(ValidationError) as error:
        ready.createRingGroup({"number": "300", "strategy": "paging",
                               "multicast": value})
    assert error.value.field == "multicast"
    assert words in error.value.message
    assert ready.getRingGroup("300") is None


@pytest.mark.parametrize("fields", [
    {"number": "300", "multicast": GROUP},
    {"number": "300", "strategy": "hunt", "multicast": GROUP},
    {"number": "300", "strategy": "ringall", "multicast": GROUP},
])
def test_onlyForPaging(ready, fields):
    """A multicast group on a hunt or ring-all group (the default) is
    refused: only paging groups page a multicast group."""
    with pytest.raises(ValidationError) as error:
        ready.createRingGroup(fields)
    assert (error.value.field, error.value.message) == (
        "multicast", "only for paging groups")


def test_updateKeepsItPaging(ready):
    """
    Updates are checked against the stored group: a multicast group on a
    ring-all group, or another strategy for a multicast paging group, is
    refused; clearing the multicast group in the same update allows it.
    """
    ready.createRingGroup({"number": "200"})
    ready.createRingGroup({"number": "300", "strategy": "paging",
                           "multicast": GROUP})
    for number, fields in [("200", {"multicast": GROUP}),
                           ("300", {"strategy": "hunt"})]:
        with pytest.raises(ValidationError) as error:
            ready.updateRingGroup(number, fields)
        assert error.value.field == "multicast"
    assert ready.getRingGroup("300").strategy == "paging"
    ready.updateRingGroup("300", {"strategy": "hunt", "multicast": ""})
    assert ready.getRingGroup("300").strategy == "hunt"


def test_cleanRingGroupWithoutCurrent():
    """
    Without the current group, L{cleanRingGroup} checks the fields
    against a new group's defaults (strategy ringall).
    """
    numbers = Numbers(3, {"100"})
    assert cleanRingGroup({"number": "300", "strategy": "paging",
                           "multicast": GROUP}, True, numbers) == {
        "number": "300", "strategy": "paging", "multicast": GROUP}
    with pytest.raises(ValidationError):
        cleanRingGroup({"multicast": GROUP}, False, numbers)
    assert cleanRingGroup({"multicast": GROUP}, False, numbers,
                          RingGroup("300", strategy="paging")) == {
        "multicast": GROUP}


def test_upgradeFrom0002(tmp_path, dbUrl):
    """
    Migration 0003 gives the ring groups of a 0002 database an empty
    multicast group (they page, hunt or ring as before), and the field
    can then be set.
    """
    engine = makeEngine(str(tmp_path), dbUrl)
    migrate(engine, "0002")
    with engine.begin() as connection:   # SQL as a 0002 server wrote it
        connection.execute(text(
            "INSERT INTO ring_groups (number, name, strategy, ring_time, "
            "no_answer) VALUES ('300', 'Speakers', 'paging', 20, 'end')"))
    engine.dispose()
    store = openStore(str(tmp_path), dbUrl)
    assert store.getRingGroup("300") == RingGroup("300", "Speakers",
                                                  "paging")
    store.updateRingGroup("300", {"multicast": GROUP})
    assert store.getRingGroup("300").multicast == GROUP
    store.close()


def test_downgradeTo0002(tmp_path):
    """The 0003 downgrade drops the column and keeps the ring groups."""
    store = openStore(str(tmp_path))
    store.createRingGroup({"number": "300", "strategy": "paging",
                           "multicast": GROUP})
    config = alembicConfig()
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    columns = {c["name"] for c in inspect(store.engine).get_columns(
        "ring_groups")}
    assert "multicast" not in columns and "strategy" in columns
    with store.engine.begin() as connection:
        assert connection.execute(text(
            "SELECT number, strategy FROM ring_groups")).all() == [
            ("300", "paging")]
    store.close()
