# -*- test-case-name: tests.test_admincalls -*-
"""
C{tpbx-admin cdr}: the call detail records (SPEC E7), newest first, as
text lines or JSON, times shown and read in the configured time zone.

A module of its own so that L{tpbx.admincalls} (the call configuration
commands) stays small; the handler is C{handler(store, args) -> exit
code} like theirs.
"""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from tpbx.errors import ValidationError

__all__ = ["addCdrCommand", "parseTime"]


def addCdrCommand(commands, common, wrap) -> None:
    """
    Add C{tpbx-admin cdr} to C{commands} (see L{tpbx.admincalls.addCommands}
    for C{common} and C{wrap}).
    """
    cdr = commands.add_parser(
        "cdr", parents=[common], help="show call detail records",
        description="Call detail records, newest first. Times without an "
        "offset are in the configured time zone (callsettings).")
    cdr.add_argument("--since", metavar="ISO", help="from this time on")
    cdr.add_argument("--until", metavar="ISO", help="before this time")
    cdr.add_argument("--extension", metavar="N",
                     help="calls N made or received")
    cdr.add_argument("--limit", type=int, default=100)
    cdr.add_argument("--offset", type=int, default=0)
    cdr.add_argument("--json", action="store_true")
    cdr.set_defaults(handler=wrap(_cdr))


def parseTime(field: str, text: str | None, zone: ZoneInfo) -> float | None:
    """
    @param text: an ISO 8601 date or date-time; without an offset it is
        read in C{zone}.
    @return: epoch seconds, or L{None} for L{None}.
    @raise ValidationError: naming C{field}.
    """
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(field, "is not an ISO 8601 date or time "
                              "(2026-01-31 or 2026-01-31T08:00)")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.timestamp()


def _cdr(store, args) -> int:
    zone = ZoneInfo(store.getCallSettings()["timezone"])
    details = store.queryCalls(
        since=parseTime("--since", args.since, zone),
        until=parseTime("--until", args.until, zone),
        extension=args.extension, limit=args.limit, offset=args.offset)
    rows = [_cdrJSON(detail, zone) for detail in details]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print("\t".join(str(row[name]) for name in (
            "start", "caller", "callee", "dialled", "disposition",
            "duration", "hangupSide", "callId", "leg")).rstrip())
    return 0


def _cdrJSON(detail, zone: ZoneInfo) -> dict:
    def iso(seconds):
        return None if seconds is None else datetime.fromtimestamp(
            seconds, zone).isoformat(timespec="seconds")
    return {"callId": detail.callId, "leg": detail.leg,
            "caller": detail.caller, "callee": detail.callee,
            "dialled": detail.dialled, "start": iso(detail.start),
            "answer": iso(detail.answer), "end": iso(detail.end),
            "duration": round(detail.duration, 3),
            "disposition": detail.disposition,
            "hangupSide": detail.hangupSide, "codec": detail.codec}
