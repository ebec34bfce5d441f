# -*- test-case-name: tests.web.test_api_calls -*-
"""
The call configuration endpoints of the REST API (issue 3): ring groups
(SPEC E3), forwarding rules (B3), office hours and holidays (D7), dial
codes (E6) and the call settings.

Why a module of its own: L{tpbx.web.api} would pass 500 lines.  The
routes are registered on L{tpbx.web.api.ApiApp}'s Klein app by
L{addCallRoutes} (called in that class's body), so they share its
authentication, its error handler and C{url_for}; each route is a plain
function whose first argument is the L{ApiApp} instance.  As in
L{tpbx.web.api}, the store validates values and these routes check only
shapes and types.
"""

from __future__ import annotations

from klein import Klein
from klein.interfaces import IKleinRequest
from twisted.web.iweb import IRequest

from tpbx.errors import NotFound
from tpbx.model import ForwardingRule
from tpbx.web.jsonio import (ApiError, checkFields, readJSONObject,
                             writeJSON)

__all__ = ["addCallRoutes", "checkBody", "RING_GROUP_SCHEMA", "RULE_SCHEMA"]

RING_GROUP_SCHEMA = {
    "number": "string", "name": "string", "strategy": "string",
    "ringTime": "number", "members": "array", "noAnswer": "string",
    "multicast": "string",
}
"""Fields a ring group body may carry (C{members}: strings)."""

RULE_SCHEMA = {
    "condition": "string", "action": "string", "status": "string",
    "hours": "string", "caller": "string", "delay": "number",
}
"""Fields a forwarding rule body may carry."""

_HOURS_SCHEMA = {"timezone": "string", "intervals": "array"}
_HOLIDAY_SCHEMA = {"date": "string", "name": "string"}
_CALL_SETTINGS_SCHEMA = {
    "externalCallUri": "string", "timezone": "string",
    "sipDigestAlgorithms": "string", "recordingFormat": "string",
    "parkSlots": "string", "parkTimeout": "number",
}


def checkBody(body: dict, schema: dict, required=()) -> None:
    """
    L{checkFields}, plus the type C{"array"} (a JSON array) the call
    configuration needs.

    @raise ApiError: 400 C{validation} naming the field.
    """
    arrays = {name for name, kind in schema.items() if kind == "array"}
    checkFields({k: v for k, v in body.items() if k not in arrays},
                {k: v for k, v in schema.items() if k not in arrays},
                [name for name in required if name not in arrays])
    for name in arrays:
        if name in body and not isinstance(body[name], list):
            raise ApiError(400, "validation", "must be an array", field=name)
        if name in required and name not in body:
            raise ApiError(400, "validation", "is required", field=name)


def _ruleOf(extension: str, body: dict) -> ForwardingRule:
    checkBody(body, RULE_SCHEMA, required=("condition", "action"))
    return ForwardingRule(extension=extension, **body)


def _noContent(request: IRequest) -> bytes:
    request.setResponseCode(204)
    return b""


# Ring groups

def listRingGroups(self, request: IRequest) -> bytes:
    """Every ring group, by number."""
    return writeJSON(request, 200, {"ringGroups": [
        g.asJSON() for g in self._config.listRingGroups()]})


def createRingGroup(self, request: IRequest) -> bytes:
    """Create a ring group: 201 with its C{Location}."""
    body = readJSONObject(request)
    checkBody(body, RING_GROUP_SCHEMA, required=("number",))
    group = self._config.createRingGroup(body)
    request.setHeader(b"location", IKleinRequest(request).url_for(
        "getRingGroup", {"number": group.number}).encode("utf-8"))
    return writeJSON(request, 201, group.asJSON())


def getRingGroup(self, request: IRequest, number: str) -> bytes:
    """One ring group, or 404."""
    group = self._config.getRingGroup(number)
    if group is None:
        raise NotFound(f"no ring group {number}")
    return writeJSON(request, 200, group.asJSON())


def updateRingGroup(self, request: IRequest, number: str) -> bytes:
    """Change the fields given; C{members} replaces the whole list."""
    body = readJSONObject(request)
    checkBody(body, RING_GROUP_SCHEMA)
    if body.pop("number", number) != number:
        raise ApiError(400, "validation", "cannot be changed",
                       field="number")
    return writeJSON(request, 200, self._config.updateRingGroup(number, body).asJSON())


def deleteRingGroup(self, request: IRequest, number: str) -> bytes:
    """Delete a ring group: 204, or 404."""
    self._config.deleteRingGroup(number)
    return _noContent(request)


# Forwarding rules

def _rulesReply(self, request: IRequest, number: str,
                status: int = 200) -> bytes:
    return writeJSON(request, status, {"forwarding": [
        rule.asJSON(ruleId) for ruleId, rule in
        self._config.listForwardingRules(number)]})


def listForwarding(self, request: IRequest, number: str) -> bytes:
    """An extension's forwarding rules, in evaluation order."""
    return _rulesReply(self, request, number)


def replaceForwarding(self, request: IRequest, number: str) -> bytes:
    """Replace all of an extension's rules: C{{"forwarding": [...]}}."""
    body = readJSONObject(request)
    checkBody(body, {"forwarding": "array"}, required=("forwarding",))
    rules = []
    for item in body["forwarding"]:
        if not isinstance(item, dict):
            raise ApiError(400, "validation", "must be an array of objects",
                           field="forwarding")
        item.pop("id", None)
        rules.append(_ruleOf(number, item))
    self._config.replaceForwardingRules(number, rules)
    return _rulesReply(self, request, number)


def addForwarding(self, request: IRequest, number: str) -> bytes:
    """Append a rule: 201 with its C{Location} and id."""
    rule = _ruleOf(number, readJSONObject(request))
    if self._config.getExtension(number) is None:
        raise NotFound(f"no extension {number}")
    ruleId = self._config.addForwardingRule(rule)
    request.setHeader(b"location", IKleinRequest(request).url_for(
        "deleteForwarding", {"number": number, "ruleId": ruleId}).encode(
            "utf-8"))
    return writeJSON(request, 201, rule.asJSON(ruleId))


def deleteForwarding(self, request: IRequest, number: str,
                     ruleId: int) -> bytes:
    """Delete one of the extension's rules: 204, or 404."""
    if ruleId not in {i for i, _ in
                      self._config.listForwardingRules(number)}:
        raise NotFound(f"extension {number} has no forwarding rule "
                       f"{ruleId}")
    self._config.deleteForwardingRule(ruleId)
    return _noContent(request)


# Office hours, holidays, dial codes, call settings

def _hoursReply(self, request: IRequest) -> bytes:
    return writeJSON(request, 200, {
        "timezone": self._config.getCallSettings()["timezone"],
        "intervals": [i._asdict() for i in self._config.getOfficeHours()]})


def getOfficeHours(self, request: IRequest) -> bytes:
    """The weekly schedule and its time zone."""
    return _hoursReply(self, request)


def setOfficeHours(self, request: IRequest) -> bytes:
    """Replace the weekly schedule (and the time zone, when given)."""
    body = readJSONObject(request)
    checkBody(body, _HOURS_SCHEMA, required=("intervals",))
    for item in body["intervals"]:
        if not isinstance(item, dict):
            raise ApiError(400, "validation", "must be an array of objects",
                           field="intervals")
    if "timezone" in body:
        self._config.setCallSettings({"timezone": body["timezone"]})
    self._config.setOfficeHours(body["intervals"])
    return _hoursReply(self, request)


def listHolidays(self, request: IRequest) -> bytes:
    """The holidays, by date."""
    return writeJSON(request, 200, {"holidays": [
        h._asdict() for h in self._config.listHolidays()]})


def addHoliday(self, request: IRequest) -> bytes:
    """Add (or rename) a holiday: 201 with its C{Location}."""
    body = readJSONObject(request)
    checkBody(body, _HOLIDAY_SCHEMA, required=("date",))
    holiday = self._config.addHoliday(body["date"], body.get("name", ""))
    request.setHeader(b"location", IKleinRequest(request).url_for(
        "removeHoliday", {"date": holiday.date}).encode("utf-8"))
    return writeJSON(request, 201, holiday._asdict())


def removeHoliday(self, request: IRequest, date: str) -> bytes:
    """Remove a holiday: 204, or 404."""
    self._config.removeHoliday(date)
    return _noContent(request)


def getDialCodes(self, request: IRequest) -> bytes:
    """Every feature's dial code."""
    return writeJSON(request, 200, {"dialCodes": self._config.getDialCodes()})


def setDialCodes(self, request: IRequest) -> bytes:
    """Change the codes given (strings); the others stay."""
    body = readJSONObject(request)
    checkFields(body, {name: "string" for name in body})
    return writeJSON(request, 200, {
        "dialCodes": self._config.setDialCodes(body)})


def getCallSettings(self, request: IRequest) -> bytes:
    """Every call setting (L{_CALL_SETTINGS_SCHEMA}), defaults filled in."""
    return writeJSON(request, 200, self._config.getCallSettings())


def setCallSettings(self, request: IRequest) -> bytes:
    """
    Change the call settings given; the others stay.  A bad value is a
    400 naming the field (the store's rules).
    """
    body = readJSONObject(request)
    checkFields(body, _CALL_SETTINGS_SCHEMA)
    return writeJSON(request, 200, self._config.setCallSettings(body))


_ROUTES = [
    ("/v1/ringgroups", "GET", listRingGroups),
    ("/v1/ringgroups", "POST", createRingGroup),
    ("/v1/ringgroups/<number>", "GET", getRingGroup),
    ("/v1/ringgroups/<number>", "PATCH", updateRingGroup),
    ("/v1/ringgroups/<number>", "DELETE", deleteRingGroup),
    ("/v1/extensions/<number>/forwarding", "GET", listForwarding),
    ("/v1/extensions/<number>/forwarding", "PUT", replaceForwarding),
    ("/v1/extensions/<number>/forwarding", "POST", addForwarding),
    ("/v1/extensions/<number>/forwarding/<int:ruleId>", "DELETE",
     deleteForwarding),
    ("/v1/officehours", "GET", getOfficeHours),
    ("/v1/officehours", "PUT", setOfficeHours),
    ("/v1/holidays", "GET", listHolidays),
    ("/v1/holidays", "POST", addHoliday),
    ("/v1/holidays/<date>", "DELETE", removeHoliday),
    ("/v1/dialcodes", "GET", getDialCodes),
    ("/v1/dialcodes", "PUT", setDialCodes),
    ("/v1/callsettings", "GET", getCallSettings),
    ("/v1/callsettings", "PATCH", setCallSettings),
]


def addCallRoutes(app: Klein) -> None:
    """
    Register this module's routes on C{app} (an L{ApiApp}'s Klein app,
    called in its class body).
    """
    for path, method, endpoint in _ROUTES:
        app.route(path, methods=[method])(endpoint)
