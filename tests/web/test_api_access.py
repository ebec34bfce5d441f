# -*- test-case-name: tests.web.test_api_access -*-
"""
The access-list endpoints of the REST API: /api/v1/blacklist and
/api/v1/whitelist (SPEC I3, manual blacklist/whitelist).
"""

import pytest

from tpbx.model import AccessEntry

KINDS = ["blacklist", "whitelist"]


@pytest.mark.parametrize("kind", KINDS)
def test_listEmpty(client, kind):
    """An empty list is keyed by its kind."""
    reply = client.get(f"/api/v1/{kind}")
    assert reply.status == 200
    assert reply.json() == {kind: []}


@pytest.mark.parametrize("kind", KINDS)
def test_addPermanent(client, store, kind):
    """
    POST adds an entry: 201, a Location to delete it at, the entry shown;
    it then appears in the list and only in that list.
    """
    reply = client.post(f"/api/v1/{kind}", {"network": "10.0.0.0/8",
                                            "reason": "office"})
    assert reply.status == 201
    assert reply.header("location") == f"/api/v1/{kind}/10.0.0.0/8"
    entry = {"network": "10.0.0.0/8", "until": None, "reason": "office"}
    assert reply.json() == entry
    assert client.get(f"/api/v1/{kind}").json() == {kind: [entry]}
    other, = set(KINDS) - {kind}
    assert client.get(f"/api/v1/{other}").json() == {other: []}
    assert store.access[kind]["10.0.0.0/8"] == AccessEntry(
        "10.0.0.0/8", None, "office")


def test_addWithDurationExpires(client, clock):
    """
    C{duration} is seconds from now (the injected clock); once it has
    passed, the entry is no longer listed.
    """
    now = clock.seconds()
    reply = client.post("/api/v1/blacklist", {"network": "192.0.2.7",
                                              "duration": 3600})
    assert reply.status == 201
    assert reply.json()["until"] == now + 3600
    clock.advance(3599)
    assert len(client.get("/api/v1/blacklist").json()["blacklist"]) == 1
    clock.advance(1)
    assert client.get("/api/v1/blacklist").json() == {"blacklist": []}


def test_addWithUntil(client, clock):
    """C{until} is kept as given, in epoch seconds."""
    until = clock.seconds() + 60.5
    reply = client.post("/api/v1/blacklist", {"network": "2001:db8::/32",
                                              "until": until})
    assert reply.status == 201
    assert reply.json()["until"] == until


@pytest.mark.parametrize("body, field, message", [
    ({}, "network", "is required"),
    ({"reason": "x"}, "network", "is required"),
    ({"network": 10}, "network", "must be a string"),
    ({"network": "10.0.0.1", "until": "soon"}, "until",
     "must be a number or null"),
    ({"network": "10.0.0.1", "until": True}, "until",
     "must be a number or null"),
    ({"network": "10.0.0.1", "duration": None}, "duration",
     "must be a number"),
    ({"network": "10.0.0.1", "duration": 0}, "duration", "must be positive"),
    ({"network": "10.0.0.1", "duration": 5, "until": None}, "duration",
     "give until or duration, not both"),
    ({"network": "10.0.0.1", "until": 1}, "until", "is in the past"),
    ({"network": "10.0.0.1", "owner": "me"}, "owner", "unknown field"),
    ({"network": "not-an-address"}, "network",
     "is not an address or network"),
])
def test_addRejects(client, store, body, field, message):
    """Bad entries are refused with a 400 naming the field."""
    reply = client.post("/api/v1/blacklist", body)
    assert reply.status == 400
    assert reply.error() == {"code": "validation", "field": field,
                             "message": message}
    assert store.access["blacklist"] == {}


def test_addRejectsNonJSON(client):
    """A form body is a 415."""
    reply = client.post("/api/v1/whitelist", raw=b"network=10.0.0.1",
                        headers={"Content-Type":
                                 "application/x-www-form-urlencoded"})
    assert reply.status == 415


@pytest.mark.parametrize("path", [
    "/api/v1/blacklist/10.0.0.0%2F8",
    "/api/v1/blacklist/10.0.0.0%2f8",
    "/api/v1/blacklist/10.0.0.0/8",
    "/api/v1/blacklist?network=10.0.0.0%2F8",
    "/api/v1/blacklist?network=10.0.0.0/8",
])
def test_deleteNetworkWithSlash(client, store, path):
    """
    A network's C{/} may be URL-encoded, sent raw, or the network given as
    the C{network} query parameter: all answer 204 and remove it.
    """
    store.access["blacklist"]["10.0.0.0/8"] = AccessEntry("10.0.0.0/8")
    reply = client.delete(path)
    assert reply.status == 204
    assert reply.body == b""
    assert store.access["blacklist"] == {}


def test_deleteAddress(client, store):
    """A single IPv6 address (colons and all) is deleted by its text."""
    store.access["whitelist"]["2001:db8::1"] = AccessEntry("2001:db8::1")
    assert client.delete("/api/v1/whitelist/2001:db8::1").status == 204
    assert store.access["whitelist"] == {}


@pytest.mark.parametrize("path", ["/api/v1/blacklist/10.9.9.9",
                                  "/api/v1/whitelist?network=10.9.9.9"])
def test_deleteMissing(client, path):
    """Deleting a network not on the list is a 404."""
    reply = client.delete(path)
    assert reply.status == 404
    assert reply.error()["code"] == "not-found"


@pytest.mark.parametrize("query", ["", "?network=a&network=b", "?net=x",
                                   "?network=%FF"])
def test_deleteByQueryNeedsOneNetwork(client, query):
    """The query form needs exactly one UTF-8 network parameter."""
    reply = client.delete(f"/api/v1/blacklist{query}")
    assert reply.status == 400
    assert reply.error()["field"] == "network"


def test_unknownKind(client):
    """Only blacklist and whitelist exist."""
    assert client.get("/api/v1/greylist").status == 404
    assert client.post("/api/v1/greylist",
                       {"network": "10.0.0.1"}).status == 404
