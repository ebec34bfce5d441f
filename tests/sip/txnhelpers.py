# -*- test-case-name: tests.sip.test_layer -*-
"""
Builders for the transaction tests: requests and responses written out
header by header, peers, and small readers of action lists, so each test
states only what it is about.
"""

from __future__ import annotations

from tpbx.sip.headers import Headers
from tpbx.sip.message import Request, Response
from tpbx.sip.peer import Peer
from tpbx.sip.reply import makeResponse
from tpbx.sip.transaction import (
    RequestReceived, ResponseReceived, SendMessage, TransactionTerminated,
)

__all__ = ["UDP", "TCP", "BRANCH", "makeRequest", "respond", "sent",
           "delivered", "terminated", "runTimers"]

UDP = Peer("udp", "192.0.2.10", 5070)
TCP = Peer("tcp", "192.0.2.10", 5070, flow=7)
BRANCH = "z9hG4bKtest1"


def makeRequest(method: str = "INVITE", branch: str = BRANCH,
                transport: str = "UDP", cseq: int = 1,
                cseqMethod: str | None = None, toTag: str | None = None,
                routes: tuple[str, ...] = (), sentBy: str = "198.51.100.1:5072",
                uri: str = "sip:bob@example.com") -> Request:
    """
    @return: a request with every header sec. 8.1.1 requires, and Route
        lines when C{routes} is given.
    """
    via = f"SIP/2.0/{transport} {sentBy};branch={branch}"
    to = "Bob <sip:bob@example.com>" + (f";tag={toTag}" if toTag else "")
    fields = [("Via", via), ("Via", "SIP/2.0/UDP 203.0.113.9;branch=z9hG4bKx")]
    fields += [("Route", route) for route in routes]
    fields += [("Max-Forwards", "70"),
               ("From", "Alice <sip:alice@example.com>;tag=a1"), ("To", to),
               ("Call-ID", "call-1@example.com"),
               ("CSeq", f"{cseq} {cseqMethod or method}")]
    return Request(method, uri, Headers(fields))


def respond(request: Request, status: int, toTag: str = "b1") -> Response:
    """@return: a response to C{request}, with a To tag unless 100."""
    return makeResponse(request, status, toTag=None if status == 100 else toTag)


def sent(actions: list) -> list:
    """@return: the messages of the L{SendMessage} actions."""
    return [a.message for a in actions if isinstance(a, SendMessage)]


def delivered(actions: list) -> list:
    """@return: the (message, transaction) pairs handed to the TU."""
    return [(a.request, a.transaction) if isinstance(a, RequestReceived)
            else (a.response, a.transaction) for a in actions
            if isinstance(a, (RequestReceived, ResponseReceived))]


def terminated(actions: list) -> list:
    """@return: the (transaction, reason) of L{TransactionTerminated} ones."""
    return [(a.transaction, a.reason) for a in actions
            if isinstance(a, TransactionTerminated)]


def runTimers(layer, until: float) -> list:
    """
    Fire the layer's timers one deadline at a time, up to C{until}.

    @return: C{(now, actions)} for every deadline that had actions (the
        start of a far timers' bucket is a deadline with none).
    """
    fired = []
    deadline = layer.nextDeadline()
    while deadline is not None and deadline <= until:
        actions = layer.handleTimers(deadline)
        if actions:
            fired.append((deadline, actions))
        deadline = layer.nextDeadline()
    return fired
