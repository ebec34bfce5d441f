# -*- test-case-name: tests.web.test_api_calls -*-
"""
The call configuration endpoints (L{tpbx.web.api_calls}): ring groups,
forwarding rules, office hours, holidays, dial codes and call settings.
"""

import pytest

from tpbx.model import Extension

V1 = "/api/v1"


@pytest.fixture
def extensions(store):
    """Extensions 100, 101 and 102 in the fake store."""
    for number in ("100", "101", "102"):
        store.extensions[number] = Extension(number, "X", password="pw")
    return store


def test_ringGroupCrud(client, extensions):
    """
    POST creates (201, Location), GET lists and shows, PATCH changes the
    fields given, DELETE removes (204, then 404).
    """
    reply = client.post(f"{V1}/ringgroups", {
        "number": "200", "name": "Sales", "strategy": "hunt",
        "ringTime": 15, "members": ["101", "100"], "noAnswer": "end"})
    assert reply.status == 201
    assert reply.header("location") == f"{V1}/ringgroups/200"
    group = {"number": "200", "name": "Sales", "strategy": "hunt",
             "ringTime": 15, "members": ["101", "100"], "noAnswer": "end",
             "multicast": ""}
    assert reply.json() == group
    assert client.get(f"{V1}/ringgroups").json() == {"ringGroups": [group]}
    reply = client.patch(f"{V1}/ringgroups/200", {"members": ["102"]})
    assert reply.json() == {**group, "members": ["102"]}
    assert client.get(f"{V1}/ringgroups/200").json()["members"] == ["102"]
    assert client.delete(f"{V1}/ringgroups/200").status == 204
    assert client.get(f"{V1}/ringgroups/200").status == 404
    assert client.delete(f"{V1}/ringgroups/200").status == 404


@pytest.mark.parametrize("body, status, field", [
    ({"number": "100"}, 409, None),
    ({"number": "200", "members": "101"}, 400, "members"),
    ({"number": "200", "members": ["555"]}, 400, "members"),
    ({"number": "200", "strategy": "random"}, 400, "strategy"),
    ({"number": "200", "ringTime": "20"}, 400, "ringTime"),
    ({"number": "200", "noAnswer": "extension:555"}, 400, "noAnswer"),
    ({"name": "x"}, 400, "number"),
    ({"number": "200", "colour": "red"}, 400, "colour"),
])
def test_ringGroupRefused(client, extensions, body, status, field):
    """Bad ring groups answer 400 naming the field, or 409 for a taken
    number."""
    reply = client.post(f"{V1}/ringgroups", body)
    assert reply.status == status
    assert reply.error()["field"] == field


def test_ringGroupNumberFixed(client, extensions):
    """PATCH may repeat the number but not change it; unknown is 404."""
    client.post(f"{V1}/ringgroups", {"number": "200"})
    assert client.patch(f"{V1}/ringgroups/200", {"number": "200"}).status \
        == 200
    reply = client.patch(f"{V1}/ringgroups/200", {"number": "201"})
    assert (reply.status, reply.error()["field"]) == (400, "number")
    assert client.patch(f"{V1}/ringgroups/201", {}).status == 404


def test_forwardingRules(client, extensions):
    """
    POST appends a rule (201, id, Location), GET lists them in order, PUT
    replaces them all, DELETE removes one of this extension's rules.
    """
    path = f"{V1}/extensions/100/forwarding"
    reply = client.post(path, {"condition": "busy", "action": "voicemail"})
    assert reply.status == 201
    rule = reply.json()
    assert rule == {"id": rule["id"], "condition": "busy",
                    "action": "voicemail", "status": "available",
                    "hours": "any", "caller": "any", "delay": 20}
    assert reply.header("location") == f"{path}/{rule['id']}"
    assert client.get(path).json() == {"forwarding": [rule]}
    replaced = client.put(path, {"forwarding": [
        {"condition": "no-answer", "action": "extension:101", "delay": 10,
         "status": "away", "hours": "outside", "caller": "external"},
        {"id": 99, "condition": "not-registered", "action": "end"}]})
    assert replaced.status == 200
    listed = replaced.json()["forwarding"]
    assert [(r["condition"], r["delay"]) for r in listed] == [
        ("no-answer", 10), ("not-registered", 20)]
    assert client.delete(f"{path}/{listed[0]['id']}").status == 204
    assert client.delete(f"{path}/{listed[0]['id']}").status == 404
    other = f"{V1}/extensions/101/forwarding/{listed[1]['id']}"
    assert client.delete(other).status == 404
    assert len(client.get(path).json()["forwarding"]) == 1


@pytest.mark.parametrize("method, path, body, status, field", [
    ("post", "100", {"condition": "busy"}, 400, "action"),
    ("post", "100", {"condition": "busy", "action": "x"}, 400, "action"),
    ("post", "100", {"condition": "busy", "action": "end", "delay": 0},
     400, "delay"),
    ("post", "100", {"condition": "busy", "action": "end", "delay": "5"},
     400, "delay"),
    ("post", "555", {"condition": "busy", "action": "end"}, 404, None),
    ("get", "555", None, 404, None),
    ("put", "100", {"forwarding": {}}, 400, "forwarding"),
    ("put", "100", {"forwarding": [5]}, 400, "forwarding"),
    ("put", "100", {"forwarding": [{"condition": "x", "action": "end"}]},
     400, "condition"),
    ("put", "555", {"forwarding": []}, 404, None),
])
def test_forwardingRefused(client, extensions, method, path, body, status,
                           field):
    """Bad rules answer 400 naming the field; unknown extensions 404."""
    url = f"{V1}/extensions/{path}/forwarding"
    kwargs = {} if body is None else {"body": body}
    reply = getattr(client, method)(url, **kwargs)
    assert reply.status == status
    assert reply.error()["field"] == field


def test_officeHours(client, store):
    """
    PUT replaces the schedule (and the zone when given); GET shows both;
    a bad interval is 400 naming the field.
    """
    assert client.get(f"{V1}/officehours").json() == {
        "timezone": "UTC", "intervals": []}
    reply = client.put(f"{V1}/officehours", {
        "timezone": "Europe/Paris",
        "intervals": [{"weekday": 4, "open": "08:00", "close": "12:00"},
                      {"weekday": 0, "open": "08:00", "close": "17:00"}]})
    assert reply.status == 200
    assert reply.json() == {"timezone": "Europe/Paris", "intervals": [
        {"weekday": 0, "open": "08:00", "close": "17:00"},
        {"weekday": 4, "open": "08:00", "close": "12:00"}]}
    for body, field in [
            ({"intervals": [{"weekday": 0, "open": "9", "close": "10:00"}]},
             "open"),
            ({"intervals": [1]}, "intervals"),
            ({}, "intervals"),
            ({"intervals": [], "timezone": "Nowhere"}, "timezone")]:
        reply = client.put(f"{V1}/officehours", body)
        assert (reply.status, reply.error()["field"]) == (400, field)


def test_holidays(client):
    """POST adds (201, Location), GET lists by date, DELETE removes."""
    reply = client.post(f"{V1}/holidays", {"date": "2026-12-25",
                                           "name": "Christmas"})
    assert reply.status == 201
    assert reply.header("location") == f"{V1}/holidays/2026-12-25"
    client.post(f"{V1}/holidays", {"date": "2026-01-01"})
    assert client.get(f"{V1}/holidays").json() == {"holidays": [
        {"date": "2026-01-01", "name": ""},
        {"date": "2026-12-25", "name": "Christmas"}]}
    assert client.delete(f"{V1}/holidays/2026-01-01").status == 204
    assert client.delete(f"{V1}/holidays/2026-01-01").status == 404
    reply = client.post(f"{V1}/holidays", {"date": "25/12/2026"})
    assert (reply.status, reply.error()["field"]) == (400, "date")


def test_dialCodes(client):
    """GET shows every code; PUT changes those given; bad codes are 400."""
    codes = client.get(f"{V1}/dialcodes").json()["dialCodes"]
    assert codes["pickup"] == "*8"
    reply = client.put(f"{V1}/dialcodes", {"park": "*55"})
    assert reply.json()["dialCodes"] == {**codes, "park": "*55"}
    for body, field in [({"park": 55}, "park"), ({"park": "*8"}, "park"),
                        ({"fax": "*3"}, "fax")]:
        reply = client.put(f"{V1}/dialcodes", body)
        assert (reply.status, reply.error()["field"]) == (400, field)


def test_callSettings(client):
    """GET shows the call settings; PATCH changes and validates them."""
    assert client.get(f"{V1}/callsettings").json() == {
        "externalCallUri": "", "timezone": "UTC"}
    reply = client.patch(f"{V1}/callsettings", {
        "externalCallUri": "sip:{number}@gw.example:5060"})
    assert reply.json()["externalCallUri"] == "sip:{number}@gw.example:5060"
    reply = client.patch(f"{V1}/callsettings", {"externalCallUri": "gw"})
    assert (reply.status, reply.error()["field"]) == (400, "externalCallUri")
    reply = client.patch(f"{V1}/callsettings", {"moh": "x"})
    assert (reply.status, reply.error()["field"]) == (400, "moh")


def test_newEndpointsNeedAuthentication(client):
    """The new endpoints sit behind the same admin authentication."""
    for path in ("ringgroups", "officehours", "holidays", "dialcodes",
                 "callsettings", "cdr", "recordings",
                 "extensions/100/forwarding"):
        assert client.get(f"{V1}/{path}", auth=None).status == 401
