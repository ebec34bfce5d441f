# -*- test-case-name: tests.store.test_officehours -*-
"""
Tests for L{tpbx.store.officehours.Schedule}: office hours are a weekly
schedule in the configured time zone, with holidays closed.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from tpbx.store.officehours import Holiday, OfficeInterval, Schedule

PARIS = ZoneInfo("Europe/Paris")


def at(text, zone=PARIS):
    """@return: epoch seconds of a wall-clock time in C{zone}."""
    return datetime.fromisoformat(text).replace(tzinfo=zone).timestamp()


WEEKDAYS = [OfficeInterval(day, "08:00", "12:00") for day in range(5)] + [
    OfficeInterval(day, "13:30", "18:00") for day in range(5)]


def test_noScheduleIsAlwaysOpen():
    """Without a weekly schedule every time is office hours."""
    assert Schedule().isOpen(at("2026-03-01T03:00"))


def test_weeklySchedule():
    """
    Opening is inclusive and closing exclusive, per weekday, in the
    configured zone; weekends without intervals are closed.
    """
    schedule = Schedule(WEEKDAYS, timezone="Europe/Paris")
    assert schedule.isOpen(at("2026-03-02T08:00"))        # Monday
    assert not schedule.isOpen(at("2026-03-02T12:00"))
    assert not schedule.isOpen(at("2026-03-02T07:59"))
    assert schedule.isOpen(at("2026-03-02T17:59"))
    assert not schedule.isOpen(at("2026-03-07T10:00"))    # Saturday


def test_timezoneAndDaylightSaving():
    """
    Wall-clock hours follow the zone across daylight saving time: 08:00 in
    Paris is 07:00 UTC in winter and 06:00 UTC in summer.
    """
    schedule = Schedule(WEEKDAYS, timezone="Europe/Paris")
    utc = ZoneInfo("UTC")
    assert schedule.isOpen(at("2026-01-05T07:00", utc))
    assert not schedule.isOpen(at("2026-01-05T06:30", utc))
    assert schedule.isOpen(at("2026-07-06T06:00", utc))
    assert not Schedule(WEEKDAYS).isOpen(at("2026-07-06T06:00", utc))


def test_holidaysClosed():
    """A holiday is closed all day, schedule or not."""
    christmas = [Holiday("2026-12-25", "Christmas")]
    assert not Schedule(WEEKDAYS, christmas, "Europe/Paris").isOpen(
        at("2026-12-25T10:00"))
    assert not Schedule((), christmas, "Europe/Paris").isOpen(
        at("2026-12-25T00:30"))
    assert Schedule((), christmas, "Europe/Paris").isOpen(
        at("2026-12-26T00:30"))


def test_midnightEndAndUnknownZone():
    """
    An interval may run to 24:00; an unknown zone name (a hand-edited
    database) falls back to UTC instead of failing on the call path.
    """
    schedule = Schedule([OfficeInterval(0, "20:00", "24:00")],
                        timezone="Nowhere/Land")
    utc = ZoneInfo("UTC")
    assert schedule.isOpen(at("2026-03-02T23:59", utc))
    assert not schedule.isOpen(at("2026-03-03T00:00", utc))
