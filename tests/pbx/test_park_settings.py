# -*- test-case-name: tests.pbx.test_park_settings -*-
"""
Tests for the park settings as L{tpbx.pbx.park.ParkingLot} reads them:
live at each park, and a bad stored value (written by hand, or before the
store validated them) logged and replaced by the default, never fatal.
The values the store accepts (L{tpbx.store.callvalidation}) all parse.
"""

import pytest
from twisted.logger import capturedLogs

from tpbx.model import PARK_TIMEOUT_DEFAULT
from tpbx.pbx.park import ParkingLot, parseSlots
from tpbx.store.callvalidation import cleanCallSettings
from tpbx.testing_directory import FakeDirectory


def lot(**settings) -> ParkingLot:
    """A parking lot reading C{settings} (no calls needed to read them)."""
    return ParkingLot(None, FakeDirectory(settings=settings))


def test_settingsReadLive():
    """A change of either setting applies to the next park."""
    parking = lot(parkSlots="701-702", parkTimeout=30)
    assert (parking.slots(), parking.timeout()) == (["701", "702"], 30.0)
    parking._directory._settings.update(parkSlots="801", parkTimeout=600)
    assert (parking.slots(), parking.timeout()) == (["801"], 600.0)


@pytest.mark.parametrize("bad", [0, -5, "soon", None, [], float("nan"), float("inf")])
def test_badTimeoutLoggedAndDefaulted(bad):
    """A timeout that is not a positive number of seconds is logged; 120 s is used."""
    with capturedLogs() as events:
        assert lot(parkTimeout=bad).timeout() == PARK_TIMEOUT_DEFAULT == 120
    assert len(events) == 1 and "parkTimeout" in events[0]["log_format"]


def test_badSlotsLoggedAndDefaulted():
    """Slots that do not parse are logged; 701-709 are used."""
    with capturedLogs() as events:
        assert lot(parkSlots="70x").slots() == [str(n) for n in range(701, 710)]
    assert len(events) == 1 and "parkSlots" in events[0]["log_format"]


@pytest.mark.parametrize("value, slots", [
    ("701-705, 710", ["701", "702", "703", "704", "705", "710"]),
    ("08-10", ["08", "09", "10"]),
    ("1-100", [str(n) for n in range(1, 101)]),
])
def test_validatedSlotsParse(value, slots):
    """What the store stores for C{parkSlots} is what the lot offers."""
    stored = cleanCallSettings({"parkSlots": value})["parkSlots"]
    assert " " not in stored and parseSlots(stored) == slots
