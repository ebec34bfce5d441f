# -*- test-case-name: tests.store.test_callvalidation -*-
"""
The rules of call configuration (issue 3: ring groups, forwarding rules,
office hours, holidays, dial codes, call settings), in one place beside
L{tpbx.store.validation}, so the CLI, the REST API and the console refuse
the same things with the same words.

Field names are the API's (C{ringTime}, C{noAnswer} ...).  Checks that
need the database (does extension 101 exist?) take the known numbers as
arguments; the repositories pass them in from the same transaction.
"""

from __future__ import annotations

import dataclasses
import string
from datetime import date
from typing import Collection, Iterable
from zoneinfo import ZoneInfo, available_timezones

from tpbx.errors import ValidationError
from tpbx.media.recorder import MODES
from tpbx.model import ForwardingRule, RingGroup, parseMulticastGroup
from tpbx.store.officehours import Holiday, OfficeInterval, minutesOf
from tpbx.store.validation import checkNumber, checkStatus, cleanText

__all__ = [
    "STRATEGIES", "CONDITIONS", "HOURS", "CALLERS", "RING_GROUP_FIELDS",
    "DIAL_CODE_DEFAULTS", "CALL_SETTINGS", "Numbers", "checkDestination",
    "cleanRingGroup", "cleanForwardingRule", "cleanIntervals",
    "cleanHoliday", "checkTime", "effectiveDialCodes", "cleanDialCodes",
    "cleanCallSettings", "checkLimit", "RECORDING_FORMATS", "PARK_SLOTS_MAX",
    "PARK_TIMEOUT",
]

STRATEGIES = ("hunt", "ringall", "paging")
CONDITIONS = ("no-answer", "busy", "not-registered")
HOURS = ("office", "outside", "any")
CALLERS = ("internal", "external", "any")
RING_GROUP_FIELDS = ("number", "name", "strategy", "ringTime", "members",
                     "noAnswer", "multicast")
RING_TIME = range(5, 301)
DELAY = range(1, 301)
MEMBERS_MAX = 100
MULTICAST_MAX = 64
EXTERNAL_MAX = 32
_EXTERNAL_CHARS = frozenset(string.digits + "*#")
_CODE_CHARS = frozenset(string.digits + "*#")

DIAL_CODE_DEFAULTS = {
    "pickup": "*8",
    "directedPickup": "**",
    "park": "*5",
    "unpark": "*6",
    "intercom": "*9",
    "record": "*1",
    "transfer": "*2",
    "dndOn": "*78",
    "dndOff": "*79",
    "voicemail": "*97",
}
"""Feature dial codes (SPEC E6) and their defaults; the C{dialCodes}
setting stores the whole map."""

RECORDING_FORMATS = MODES
PARK_SLOTS_MAX = 100
PARK_TIMEOUT = range(10, 3601)
_SLOT_DIGITS = range(1, 9)


class Numbers:
    """
    The numbers a destination may name, read in the caller's transaction.

    @ivar digits: the configured extension length, or L{None}.
    @ivar extensions: existing extension numbers.
    @ivar groups: existing ring group numbers.
    """

    def __init__(self, digits: int | None, extensions: Collection[str],
                 groups: Collection[str] = ()):
        self.digits = digits
        self.extensions = extensions
        self.groups = groups


def checkDestination(field: str, value, numbers: Numbers) -> str:
    """
    A destination spec: C{end}, C{voicemail}, C{voicemail:EXT},
    C{extension:NUM} (an extension or a ring group), or
    C{external:DIGITS} (digits, C{*}, C{#}, an optional leading C{+}).

    @raise ValidationError: naming C{field}.
    """
    value = cleanText(field, value, 64)
    kind, _, target = value.partition(":")
    if value in ("end", "voicemail"):
        return value
    if kind == "voicemail" and target in numbers.extensions:
        return value
    if kind == "extension" and (target in numbers.extensions
                                or target in numbers.groups):
        return value
    if kind == "external" and 0 < len(target.removeprefix("+")) \
            <= EXTERNAL_MAX and _EXTERNAL_CHARS.issuperset(
                target.removeprefix("+")):
        return value
    if kind in ("voicemail", "extension") and target:
        raise ValidationError(field, f"{target} is not an existing "
                              + ("extension" if kind == "voicemail"
                                 else "extension or ring group"))
    raise ValidationError(field, "must be end, voicemail, voicemail:EXT, "
                          "extension:EXT or external:NUMBER")


def _choice(field: str, value, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValidationError(field, "must be one of " + ", ".join(choices))
    return value


def _integer(field: str, value, allowed: range) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) \
            or value not in allowed:
        raise ValidationError(field, f"must be a whole number from "
                              f"{allowed.start} to {allowed.stop - 1}")
    return value


def cleanRingGroup(fields: dict, creating: bool, numbers: Numbers,
                   current: RingGroup | None = None) -> dict:
    """
    Validate a ring group edit (SPEC E3, E4).

    @param fields: API field names (L{RING_GROUP_FIELDS}) to values.
    @param creating: a creation (C{number} required and checked) or an
        update (C{number} may not change).
    @param numbers: what exists; a new number must be free.
    @param current: the group an update changes, so fields that depend on
        each other (C{multicast} needs strategy C{paging}) are checked
        against the ones not given; L{None} stands for a new group's
        defaults.
    @return: the changed fields, typed (C{members} a tuple).
    @raise ValidationError: naming the first offending field.
    """
    for name in fields:
        if name not in RING_GROUP_FIELDS:
            raise ValidationError(name, "unknown field")
    clean = {}
    if creating:
        clean["number"] = _freeNumber(fields.get("number", ""), numbers)
    elif "number" in fields:
        raise ValidationError("number", "cannot be changed")
    if "name" in fields:
        clean["name"] = cleanText("name", fields["name"], 100)
    if "strategy" in fields:
        clean["strategy"] = _choice("strategy", fields["strategy"],
                                    STRATEGIES)
    if "ringTime" in fields:
        clean["ringTime"] = _integer("ringTime", fields["ringTime"],
                                     RING_TIME)
    if "members" in fields:
        clean["members"] = _members(fields["members"], numbers)
    if "noAnswer" in fields:
        clean["noAnswer"] = checkDestination("noAnswer", fields["noAnswer"],
                                             numbers)
    if "multicast" in fields:
        clean["multicast"] = _multicast(fields["multicast"])
    _checkMulticastPaging(dataclasses.replace(current or RingGroup(""),
                                              **clean))
    return clean


def _freeNumber(number, numbers: Numbers) -> str:
    number = checkNumber("number", cleanText("number", number, 16),
                         numbers.digits)
    if number in numbers.extensions or number in numbers.groups:
        raise ValidationError("number", "is used by an extension or "
                              "ring group already")
    return number


def _multicast(value) -> str:
    value = cleanText("multicast", value, MULTICAST_MAX)
    if value:
        try:
            parseMulticastGroup(value)
        except ValueError as error:
            raise ValidationError("multicast", str(error)) from None
    return value


def _checkMulticastPaging(group: RingGroup) -> None:
    # Sending to a multicast group replaces ringing the members (SPEC E4):
    # one-way audio nobody answers, which is paging, not hunt or ringall.
    if group.multicast and group.strategy != "paging":
        raise ValidationError("multicast", "only for paging groups")


def _members(members, numbers: Numbers) -> tuple[str, ...]:
    if isinstance(members, str) or not isinstance(members, (list, tuple)):
        raise ValidationError("members", "must be a list of extensions")
    if len(members) > MEMBERS_MAX:
        raise ValidationError("members", f"at most {MEMBERS_MAX} members")
    for member in members:
        if member not in numbers.extensions:
            raise ValidationError("members", f"{member} is not an existing "
                                  "extension")
    if len(set(members)) != len(members):
        raise ValidationError("members", "lists an extension twice")
    return tuple(members)


def cleanForwardingRule(rule: ForwardingRule,
                        numbers: Numbers) -> ForwardingRule:
    """
    Validate a forwarding rule (SPEC B3).

    @param rule: the rule; C{rule.extension} must exist.
    @return: the rule, normalised.
    @raise ValidationError: naming the first offending field.
    """
    if rule.extension not in numbers.extensions:
        raise ValidationError("extension", f"{rule.extension} is not an "
                              "existing extension")
    action = checkDestination("action", rule.action, numbers)
    if action == f"extension:{rule.extension}":
        raise ValidationError("action", "forwards the extension to itself")
    return ForwardingRule(
        extension=rule.extension,
        condition=_choice("condition", rule.condition, CONDITIONS),
        action=action,
        status=checkStatus("status", rule.status),
        hours=_choice("hours", rule.hours, HOURS),
        caller=_choice("caller", rule.caller, CALLERS),
        delay=_integer("delay", rule.delay, DELAY))


def checkTime(field: str, value, allowMidnightEnd: bool = False) -> str:
    """
    A wall-clock time C{HH:MM} (C{24:00} only as an interval's end).

    @raise ValidationError: otherwise.
    """
    if not (isinstance(value, str) and len(value) == 5 and value[2] == ":"
            and value[:2].isdigit() and value[3:].isdigit()
            and value.isascii()):
        raise ValidationError(field, "must be a time HH:MM")
    hours, minutes = int(value[:2]), int(value[3:])
    if minutes > 59 or hours > 24 or (hours == 24 and (
            minutes or not allowMidnightEnd)):
        raise ValidationError(field, "is not a valid time of day")
    return value


def cleanIntervals(intervals: Iterable) -> list[OfficeInterval]:
    """
    Validate a weekly schedule (SPEC D7).

    @param intervals: L{OfficeInterval}s or dicts with C{weekday} (0 is
        Monday), C{open} and C{close}.
    @return: the intervals sorted by day and time.
    @raise ValidationError: a bad weekday or time, C{open} not before
        C{close}, or two intervals of one day overlapping.
    """
    clean = []
    for item in intervals:
        if isinstance(item, dict):
            item = _intervalFromDict(item)
        weekday = _integer("weekday", item.weekday, range(7))
        start = checkTime("open", item.open)
        end = checkTime("close", item.close, allowMidnightEnd=True)
        if minutesOf(start) >= minutesOf(end):
            raise ValidationError("close", f"{end} is not after {start}")
        clean.append(OfficeInterval(weekday, start, end))
    clean.sort(key=lambda i: (i.weekday, i.open))
    for before, after in zip(clean, clean[1:]):
        if before.weekday == after.weekday and \
                minutesOf(after.open) < minutesOf(before.close):
            raise ValidationError("open", f"{after.open}-{after.close} "
                                  f"overlaps {before.open}-{before.close}")
    return clean


def _intervalFromDict(item: dict) -> OfficeInterval:
    for name in item:
        if name not in OfficeInterval._fields:
            raise ValidationError(name, "unknown field")
    for name in OfficeInterval._fields:
        if name not in item:
            raise ValidationError(name, "is required")
    return OfficeInterval(**item)


def cleanHoliday(day, name) -> Holiday:
    """
    @param day: C{YYYY-MM-DD}.
    @raise ValidationError: a bad date or name.
    """
    try:
        if not (isinstance(day, str) and len(day) == 10):
            raise ValueError(day)
        parsed = date.fromisoformat(day)
    except ValueError:
        raise ValidationError("date", "must be a date YYYY-MM-DD")
    return Holiday(parsed.isoformat(), cleanText("name", name, 100))


def effectiveDialCodes(stored) -> dict:
    """
    @param stored: the C{dialCodes} setting (a dict, or L{None}).
    @return: every dial code: the defaults overridden by what is stored.
    """
    codes = dict(DIAL_CODE_DEFAULTS)
    if isinstance(stored, dict):
        codes.update((name, code) for name, code in stored.items()
                     if name in codes and isinstance(code, str))
    return codes


def cleanDialCodes(changes: dict, current: dict) -> dict:
    """
    Validate dial code changes (SPEC E6).

    @param changes: names of L{DIAL_CODE_DEFAULTS} to new codes.
    @param current: the codes in force (L{effectiveDialCodes}).
    @return: the whole new map.
    @raise ValidationError: an unknown name, a code that does not start
        with C{*} or C{#} or has other characters than digits, C{*} and
        C{#} (2 to 8 long), or two features with the same code.
    """
    codes = dict(current)
    for name, code in changes.items():
        if name not in DIAL_CODE_DEFAULTS:
            raise ValidationError(name, "unknown dial code (known: "
                                  + ", ".join(DIAL_CODE_DEFAULTS) + ")")
        if not (isinstance(code, str) and 2 <= len(code) <= 8
                and code[0] in "*#" and _CODE_CHARS.issuperset(code)):
            raise ValidationError(name, "must be 2 to 8 of 0-9 * #, "
                                  "starting with * or #")
        codes[name] = code
    owners = {}
    for name, code in codes.items():
        if code in owners:
            raise ValidationError(name, f"{code} is the code of "
                                  f"{owners[code]} already")
        owners[code] = name
    return codes


def cleanCallSettings(fields: dict) -> dict:
    """
    Validate the call settings: C{externalCallUri} (a C{sip:}/C{sips:}
    URI template containing C{{number}}, or empty for none), C{timezone}
    (an IANA name), C{sipDigestAlgorithms}, C{recordingFormat}
    (L{RECORDING_FORMATS}), C{parkSlots} (L{_cleanParkSlots}) and
    C{parkTimeout} (seconds, L{PARK_TIMEOUT}).

    @raise ValidationError: naming the setting.
    """
    clean = {}
    for name, value in fields.items():
        if name not in CALL_SETTINGS:
            raise ValidationError(name, "unknown setting (known: "
                                  + ", ".join(CALL_SETTINGS) + ")")
        clean[name] = _SETTING_CLEANERS[name](name, value)
    return clean


def _cleanExternalUri(name: str, value) -> str:
    value = cleanText(name, value, 255)
    if value and not (value.startswith(("sip:", "sips:"))
                      and "{number}" in value and " " not in value):
        raise ValidationError(name, "must be a sip: or sips: URI "
                              "containing {number}")
    return value


def _cleanZone(name: str, value) -> str:
    value = cleanText(name, value, 255)
    _checkZone(value)
    return value


def _cleanParkSlots(name: str, value) -> str:
    """
    Park slots (SPEC E6): numbers and C{FIRST-LAST} ranges of 1 to 8
    digits, comma-separated, none listed twice, at most
    L{PARK_SLOTS_MAX} in all.

    @return: the list without spaces (C{"701-705,710"}).
    """
    parts = [part.strip() for part in cleanText(name, value, 255).split(",")]
    seen: set[str] = set()
    for part in parts:
        first, dash, last = part.partition("-")
        if not all(n.isascii() and n.isdigit() and len(n) in _SLOT_DIGITS
                   for n in ([first, last] if dash else [first])):
            raise ValidationError(name, f"{part!r} is not a slot number or "
                                  "a range like 701-709")
        low, high = int(first), int(last or first)
        if high < low:
            raise ValidationError(name, f"range {part} ends before it starts")
        if len(seen) + high - low >= PARK_SLOTS_MAX:
            raise ValidationError(name, f"more than {PARK_SLOTS_MAX} slots")
        slots = {str(n).zfill(len(first)) for n in range(low, high + 1)}
        if seen & slots:
            raise ValidationError(name, f"slot {min(seen & slots)} is listed twice")
        seen |= slots
    return ",".join(parts)


DIGEST_ALGORITHMS = ("MD5", "SHA-256", "SHA-512-256")


def _cleanAlgorithms(value: str) -> str:
    """
    The digest algorithms offered to phones, in order (RFC 8760): a comma
    list of MD5, SHA-256, SHA-512-256, none repeated.
    """
    names = [part.strip().upper() for part in value.split(",") if part.strip()]
    if not names or len(set(names)) != len(names) or any(
            name not in DIGEST_ALGORITHMS for name in names):
        raise ValidationError("sipDigestAlgorithms", "must be a comma list of "
                              + ", ".join(DIGEST_ALGORITHMS) + " without repeats")
    return ",".join(names)


def _cleanAlgorithmsSetting(name: str, value) -> str:
    return _cleanAlgorithms(cleanText(name, value, 255))


def _checkZone(name: str) -> None:
    if name not in available_timezones():
        raise ValidationError("timezone", "is not a known IANA time zone "
                              "(like Europe/Paris or UTC)")
    ZoneInfo(name)


_SETTING_CLEANERS = {
    "externalCallUri": _cleanExternalUri,
    "timezone": _cleanZone,
    "sipDigestAlgorithms": _cleanAlgorithmsSetting,
    "recordingFormat": lambda name, value: _choice(name, value, RECORDING_FORMATS),
    "parkSlots": _cleanParkSlots,
    "parkTimeout": lambda name, value: _integer(name, value, PARK_TIMEOUT),
}

CALL_SETTINGS = tuple(_SETTING_CLEANERS)
"""Settings the call features read, besides the dial codes."""


def checkLimit(field: str, value, allowed: range) -> int:
    """
    A whole number within C{allowed} (paging of queries).

    @raise ValidationError: otherwise.
    """
    return _integer(field, value, allowed)
