# -*- test-case-name: tests.web.test_api_status -*-
"""
The REST API's live counts, C{GET /api/v1/status}: what a leak check after
calls reads (calls, legs, transactions, timers, relay sessions and ports).
"""

COUNTS = {"calls": 1, "legs": 2, "transactions": 0, "timers": 2, "relaySessions": 1,
          "relayPorts": {"inUse": 2, "internal": {"size": 250, "free": 248, "inUse": 2, "bad": 0},
                         "external": {"size": 25, "free": 25, "inUse": 0, "bad": 0}}}


def test_statusShowsCounts(client, status):
    """GET /api/v1/status answers the status source's counts as they are."""
    status.currentCounts = COUNTS
    reply = client.get("/api/v1/status")
    assert reply.status == 200
    assert reply.json() == COUNTS


def test_statusIsReadOnly(client):
    """The status is read-only: other methods get 405 naming GET and HEAD."""
    reply = client.post("/api/v1/status", {})
    assert reply.status == 405
    assert reply.header("allow") == "GET, HEAD"
