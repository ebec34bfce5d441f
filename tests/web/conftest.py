# -*- test-case-name: tests.web -*-
"""
Fixtures for the web tests: the API wired to fakes and a fake clock, and an
HTTP client that drives the whole site in memory (treq's StubTreq: real
HTTP parsing, no ports).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import pytest
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.web.http_headers import Headers
from treq.testing import StubTreq

from tests.web.fakes import FakeStatusSource, MemoryConfigStore
from tpbx.testing import FakeAccessGuard
from tpbx.web.api import ApiApp
from tpbx.web.site import makeSite

ADMIN = ("admin", "s3cret-admin")
BASE = "http://pbx.test"


def basicHeader(user: str, password: str) -> bytes:
    """@return: an C{Authorization} value for HTTP Basic."""
    token = base64.b64encode(f"{user}:{password}".encode("utf-8"))
    return b"Basic " + token


def synchronousResult(deferred):
    """
    @return: the result a Deferred already has.
    @raise: its failure's exception, or AssertionError if it has none yet.
    """
    results = []
    deferred.addBoth(results.append)
    assert results, "the Deferred has not fired"
    if isinstance(results[0], Failure):
        results[0].raiseException()
    return results[0]


@dataclass
class Reply:
    """One HTTP response, fully read."""

    status: int
    headers: Headers
    body: bytes

    def header(self, name: str) -> str | None:
        """@return: the single value of header C{name}, or None."""
        values = self.headers.getRawHeaders(name)
        return None if values is None else values[0]

    def json(self):
        """@return: the decoded body, after checking it is JSON."""
        assert self.header("content-type") == "application/json; charset=utf-8"
        return json.loads(self.body)

    def error(self) -> dict:
        """@return: the C{error} member of a JSON error body."""
        return self.json()["error"]


class Client:
    """
    Sends requests to a root resource in memory and reads the replies.
    """

    def __init__(self, resource):
        self._treq = StubTreq(resource)

    def request(self, method: str, path: str, body=None, *, auth=ADMIN,
                headers=None, raw: bytes | None = None) -> Reply:
        """
        @param body: a value to send as JSON, or None.
        @param auth: C{(user, password)} for Basic, or None to send none.
        @param headers: extra request headers (name -> value).
        @param raw: a body to send as is, instead of C{body}.
        """
        sent = dict(headers or {})
        if auth is not None:
            sent.setdefault("Authorization", basicHeader(*auth))
        data = raw
        if body is not None:
            sent.setdefault("Content-Type", "application/json")
            data = json.dumps(body).encode("utf-8")
        d = self._treq.request(method, BASE + path, headers=sent, data=data,
                               allow_redirects=False)
        self._treq.flush()
        response = synchronousResult(d)
        content = self._treq.content(response)
        self._treq.flush()
        return Reply(response.code, response.headers,
                     synchronousResult(content))

    def get(self, path: str, **kw) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, body=None, **kw) -> Reply:
        return self.request("POST", path, body, **kw)

    def patch(self, path: str, body=None, **kw) -> Reply:
        return self.request("PATCH", path, body, **kw)

    def put(self, path: str, body=None, **kw) -> Reply:
        return self.request("PUT", path, body, **kw)

    def delete(self, path: str, **kw) -> Reply:
        return self.request("DELETE", path, **kw)


class PasswordChecker:
    """The admin check the lead wires in, counting its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, user: str, password: str) -> bool:
        self.calls += 1
        return (user, password) == ADMIN


@pytest.fixture
def clock() -> Clock:
    clock = Clock()
    clock.advance(1_700_000_000)
    return clock


@pytest.fixture
def store(clock) -> MemoryConfigStore:
    return MemoryConfigStore(clock)


@pytest.fixture
def status() -> FakeStatusSource:
    return FakeStatusSource()


@pytest.fixture
def guard() -> FakeAccessGuard:
    return FakeAccessGuard()


@pytest.fixture
def checker() -> PasswordChecker:
    return PasswordChecker()


@pytest.fixture
def api(store, status, checker, clock, guard) -> ApiApp:
    return ApiApp(store, status, checker, clock, guard=guard)


@pytest.fixture
def client(api, clock) -> Client:
    yield Client(makeSite(api.resource(), clock).resource)
    assert clock.getDelayedCalls() == []
