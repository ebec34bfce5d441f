# -*- test-case-name: tests.web.test_auth -*-
"""
Administrator authentication of the web API: HTTP Basic on every request,
and the per-address lockout after repeated failures (SPEC I3).
"""

import base64

import pytest
from twisted.internet.task import Clock
from twisted.logger import capturedLogs
from twisted.web.test.requesthelper import DummyRequest

from tests.web.conftest import ADMIN, Client, basicHeader
from tpbx.web.api import ApiApp
from tpbx.web.auth import AdminAuthenticator, LoginThrottle, basicCredentials
from tpbx.web.site import makeSite

WRONG = ("admin", "guess")

EVERY_ENDPOINT = [
    ("GET", "/api/v1/"),
    ("GET", "/api/v1/extensions"),
    ("POST", "/api/v1/extensions"),
    ("GET", "/api/v1/extensions/101"),
    ("PATCH", "/api/v1/extensions/101"),
    ("PUT", "/api/v1/extensions/101"),
    ("DELETE", "/api/v1/extensions/101"),
    ("GET", "/api/v1/registrations"),
    ("GET", "/api/v1/blacklist"),
    ("POST", "/api/v1/whitelist"),
    ("DELETE", "/api/v1/blacklist/10.0.0.0%2F8"),
    ("DELETE", "/api/v1/whitelist?network=10.0.0.1"),
    ("GET", "/api/v1/no-such-thing"),
]


def _assertChallenge(reply):
    assert reply.status == 401
    assert reply.header("www-authenticate") == \
        'Basic realm="tpbx", charset="UTF-8"'
    assert reply.error()["code"] == "unauthorized"


@pytest.mark.parametrize("method, path", EVERY_ENDPOINT)
def test_everyEndpointNeedsCredentials(client, store, guard, method, path):
    """
    Without credentials every path under /api -- even an unknown one -- is
    a 401 with a Basic challenge; nothing is changed, and no failed login
    is counted (a client's first request often carries none).
    """
    reply = client.request(method, path, {"number": "101"}, auth=None)
    _assertChallenge(reply)
    assert store.extensions == {}
    assert guard.failures == []


@pytest.mark.parametrize("method, path", EVERY_ENDPOINT)
def test_everyEndpointRefusesWrongPassword(client, store, method, path):
    """A wrong password is a 401 on every path."""
    _assertChallenge(client.request(method, path, {"number": "101"},
                                    auth=WRONG))
    assert store.extensions == {}


@pytest.mark.parametrize("authorization", [
    b"Basic !!!notbase64",
    b"Basic " + base64.b64encode(b"no-colon-here"),
    b"Basic " + base64.b64encode(b"admin:\xff\xfe"),
    b"Bearer " + base64.b64encode(b"admin:s3cret-admin"),
    b"Basic",
])
def test_malformedCredentials(client, guard, authorization):
    """
    A malformed or non-Basic Authorization header is a 401; it is not
    counted as a failed login (it cannot be a password guess).
    """
    _assertChallenge(client.get("/api/v1/extensions",
                                headers={"Authorization": authorization}))
    assert guard.failures == []


def test_wrongUserName(client):
    """The right password under another user name is refused."""
    _assertChallenge(client.get("/api/v1/", auth=("root", ADMIN[1])))


def test_failuresReportedToGuard(client, guard, clock):
    """
    Each failed login is reported to the PBX-wide guard with the client
    address, the time and the user name tried.
    """
    client.get("/api/v1/", auth=("root", "x"))
    assert guard.failures == [("127.0.0.1", clock.seconds(), "root")]


def test_guardBlacklistedAddressForbidden(client, guard, checker):
    """
    An address the guard blacklists gets 403 even with the right
    password, which is not even checked.
    """
    guard.blocked.add("127.0.0.1")
    reply = client.get("/api/v1/")
    assert reply.status == 403
    assert reply.error()["code"] == "forbidden"
    assert checker.calls == 0


def test_lockoutAfterTenFailures(client, clock, checker):
    """
    Ten failures within 60 s lock the address out for 300 s: even the right
    password then gets 429 with Retry-After, without being checked; once
    the lockout ends, the right password works again.
    """
    for _ in range(9):
        _assertChallenge(client.get("/api/v1/", auth=WRONG))
        clock.advance(5)
    _assertChallenge(client.get("/api/v1/", auth=WRONG))
    calls = checker.calls
    reply = client.get("/api/v1/")
    assert reply.status == 429
    assert reply.header("retry-after") == "300"
    assert reply.error()["code"] == "locked-out"
    clock.advance(299.5)
    assert client.get("/api/v1/").header("retry-after") == "1"
    assert checker.calls == calls
    clock.advance(0.5)
    assert client.get("/api/v1/").status == 200


def test_slowFailuresDoNotLockOut(client, clock):
    """Failures spread wider than the window never lock out."""
    for _ in range(30):
        _assertChallenge(client.get("/api/v1/", auth=WRONG))
        clock.advance(7)
    assert client.get("/api/v1/").status == 200


def test_successForgetsFailures(client, clock):
    """A successful login clears the address's earlier failures."""
    for _ in range(9):
        client.get("/api/v1/", auth=WRONG)
    assert client.get("/api/v1/").status == 200
    for _ in range(9):
        client.get("/api/v1/", auth=WRONG)
    assert client.get("/api/v1/").status == 200


def test_verifiedPasswordRemembered(client, clock, checker):
    """
    A verified password is not checked again for 30 s (password hashes are
    slow on purpose); after that it is.  Wrong ones are always checked.
    """
    client.get("/api/v1/")
    clock.advance(29)
    client.get("/api/v1/extensions")
    assert checker.calls == 1
    clock.advance(1)
    assert client.get("/api/v1/").status == 200
    assert checker.calls == 2
    client.get("/api/v1/", auth=WRONG)
    client.get("/api/v1/", auth=WRONG)
    assert checker.calls == 4


def _request(user, password):
    request = DummyRequest([b""])
    request.requestHeaders.setRawHeaders(
        b"authorization", [basicHeader(user, password)])
    return request


def test_rememberedPasswordsBounded(clock):
    """
    At most eight verified passwords are remembered: a ninth makes the
    first be checked again.
    """
    checked = []
    authenticator = AdminAuthenticator(
        lambda user, password: checked.append(password) or True, clock)
    for i in range(8):
        authenticator.authenticate(_request("admin", f"pw{i}"))
    authenticator.authenticate(_request("admin", "pw0"))
    assert len(checked) == 8
    authenticator.authenticate(_request("admin", "pw8"))
    authenticator.authenticate(_request("admin", "pw0"))
    assert checked[-2:] == ["pw8", "pw0"]


def test_checkerCrashIs500(store, status, clock):
    """
    A password checker that raises answers a generic JSON 500 and the
    exception goes to the log only.
    """
    def broken(user, password):
        raise RuntimeError("db gone")
    api = ApiApp(store, status, broken, clock)
    client = Client(makeSite(api.resource(), clock).resource)
    with capturedLogs() as logged:
        reply = client.get("/api/v1/")
    assert reply.status == 500
    assert reply.error()["code"] == "internal"
    assert b"db gone" not in reply.body
    assert [e["log_failure"].check(RuntimeError) for e in logged
            if "log_failure" in e] == [RuntimeError]


def test_basicCredentialsUTF8AndColons():
    """
    Basic credentials are UTF-8, and only the first colon separates the
    user from the password (RFC 7617 sec. 2).
    """
    request = _request("admin", "pä:ss:wörd")
    assert basicCredentials(request) == ("admin", "pä:ss:wörd")
    request.requestHeaders.setRawHeaders(
        b"authorization", [b"bAsIc " + base64.b64encode(b"a:b")])
    assert basicCredentials(request) == ("a", "b")


def test_throttleCountsPerAddress():
    """One address's failures never lock out another."""
    clock = Clock()
    throttle = LoginThrottle(clock, maxFailures=3, window=10, lockout=20)
    assert [throttle.failed("192.0.2.1") for _ in range(3)] == \
        [False, False, True]
    assert throttle.lockedFor("192.0.2.1") == 20
    assert throttle.lockedFor("192.0.2.2") == 0
    assert throttle.failed("192.0.2.2") is False
    clock.advance(20)
    assert throttle.lockedFor("192.0.2.1") == 0


def test_throttleWindowSlides():
    """Only failures within the last C{window} seconds count."""
    clock = Clock()
    throttle = LoginThrottle(clock, maxFailures=3, window=10, lockout=20)
    throttle.failed("h")
    clock.advance(6)
    throttle.failed("h")
    clock.advance(4)
    assert throttle.failed("h") is False
    assert throttle.failed("h") is True


def test_throttleMemoryBounded():
    """
    Addresses whose failures left the window are swept once too many are
    tracked, so a spray from many addresses cannot grow memory forever.
    """
    clock = Clock()
    throttle = LoginThrottle(clock, maxFailures=2, window=10, lockout=5,
                             maxTracked=100)
    for i in range(100):
        throttle.failed(f"a{i}")
        throttle.failed(f"a{i}")
    for i in range(100):
        throttle.failed(f"b{i}")
    assert throttle.tracked() == 200
    clock.advance(11)
    throttle.failed("c")
    assert throttle.tracked() == 1


def test_throttleConfigurable(store, status, checker, clock):
    """The composition root can set the lockout limits."""
    throttle = LoginThrottle(clock, maxFailures=2, window=10, lockout=42)
    api = ApiApp(store, status, checker, clock, throttle=throttle)
    client = Client(makeSite(api.resource(), clock).resource)
    client.get("/api/v1/", auth=WRONG)
    client.get("/api/v1/", auth=WRONG)
    reply = client.get("/api/v1/")
    assert (reply.status, reply.header("retry-after")) == (429, "42")
