# -*- test-case-name: tests.store.test_callstore -*-
"""
Repositories of call configuration (issue 3): ring groups (SPEC E3),
forwarding rules and presence status (B3), office hours and holidays
(D7), dial codes (E6) and the call settings.

A mixin of L{tpbx.store.repositories.Store} rather than methods written
into it, so each module stays small; it uses the store's engine, clock and
C{_configWrite} (every write bumps C{config_version}, so the running
PBX's snapshot follows within a second).  Validation is in
L{tpbx.store.callvalidation}; this module reads what the checks need in
the same transaction and writes the result.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Iterable

from sqlalchemy import Connection, delete, insert, select, update

from tpbx.errors import NotFound, ValidationError
from tpbx.model import PARK_SLOTS_DEFAULT, PARK_TIMEOUT_DEFAULT, ForwardingRule, RingGroup
from tpbx.store.callvalidation import (
    Numbers, cleanCallSettings, cleanDialCodes,
    cleanForwardingRule, cleanHoliday, cleanIntervals, cleanRingGroup,
    effectiveDialCodes,
)
from tpbx.store.engine import reading, upsert
from tpbx.store.officehours import (
    DEFAULT_TIMEZONE, TIMEZONE_SETTING, Holiday, OfficeInterval,
)
from tpbx.store.schema import (
    extensions, forwardingRules, holidays, officeHours, ringGroupMembers,
    ringGroups, settings,
)
from tpbx.store.validation import FieldConflict

__all__ = ["CallConfigRepository", "DIAL_CODES_SETTING",
           "EXTERNAL_URI_SETTING", "readRingGroups", "readForwarding",
           "readOfficeHours", "readHolidays", "ruleNotFound",
           "checkNumberFree"]

DIAL_CODES_SETTING = "dialCodes"
EXTERNAL_URI_SETTING = "externalCallUri"
_CALL_SETTING_DEFAULTS = {EXTERNAL_URI_SETTING: "",
                          TIMEZONE_SETTING: DEFAULT_TIMEZONE,
                          "sipDigestAlgorithms": "MD5",
                          "recordingFormat": "mixed",
                          "parkSlots": PARK_SLOTS_DEFAULT,
                          "parkTimeout": PARK_TIMEOUT_DEFAULT}


class CallConfigRepository:
    """
    The call configuration half of L{IConfigStore}; see the module
    docstring.  Needs C{self.engine} and C{self._configWrite}.
    """

    # Ring groups (SPEC E3)

    def listRingGroups(self) -> list[RingGroup]:
        with reading(self.engine) as connection:
            return readRingGroups(connection)

    def getRingGroup(self, number: str) -> RingGroup | None:
        with reading(self.engine) as connection:
            return _ringGroup(connection, number)

    def createRingGroup(self, fields: dict) -> RingGroup:
        """
        @raise ValidationError: a field is bad.
        @raise tpbx.store.repositories.FieldConflict: the number is used
            by an extension or a ring group.
        """
        with self._configWrite() as connection:
            checkNumberFree(connection, str(fields.get("number", "")))
            if fields.get("number") == _setting(connection,
                                                "voicemailNumber"):
                raise ValidationError("number", "is the voicemail access "
                                      "number")
            clean = cleanRingGroup(fields, True, _numbers(connection))
            group = RingGroup(**clean)
            connection.execute(insert(ringGroups).values(_groupRow(group)))
            _writeMembers(connection, group.number, group.members)
            return group

    def updateRingGroup(self, number: str, fields: dict) -> RingGroup:
        """
        @raise NotFound: no such ring group.
        @raise ValidationError: a field is bad.
        """
        with self._configWrite() as connection:
            current = _ringGroup(connection, number)
            if current is None:
                raise NotFound(f"ring group {number} does not exist")
            clean = cleanRingGroup(fields, False, _numbers(connection),
                                   current)
            group = dataclasses.replace(current, **clean)
            connection.execute(update(ringGroups).where(
                ringGroups.c.number == number).values(_groupRow(group)))
            if "members" in clean:
                connection.execute(delete(ringGroupMembers).where(
                    ringGroupMembers.c.group_number == number))
                _writeMembers(connection, number, group.members)
            return group

    def deleteRingGroup(self, number: str) -> None:
        """@raise NotFound: no such ring group."""
        with self._configWrite() as connection:
            connection.execute(delete(ringGroupMembers).where(
                ringGroupMembers.c.group_number == number))
            result = connection.execute(delete(ringGroups).where(
                ringGroups.c.number == number))
            if result.rowcount == 0:
                raise NotFound(f"ring group {number} does not exist")

    # Forwarding rules and presence status (SPEC B3)

    def listForwardingRules(self, extension: str) \
            -> list[tuple[int, ForwardingRule]]:
        """
        @return: C{(id, rule)} pairs in the order they were added.
        @raise NotFound: no such extension.
        """
        with reading(self.engine) as connection:
            _requireExtension(connection, extension)
            return readForwarding(connection, extension)

    def addForwardingRule(self, rule: ForwardingRule) -> int:
        """
        Append a rule to C{rule.extension}'s rules.

        @return: the new rule's id.
        @raise ValidationError: a field is bad or the extension is unknown.
        """
        with self._configWrite() as connection:
            clean = cleanForwardingRule(rule, _numbers(connection))
            return connection.execute(insert(forwardingRules).values(
                _ruleRow(clean))).inserted_primary_key[0]

    def deleteForwardingRule(self, ruleId: int) -> None:
        """@raise NotFound: no rule has this id."""
        with self._configWrite() as connection:
            result = connection.execute(delete(forwardingRules).where(
                forwardingRules.c.id == ruleId))
            if result.rowcount == 0:
                raise ruleNotFound(ruleId)

    def replaceForwardingRules(self, extension: str,
                               rules: Iterable[ForwardingRule]) -> list[int]:
        """
        Replace every rule of C{extension} (each rule's own C{extension}
        is ignored), all or nothing.

        @return: the new ids, in order.
        @raise NotFound: no such extension.
        @raise ValidationError: a rule is bad (nothing is changed).
        """
        with self._configWrite() as connection:
            _requireExtension(connection, extension)
            numbers = _numbers(connection)
            clean = [cleanForwardingRule(dataclasses.replace(
                rule, extension=extension), numbers) for rule in rules]
            connection.execute(delete(forwardingRules).where(
                forwardingRules.c.extension == extension))
            return [connection.execute(insert(forwardingRules).values(
                _ruleRow(rule))).inserted_primary_key[0] for rule in clean]

    def setExtensionStatus(self, number: str, status: str):
        """
        Set an extension's presence status (what picks its forwarding
        rules).

        @return: the updated L{tpbx.model.Extension}.
        @raise NotFound: no such extension.
        @raise ValidationError: a bad status name.
        """
        return self.updateExtension(number, {"status": status})

    # Office hours and holidays (SPEC D7)

    def getOfficeHours(self) -> list[OfficeInterval]:
        with reading(self.engine) as connection:
            return readOfficeHours(connection)

    def setOfficeHours(self, intervals: Iterable) -> list[OfficeInterval]:
        """
        Replace the weekly schedule; an empty one means "always office
        hours".

        @param intervals: L{OfficeInterval}s or dicts of the same fields.
        @return: the schedule as stored, sorted.
        @raise ValidationError: see L{cleanIntervals}.
        """
        clean = cleanIntervals(intervals)
        with self._configWrite() as connection:
            connection.execute(delete(officeHours))
            if clean:
                connection.execute(insert(officeHours), [
                    i._asdict() for i in clean])
        return clean

    def listHolidays(self) -> list[Holiday]:
        with reading(self.engine) as connection:
            return readHolidays(connection)

    def addHoliday(self, day: str, name: str = "") -> Holiday:
        """
        Add a holiday, or rename the one on that date.

        @raise ValidationError: a bad date or name.
        """
        holiday = cleanHoliday(day, name)
        with self._configWrite() as connection:
            upsert(connection, holidays, [holiday._asdict()], ("date",))
        return holiday

    def removeHoliday(self, day: str) -> None:
        """@raise NotFound: no holiday on C{day}."""
        with self._configWrite() as connection:
            result = connection.execute(delete(holidays).where(
                holidays.c.date == day))
            if result.rowcount == 0:
                raise NotFound(f"no holiday on {day}")

    # Dial codes (SPEC E6) and call settings

    def getDialCodes(self) -> dict:
        """@return: every feature's dial code (defaults filled in)."""
        return effectiveDialCodes(self.getSetting(DIAL_CODES_SETTING))

    def setDialCodes(self, codes: dict) -> dict:
        """
        Change the given features' codes; the others stay.

        @return: every code now in force.
        @raise ValidationError: see L{cleanDialCodes}.
        """
        with self._configWrite() as connection:
            current = effectiveDialCodes(_setting(connection,
                                                  DIAL_CODES_SETTING))
            new = cleanDialCodes(codes, current)
            _putSettings(connection, {DIAL_CODES_SETTING: new})
        return new

    def getCallSettings(self) -> dict:
        """
        @return: every call setting (L{cleanCallSettings}), defaults
            filled in.
        """
        with reading(self.engine) as connection:
            return {name: _setting(connection, name, default)
                    for name, default in _CALL_SETTING_DEFAULTS.items()}

    def setCallSettings(self, fields: dict) -> dict:
        """
        Change some call settings.

        @return: all of them, as now stored.
        @raise ValidationError: see L{cleanCallSettings}.
        """
        clean = cleanCallSettings(fields)
        with self._configWrite() as connection:
            _putSettings(connection, clean)
        return self.getCallSettings()


def checkNumberFree(connection: Connection, number: str) -> None:
    """
    Extensions and ring groups share one numbering plan.

    @raise FieldConflict: (field C{number}) C{number} is taken by either.
    """
    if connection.scalar(select(extensions.c.number).where(
            extensions.c.number == number)) is not None:
        raise FieldConflict("number", f"extension {number} exists already")
    if connection.scalar(select(ringGroups.c.number).where(
            ringGroups.c.number == number)) is not None:
        raise FieldConflict("number", f"{number} is a ring group")


def ruleNotFound(ruleId) -> NotFound:
    """@return: the error for an unknown forwarding rule id."""
    return NotFound(f"forwarding rule {ruleId} does not exist")


def _setting(connection: Connection, name: str, default=None):
    value = connection.scalar(select(settings.c.value).where(
        settings.c.name == name))
    return default if value is None else json.loads(value)


def _putSettings(connection: Connection, values: dict) -> None:
    upsert(connection, settings, [{"name": name, "value": json.dumps(value)}
                                  for name, value in values.items()],
           ("name",))


def _numbers(connection: Connection) -> Numbers:
    digits = _setting(connection, "extensionDigits")
    return Numbers(None if digits is None else int(digits),
                   frozenset(connection.scalars(select(extensions.c.number))),
                   frozenset(connection.scalars(select(ringGroups.c.number))))


def _requireExtension(connection: Connection, number: str) -> None:
    if connection.scalar(select(extensions.c.number).where(
            extensions.c.number == number)) is None:
        raise NotFound(f"extension {number} does not exist")


def _groupRow(group: RingGroup) -> dict:
    return {"number": group.number, "name": group.name,
            "strategy": group.strategy, "ring_time": group.ringTime,
            "no_answer": group.noAnswer, "multicast": group.multicast}


def _writeMembers(connection: Connection, number: str,
                  members: tuple[str, ...]) -> None:
    if members:
        connection.execute(insert(ringGroupMembers), [
            {"group_number": number, "position": position,
             "extension": member}
            for position, member in enumerate(members)])


def readRingGroups(connection: Connection,
                   number: str | None = None) -> list[RingGroup]:
    """
    @param number: read only this group (else all, by number).
    @return: the ring groups with their members in order.
    """
    groupQuery = select(ringGroups).order_by(ringGroups.c.number)
    memberQuery = select(ringGroupMembers).order_by(
        ringGroupMembers.c.group_number, ringGroupMembers.c.position)
    if number is not None:
        groupQuery = groupQuery.where(ringGroups.c.number == number)
        memberQuery = memberQuery.where(
            ringGroupMembers.c.group_number == number)
    members: dict[str, list[str]] = {}
    for row in connection.execute(memberQuery):
        members.setdefault(row.group_number, []).append(row.extension)
    return [RingGroup(number=row.number, name=row.name,
                      strategy=row.strategy, ringTime=row.ring_time,
                      members=tuple(members.get(row.number, ())),
                      noAnswer=row.no_answer, multicast=row.multicast)
            for row in connection.execute(groupQuery)]


def _ringGroup(connection: Connection, number: str) -> RingGroup | None:
    found = readRingGroups(connection, number)
    return found[0] if found else None


def _ruleRow(rule: ForwardingRule) -> dict:
    return dataclasses.asdict(rule)


def readForwarding(connection: Connection, extension: str | None = None) \
        -> list[tuple[int, ForwardingRule]]:
    """
    @param extension: read only this extension's rules (else all).
    @return: C{(id, rule)} pairs ordered by extension, then id.
    """
    query = select(forwardingRules).order_by(forwardingRules.c.extension,
                                             forwardingRules.c.id)
    if extension is not None:
        query = query.where(forwardingRules.c.extension == extension)
    fields = [f.name for f in dataclasses.fields(ForwardingRule)]
    return [(row.id, ForwardingRule(**{name: row._mapping[name]
                                       for name in fields}))
            for row in connection.execute(query)]


def readOfficeHours(connection: Connection) -> list[OfficeInterval]:
    """@return: the weekly schedule, by day and time."""
    return [OfficeInterval(row.weekday, row.open, row.close)
            for row in connection.execute(select(officeHours).order_by(
                officeHours.c.weekday, officeHours.c.open))]


def readHolidays(connection: Connection) -> list[Holiday]:
    """@return: the holidays, by date."""
    return [Holiday(row.date, row.name) for row in connection.execute(
        select(holidays).order_by(holidays.c.date))]
