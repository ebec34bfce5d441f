# -*- test-case-name: tests.web.test_api_misc -*-
"""
The REST API's index, registrations, and its answers to requests no route
takes or no route expected (wrong method, unknown path, a crash).
"""

import pytest
from twisted.logger import capturedLogs

from tests.web.conftest import Client
from tpbx.web.api import ApiApp
from tpbx.web.site import makeSite


def test_index(client):
    """GET /api/v1/ links to every collection, with absolute paths."""
    reply = client.get("/api/v1/")
    assert reply.status == 200
    assert reply.json() == {"links": {
        "extensions": "/api/v1/extensions",
        "registrations": "/api/v1/registrations",
        "blacklist": "/api/v1/blacklist",
        "whitelist": "/api/v1/whitelist",
        "ringGroups": "/api/v1/ringgroups",
        "officeHours": "/api/v1/officehours",
        "holidays": "/api/v1/holidays",
        "dialCodes": "/api/v1/dialcodes",
        "callSettings": "/api/v1/callsettings",
        "cdr": "/api/v1/cdr",
        "recordings": "/api/v1/recordings"}}


def test_indexWithoutSlashRedirects(client):
    """GET /api/v1 is a permanent redirect to /api/v1/, in JSON."""
    reply = client.get("/api/v1")
    assert reply.status == 308
    assert reply.header("location").endswith("/api/v1/")
    assert reply.error()["code"] == "moved"


def test_registrations(client, status):
    """GET /api/v1/registrations lists what the status source reports."""
    binding = {"extension": "101", "contact": "sip:101@192.0.2.5:5062",
               "transport": "udp", "source": "192.0.2.5:5062",
               "userAgent": "baresip", "expires": 3599}
    status.current = [binding]
    reply = client.get("/api/v1/registrations")
    assert reply.status == 200
    assert reply.json() == {"registrations": [binding]}


@pytest.mark.parametrize("method, path, allow", [
    ("DELETE", "/api/v1/extensions", "GET, HEAD, POST"),
    ("POST", "/api/v1/extensions/101", "DELETE, GET, HEAD, PATCH, PUT"),
    ("PUT", "/api/v1/registrations", "GET, HEAD"),
    ("PATCH", "/api/v1/blacklist", "DELETE, GET, HEAD, POST"),
    ("GET", "/api/v1/blacklist/10.0.0.1", "DELETE"),
])
def test_wrongMethod(client, method, path, allow):
    """A method a path does not take is a 405 listing the ones it does."""
    reply = client.request(method, path)
    assert reply.status == 405
    assert reply.header("allow") == allow
    assert reply.error()["code"] == "method-not-allowed"


@pytest.mark.parametrize("path", ["/api/", "/api/v2/extensions",
                                  "/api/v1/extensions/101/x",
                                  "/api/v1/extensions/"])
def test_unknownPath(client, path):
    """An unknown path under /api is a JSON 404."""
    reply = client.get(path)
    assert reply.status == 404
    assert reply.error()["code"] == "not-found"


def test_crashIsGeneric500(client, store):
    """
    An unexpected exception answers a generic JSON 500 -- no traceback, no
    exception text -- and is logged with its traceback.
    """
    def explode():
        raise RuntimeError("secret internals")
    store.listExtensions = explode
    with capturedLogs() as logged:
        reply = client.get("/api/v1/extensions")
    assert reply.status == 500
    assert reply.error() == {"code": "internal", "field": None,
                             "message": "internal error; see the server log"}
    assert b"secret" not in reply.body
    assert b"Traceback" not in reply.body
    failures = [e["log_failure"] for e in logged if "log_failure" in e]
    assert len(failures) == 1
    assert failures[0].check(RuntimeError)


def test_unserialisableStatusIs500(client, status):
    """A status value JSON cannot carry is a 500, not a broken body."""
    status.current = [{"extension": "101", "expires": object()}]
    reply = client.get("/api/v1/registrations")
    assert reply.status == 500
    assert reply.error()["code"] == "internal"


def test_resourcesAreIndependent(store, status, checker, clock):
    """
    Two apps built from the class share no state: each serves its own
    store (the Klein app is bound per instance, STYLE.md sec. 2).
    """
    otherStore = type(store)(clock)
    otherStore.createExtension({"number": "777"})
    first = Client(makeSite(ApiApp(store, status, checker, clock).resource(),
                            clock).resource)
    second = Client(makeSite(ApiApp(otherStore, status, checker,
                                    clock).resource(), clock).resource)
    assert first.get("/api/v1/extensions").json() == {"extensions": []}
    assert [e["number"] for e in second.get(
        "/api/v1/extensions").json()["extensions"]] == ["777"]
