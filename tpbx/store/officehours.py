# -*- test-case-name: tests.store.test_officehours -*-
"""
Office hours (SPEC D7): a weekly schedule plus holidays, evaluated in the
PBX's configured time zone.

Forwarding rules and (later) inbound rules pick a destination by
"office hours" or "outside office hours"; the SIP path asks
L{Schedule.isOpen} for every such decision, so it works on plain
pre-parsed tuples and one C{zoneinfo} conversion, never on the database.
Times are wall-clock C{HH:MM} in the configured zone (C{timezone}
setting, IANA name, default C{UTC}), so a schedule follows daylight
saving time without being edited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, NamedTuple
from zoneinfo import ZoneInfo

__all__ = ["OfficeInterval", "Holiday", "Schedule", "WEEKDAYS",
           "DEFAULT_TIMEZONE", "TIMEZONE_SETTING", "minutesOf"]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday names, indexed like C{datetime.weekday()} (Monday is 0)."""

DEFAULT_TIMEZONE = "UTC"
TIMEZONE_SETTING = "timezone"


class OfficeInterval(NamedTuple):
    """
    One opening interval of one weekday.

    @ivar weekday: 0 (Monday) to 6 (Sunday).
    @ivar open: C{HH:MM}, inclusive.
    @ivar close: C{HH:MM} (C{24:00} allowed), exclusive.
    """

    weekday: int
    open: str
    close: str


class Holiday(NamedTuple):
    """
    A day the office is closed all day.

    @ivar date: C{YYYY-MM-DD}, in the configured time zone.
    @ivar name: what it is (C{Christmas}).
    """

    date: str
    name: str = ""


def minutesOf(hhmm: str) -> int:
    """
    @param hhmm: a validated C{HH:MM}.
    @return: minutes since midnight.
    """
    return int(hhmm[:2]) * 60 + int(hhmm[3:])


class Schedule:
    """
    The weekly schedule and holidays, ready to answer "open now?".
    """

    def __init__(self, intervals: Iterable[OfficeInterval] = (),
                 holidays: Iterable[Holiday] = (),
                 timezone: str = DEFAULT_TIMEZONE):
        """
        @param intervals: validated intervals (any order).
        @param holidays: validated holidays.
        @param timezone: an IANA zone name; an unknown one falls back to
            UTC (the store refuses unknown names, so this is only a
            database edited by hand).
        """
        self._days: list[list[tuple[int, int]]] = [[] for _ in WEEKDAYS]
        for interval in intervals:
            self._days[interval.weekday].append(
                (minutesOf(interval.open), minutesOf(interval.close)))
        self._configured = any(self._days)
        self._holidays = frozenset(h.date for h in holidays)
        try:
            self._zone = ZoneInfo(timezone)
        except (ValueError, LookupError):
            self._zone = ZoneInfo(DEFAULT_TIMEZONE)

    def isOpen(self, now: float) -> bool:
        """
        @param now: epoch seconds.
        @return: C{False} on a holiday; C{True} when no weekly schedule is
            configured; else whether C{now} falls in one of the day's
            intervals.
        """
        local = datetime.fromtimestamp(now, self._zone)
        if self._holidays and local.date().isoformat() in self._holidays:
            return False
        if not self._configured:
            return True
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end
                   for start, end in self._days[local.weekday()])
