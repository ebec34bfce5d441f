# -*- test-case-name: tests.web.test_fakes -*-
"""
The call configuration and CDR half of the web tests' in-memory config
store (L{tests.web.fakes.MemoryConfigStore} inherits it).  It validates
with the store's own rules (L{tpbx.store.callvalidation}) so the API tests
see the real error fields and messages without a database.
"""

from __future__ import annotations

import dataclasses
import itertools

from tpbx.errors import Conflict, NotFound
from tpbx.model import CallDetail, ForwardingRule, RingGroup
from tpbx.store.callvalidation import (
    Numbers, checkLimit, cleanCallSettings, cleanDialCodes, cleanForwardingRule,
    cleanHoliday, cleanIntervals, cleanRingGroup, effectiveDialCodes,
)
from tpbx.store.validation import checkStatus

__all__ = ["MemoryCallConfig"]


class MemoryCallConfig:
    """
    Ring groups, forwarding rules, office hours, holidays, dial codes, call
    settings and CDRs in plain containers.  Needs C{self.extensions} and
    C{self.settings} from the class it is mixed into.

    @ivar ringGroups: number -> L{RingGroup}.
    @ivar rules: id -> L{ForwardingRule}, in insertion order.
    @ivar calls: the recorded L{CallDetail}s.
    """

    def _initCalls(self) -> None:
        self.ringGroups: dict[str, RingGroup] = {}
        self.rules: dict[int, ForwardingRule] = {}
        self.hours: list = []
        self.holidays: dict[str, object] = {}
        self.calls: list[CallDetail] = []
        self._ids = itertools.count(1)

    def _numbers(self) -> Numbers:
        return Numbers(None, set(self.extensions), set(self.ringGroups))

    def listRingGroups(self) -> list[RingGroup]:
        return [self.ringGroups[n] for n in sorted(self.ringGroups)]

    def getRingGroup(self, number: str) -> RingGroup | None:
        return self.ringGroups.get(number)

    def createRingGroup(self, fields: dict) -> RingGroup:
        number = fields.get("number")
        if number in self.extensions or number in self.ringGroups:
            raise Conflict(f"{number} exists")
        group = RingGroup(**cleanRingGroup(fields, True, self._numbers()))
        self.ringGroups[group.number] = group
        return group

    def updateRingGroup(self, number: str, fields: dict) -> RingGroup:
        if number not in self.ringGroups:
            raise NotFound(f"no ring group {number}")
        clean = cleanRingGroup(fields, False, self._numbers(), self.ringGroups[number])
        group = dataclasses.replace(self.ringGroups[number], **clean)
        self.ringGroups[number] = group
        return group

    def deleteRingGroup(self, number: str) -> None:
        if self.ringGroups.pop(number, None) is None:
            raise NotFound(f"no ring group {number}")

    def listForwardingRules(self, extension: str) -> list:
        if extension not in self.extensions:
            raise NotFound(f"no extension {extension}")
        return [(i, r) for i, r in self.rules.items()
                if r.extension == extension]

    def addForwardingRule(self, rule: ForwardingRule) -> int:
        clean = cleanForwardingRule(rule, self._numbers())
        ruleId = next(self._ids)
        self.rules[ruleId] = clean
        return ruleId

    def deleteForwardingRule(self, ruleId: int) -> None:
        if self.rules.pop(ruleId, None) is None:
            raise NotFound(f"no forwarding rule {ruleId}")

    def replaceForwardingRules(self, extension: str, rules) -> list[int]:
        if extension not in self.extensions:
            raise NotFound(f"no extension {extension}")
        clean = [cleanForwardingRule(dataclasses.replace(
            r, extension=extension), self._numbers()) for r in rules]
        for ruleId, _ in self.listForwardingRules(extension):
            del self.rules[ruleId]
        return [self.addForwardingRule(rule) for rule in clean]

    def setExtensionStatus(self, number: str, status: str):
        return self.updateExtension(number, {
            "status": checkStatus("status", status)})

    def getOfficeHours(self) -> list:
        return list(self.hours)

    def setOfficeHours(self, intervals) -> list:
        self.hours = cleanIntervals(intervals)
        return list(self.hours)

    def listHolidays(self) -> list:
        return [self.holidays[d] for d in sorted(self.holidays)]

    def addHoliday(self, date: str, name: str = ""):
        holiday = cleanHoliday(date, name)
        self.holidays[holiday.date] = holiday
        return holiday

    def removeHoliday(self, date: str) -> None:
        if self.holidays.pop(date, None) is None:
            raise NotFound(f"no holiday on {date}")

    def recordCall(self, detail: CallDetail) -> None:
        self.calls.append(detail)

    def recordCalls(self, details) -> None:
        self.calls.extend(details)

    def queryCalls(self, since=None, until=None, extension=None,
                   limit=100, offset=0) -> list[CallDetail]:
        found = [c for c in self.calls
                 if (since is None or c.start >= since)
                 and (until is None or c.start < until)
                 and extension in (None, c.caller, c.callee)]
        limit = checkLimit("limit", limit, range(1, 10001))
        offset = checkLimit("offset", offset, range(0, 2 ** 31))
        found.sort(key=lambda c: -c.start)
        return found[offset:offset + limit]

    def getDialCodes(self) -> dict:
        return effectiveDialCodes(self.settings.get("dialCodes"))

    def setDialCodes(self, codes: dict) -> dict:
        self.settings["dialCodes"] = cleanDialCodes(codes,
                                                    self.getDialCodes())
        return self.getDialCodes()

    def getCallSettings(self) -> dict:
        return {"externalCallUri": self.settings.get("externalCallUri", ""),
                "timezone": self.settings.get("timezone", "UTC")}

    def setCallSettings(self, fields: dict) -> dict:
        self.settings.update(cleanCallSettings(fields))
        return self.getCallSettings()
