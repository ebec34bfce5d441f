# -*- test-case-name: tests.test_admincalls -*-
"""
The call configuration commands of C{tpbx-admin} (issue 3): ring groups,
forwarding rules, presence status, office hours, holidays, dial codes,
call settings; and, through L{tpbx.admincdr}, the call detail records.

Kept apart from L{tpbx.admin} (the parser's root, init, extensions and
access lists) so both stay small.  Each handler here is
C{handler(store, args) -> exit code}; L{tpbx.admin} wraps it with the
opening and closing of the store and the error reporting every command
shares, so this module needs nothing from it.
"""

from __future__ import annotations

import json
from typing import Callable

from tpbx.admincdr import addCdrCommand
from tpbx.errors import NotFound, ValidationError
from tpbx.model import ForwardingRule
from tpbx.store.callvalidation import (
    CALLERS, CONDITIONS, HOURS, STRATEGIES,
)
from tpbx.store.officehours import WEEKDAYS, OfficeInterval

__all__ = ["addCommands", "addExtensionStatus", "OPTION_OF", "parseDays",
           "parseHours"]

OPTION_OF = {
    "name": "--name", "strategy": "--strategy", "ringTime": "--ring-time",
    "members": "--member", "noAnswer": "--no-answer",
    "multicast": "--multicast",
    "condition": "--condition", "action": "--action", "hours": "--hours",
    "caller": "--caller", "delay": "--delay", "extension": "EXT",
    "weekday": "DAYS", "open": "HOURS", "close": "HOURS", "date": "DATE",
    "externalCallUri": "--external-uri", "timezone": "--timezone",
    "sipDigestAlgorithms": "--digest-algorithms",
    "recordingFormat": "--recording-format", "parkSlots": "--park-slots",
    "parkTimeout": "--park-timeout",
    "limit": "--limit", "offset": "--offset",
}
"""Store field names -> the option a CLI user typed, for error lines."""

StoreCommand = Callable[[Callable], Callable]


def _out(*parts) -> None:
    print(*parts)


def _json(value) -> None:
    _out(json.dumps(value, indent=2))


def addCommands(commands, common, wrap: StoreCommand) -> None:
    """
    Add the commands to C{tpbx-admin}'s subparsers.

    @param common: the parent parser with C{--data}/C{--db}.
    @param wrap: turns C{handler(store, args)} into C{handler(args)}.
    """
    _addRingGroup(commands, common, wrap)
    _addForward(commands, common, wrap)
    _addHours(commands, common, wrap)
    _addHoliday(commands, common, wrap)
    _addDialCodes(commands, common, wrap)
    _addCallSettings(commands, common, wrap)
    addCdrCommand(commands, common, wrap)


def addExtensionStatus(verbs, common, wrap: StoreCommand) -> None:
    """Add C{extension status NUM STATUS}."""
    status = verbs.add_parser(
        "status", parents=[common], help="set the presence status",
        description="Set the presence status, which picks the forwarding "
        "rules: available, away, out-of-office, dnd or a custom name.")
    status.add_argument("number", metavar="NUM")
    status.add_argument("status", metavar="STATUS")
    status.set_defaults(handler=wrap(_extensionStatus))


def _extensionStatus(store, args) -> int:
    extension = store.setExtensionStatus(args.number, args.status)
    _out(f"extension {extension.number} is {extension.status}")
    return 0


def _verbs(commands, name: str, helpText: str):
    group = commands.add_parser(name, help=helpText)
    return group.add_subparsers(dest="verb", required=True, metavar="VERB")


def _verb(verbs, common, wrap, name, handler, helpText, *arguments,
          json_=False):
    parser = verbs.add_parser(name, parents=[common], help=helpText)
    for argument in arguments:
        parser.add_argument(argument[0], **argument[1])
    if json_:
        parser.add_argument("--json", action="store_true")
    parser.set_defaults(handler=wrap(handler))
    return parser


# Ring groups (SPEC E3)

def _addRingGroup(commands, common, wrap) -> None:
    verbs = _verbs(commands, "ringgroup", "manage ring groups")
    number = ("number", {"metavar": "NUM"})
    add = _verb(verbs, common, wrap, "add", _groupAdd, "create one", number)
    change = _verb(verbs, common, wrap, "set", _groupSet,
                   "change the given fields", number)
    for parser in (add, change):
        parser.add_argument("--name")
        parser.add_argument("--strategy", choices=STRATEGIES)
        parser.add_argument("--ring-time", type=int, metavar="S",
                            help="seconds (per member when hunting)")
        parser.add_argument("--member", action="append", metavar="EXT",
                            help="a member; repeat in ringing order")
        parser.add_argument("--no-answer", metavar="DEST", help="end, "
                            "voicemail[:EXT], extension:EXT or "
                            "external:NUMBER")
        parser.add_argument("--multicast", metavar="ADDR:PORT", help="paging:"
                            " page this multicast group ('' clears)")
    change.add_argument("--no-members", action="store_true",
                        help="remove every member")
    _verb(verbs, common, wrap, "list", _groupList, "list all", json_=True)
    _verb(verbs, common, wrap, "show", _groupShow, "show one", number,
          json_=True)
    _verb(verbs, common, wrap, "remove", _groupRemove, "delete one", number)


def _groupFields(args) -> dict:
    fields = {name: value for name, value in [
        ("name", args.name), ("strategy", args.strategy),
        ("ringTime", args.ring_time), ("members", args.member),
        ("noAnswer", args.no_answer), ("multicast", args.multicast)]
        if value is not None}
    if getattr(args, "no_members", False):
        if args.member:
            raise ValidationError("members", "give --member or "
                                  "--no-members, not both")
        fields["members"] = []
    return fields


def _groupAdd(store, args) -> int:
    group = store.createRingGroup({"number": args.number,
                                   **_groupFields(args)})
    _out(f"ring group {group.number} created")
    return 0


def _groupSet(store, args) -> int:
    fields = _groupFields(args)
    if not fields:
        raise ValidationError("name", "nothing to change: give at least "
                              "one option")
    store.updateRingGroup(args.number, fields)
    _out(f"ring group {args.number} updated")
    return 0


def _groupList(store, args) -> int:
    groups = store.listRingGroups()
    if args.json:
        _json([group.asJSON() for group in groups])
        return 0
    for g in groups:
        _out("\t".join([g.number, g.name, g.strategy, f"{g.ringTime}s",
                        ",".join(g.members), g.noAnswer, g.multicast]))
    return 0


def _groupShow(store, args) -> int:
    group = store.getRingGroup(args.number)
    if group is None:
        raise NotFound(f"ring group {args.number} does not exist")
    shown = group.asJSON()
    if args.json:
        _json(shown)
        return 0
    shown["members"] = ",".join(shown["members"])
    for name, value in shown.items():
        _out(f"{name:<9} {value}")
    return 0


def _groupRemove(store, args) -> int:
    store.deleteRingGroup(args.number)
    _out(f"ring group {args.number} removed")
    return 0


# Forwarding rules (SPEC B3)

def _addForward(commands, common, wrap) -> None:
    verbs = _verbs(commands, "forward", "manage forwarding rules")
    extension = ("extension", {"metavar": "EXT"})
    add = _verb(verbs, common, wrap, "add", _forwardAdd,
                "append a rule to an extension", extension)
    add.add_argument("--condition", required=True, choices=CONDITIONS)
    add.add_argument("--action", required=True, metavar="DEST",
                     help="end, voicemail[:EXT], extension:EXT or "
                     "external:NUMBER")
    add.add_argument("--status", default="available",
                     help="presence status it applies in (default "
                     "available)")
    add.add_argument("--hours", default="any", choices=HOURS)
    add.add_argument("--caller", default="any", choices=CALLERS)
    add.add_argument("--delay", type=int, default=20, metavar="S",
                     help="seconds of ringing before no-answer applies")
    _verb(verbs, common, wrap, "list", _forwardList,
          "list an extension's rules", extension, json_=True)
    _verb(verbs, common, wrap, "remove", _forwardRemove, "delete a rule",
          ("id", {"metavar": "ID", "type": int}))


def _forwardAdd(store, args) -> int:
    ruleId = store.addForwardingRule(ForwardingRule(
        extension=args.extension, condition=args.condition,
        action=args.action, status=args.status, hours=args.hours,
        caller=args.caller, delay=args.delay))
    _out(f"forwarding rule {ruleId} added")
    return 0


def _forwardList(store, args) -> int:
    rules = [rule.asJSON(ruleId) for ruleId, rule in
             store.listForwardingRules(args.extension)]
    if args.json:
        _json(rules)
        return 0
    for rule in rules:
        _out("\t".join(str(rule[name]) for name in (
            "id", "status", "hours", "caller", "condition", "delay",
            "action")))
    return 0


def _forwardRemove(store, args) -> int:
    store.deleteForwardingRule(args.id)
    _out(f"forwarding rule {args.id} removed")
    return 0


# Office hours and holidays (SPEC D7)

def _addHours(commands, common, wrap) -> None:
    verbs = _verbs(commands, "hours", "office hours")
    change = _verb(verbs, common, wrap, "set", _hoursSet,
                   "set the hours of some days",
                   ("days", {"metavar": "DAYS"}),
                   ("hours", {"metavar": "HOURS"}))
    change.description = ("Replace the opening hours of DAYS (mon-fri, "
                          "sat, mon,wed,fri or all) by HOURS "
                          "(08:00-12:00,13:30-18:00 or closed); other days "
                          "keep theirs.")
    _verb(verbs, common, wrap, "show", _hoursShow, "show the schedule",
          json_=True)
    _verb(verbs, common, wrap, "clear", _hoursClear,
          "remove the schedule (always office hours)")


def parseDays(text: str) -> list[int]:
    """
    @param text: C{mon-fri}, C{sat}, C{mon,wed,fri} or C{all}.
    @return: weekday indexes (Monday 0).
    @raise ValidationError: (field C{weekday}) otherwise.
    """
    days = []
    for part in text.lower().split(","):
        first, _, last = part.strip().partition("-")
        if part.strip() == "all":
            first, last = "mon", "sun"
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise ValidationError("weekday", f"{part!r} is not a day or "
                                  "range of days (mon ... sun)")
        start, end = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        if end < start:
            raise ValidationError("weekday", f"{part!r} runs backwards")
        days.extend(range(start, end + 1))
    return sorted(set(days))


def parseHours(text: str) -> list[tuple[str, str]]:
    """
    @param text: C{08:00-12:00,13:30-18:00} or C{closed}.
    @return: C{(open, close)} pairs, unchecked (the store checks them).
    """
    if text.strip().lower() == "closed":
        return []
    pairs = []
    for part in text.split(","):
        start, sep, end = part.strip().partition("-")
        if not sep:
            raise ValidationError("open", f"{part!r} is not HH:MM-HH:MM")
        pairs.append((start, end))
    return pairs


def _hoursSet(store, args) -> int:
    days = parseDays(args.days)
    kept = [i for i in store.getOfficeHours() if i.weekday not in days]
    new = [OfficeInterval(day, start, end) for day in days
           for start, end in parseHours(args.hours)]
    store.setOfficeHours(kept + new)
    _out("office hours updated")
    return 0


def _hoursShow(store, args) -> int:
    intervals = store.getOfficeHours()
    zone = store.getCallSettings()["timezone"]
    if args.json:
        _json({"timezone": zone,
               "intervals": [i._asdict() for i in intervals]})
        return 0
    _out(f"timezone {zone}")
    if not intervals:
        _out("no schedule: always office hours (except holidays)")
    for day, name in enumerate(WEEKDAYS):
        spans = [f"{i.open}-{i.close}" for i in intervals
                 if i.weekday == day]
        if intervals:
            _out(f"{name} {','.join(spans) or 'closed'}")
    return 0


def _hoursClear(store, args) -> int:
    store.setOfficeHours([])
    _out("office hours cleared")
    return 0


def _addHoliday(commands, common, wrap) -> None:
    verbs = _verbs(commands, "holiday", "holidays (closed all day)")
    date = ("date", {"metavar": "DATE", "help": "YYYY-MM-DD"})
    _verb(verbs, common, wrap, "add", _holidayAdd, "add or rename one", date,
          ("name", {"metavar": "NAME", "nargs": "?", "default": ""}))
    _verb(verbs, common, wrap, "list", _holidayList, "list all", json_=True)
    _verb(verbs, common, wrap, "remove", _holidayRemove, "remove one", date)


def _holidayAdd(store, args) -> int:
    holiday = store.addHoliday(args.date, args.name)
    _out(f"holiday {holiday.date} added")
    return 0


def _holidayList(store, args) -> int:
    holidays = store.listHolidays()
    if args.json:
        _json([h._asdict() for h in holidays])
        return 0
    for holiday in holidays:
        _out(f"{holiday.date}\t{holiday.name}".rstrip())
    return 0


def _holidayRemove(store, args) -> int:
    store.removeHoliday(args.date)
    _out(f"holiday {args.date} removed")
    return 0


# Dial codes (SPEC E6) and call settings

def _addDialCodes(commands, common, wrap) -> None:
    verbs = _verbs(commands, "dialcodes", "feature dial codes")
    _verb(verbs, common, wrap, "show", _dialCodesShow, "show them",
          json_=True)
    _verb(verbs, common, wrap, "set", _dialCodesSet, "change one",
          ("name", {"metavar": "NAME"}), ("code", {"metavar": "CODE"}))


def _dialCodesShow(store, args) -> int:
    codes = store.getDialCodes()
    if args.json:
        _json(codes)
        return 0
    for name, code in codes.items():
        _out(f"{name:<15} {code}")
    return 0


def _dialCodesSet(store, args) -> int:
    store.setDialCodes({args.name: args.code})
    _out(f"dial code {args.name} is {args.code}")
    return 0


# The options of C{callsettings set}: (setting, option, metavar, help).
_CALL_SETTING_OPTIONS = (
    ("timezone", "--timezone", "ZONE", "IANA time zone of office hours and "
     "CDR times (default UTC)"),
    ("externalCallUri", "--external-uri", "URI", "where calls to external "
     "numbers go, e.g. 'sip:{number}@gateway.example:5060' ('' for none)"),
    ("sipDigestAlgorithms", "--digest-algorithms", "LIST", "digest challenges "
     "offered to phones, in order, e.g. 'SHA-256,MD5' (default MD5; read at "
     "server start)"),
    ("recordingFormat", "--recording-format", "FORMAT", "mixed (both parties "
     "in one channel, the default) or stereo (caller left, callee right); "
     "applies to recordings started from then on"),
    ("parkSlots", "--park-slots", "LIST", "park slots: numbers and ranges, "
     "e.g. '701-705,710' (default 701-709, at most 100)"),
    ("parkTimeout", "--park-timeout", "SECONDS", "seconds a call stays parked "
     "before the parker is rung back, 10 to 3600 (default 120)"),
)


def _addCallSettings(commands, common, wrap) -> None:
    verbs = _verbs(commands, "callsettings",
                   "time zone, external calls, digest, recording, park")
    _verb(verbs, common, wrap, "show", _callSettingsShow, "show them",
          json_=True)
    change = _verb(verbs, common, wrap, "set", _callSettingsSet,
                   "change them")
    for name, option, metavar, text in _CALL_SETTING_OPTIONS:
        change.add_argument(option, dest=name, metavar=metavar, help=text)


def _callSettingsShow(store, args) -> int:
    values = store.getCallSettings()
    if args.json:
        _json(values)
        return 0
    for name, value in values.items():
        _out(f"{name:<20} {value}")
    return 0


def _callSettingsSet(store, args) -> int:
    fields = {name: getattr(args, name) for name, *_ in _CALL_SETTING_OPTIONS
              if getattr(args, name) is not None}
    if not fields:
        raise ValidationError("timezone", "nothing to change: give " + ", ".join(
            option for _, option, *_ in _CALL_SETTING_OPTIONS))
    store.setCallSettings(fields)
    _out("call settings updated")
    return 0
