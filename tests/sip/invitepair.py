# -*- test-case-name: tests.sip.test_invite -*-
"""
A caller and one or more callees, each a L{TransactionLayer} with one
L{InviteSession}, joined by a fake network that delays every message by
10 ms and carries it as bytes through the parser.  Time is explicit: the
pair runs every timer and delivery in order up to a given instant.

The callees stand for forks behind a proxy: the caller's requests reach
each callee, and a callee ignores in-dialog requests for another's tag.
Proxies are simulated by C{recordRoute}: the Record-Route values stamped
on the initial INVITE as it arrives.
"""

from __future__ import annotations

import heapq
import random

from tpbx.sip.dialog import newRequest
from tpbx.sip.invite import (
    Event, InviteSession, SendAck, SendRequest, SendResponse,
)
from tpbx.sip.layer import (
    RequestReceived, ResponseReceived, SendMessage, TransactionLayer,
    TransactionTerminated,
)
from tpbx.sip.message import Request
from tpbx.sip.parser import parseMessage
from tpbx.sip.peer import Peer
from tpbx.sip.address import parseNameAddr

__all__ = ["Side", "Pair", "SDP", "OFFER", "ANSWER"]

SDP = "application/sdp"
OFFER = b"v=0\r\no=offer\r\n"
ANSWER = b"v=0\r\no=answer\r\n"
PEER = Peer("udp", "192.0.2.1", 5060)
DELAY = 0.010


class Side:
    """One user agent: its layer, its session, what it heard."""

    def __init__(self, pair, name: str, policy=None, seed=1):
        self.pair = pair
        self.name = name
        self.layer = TransactionLayer(pair.timers)
        self.session: InviteSession | None = None
        self.policy = policy
        self.rng = random.Random(seed)
        self.events: list[Event] = []
        self.received: list = []
        self.via = f"SIP/2.0/UDP {name}.example.net:5060"
        self.contact = f"sip:{name}@{name}.example.net"
        self.drop = lambda message: False

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def reasons(self) -> list[str]:
        return [e.reason for e in self.events if e.kind == "terminated"]

    def do(self, actions) -> None:
        """Carry out session actions at the pair's current time."""
        now = self.pair.now
        for action in actions:
            if isinstance(action, SendRequest):
                _, out = self.layer.sendRequest(action.request, PEER, now)
                self.layerActions(out)
            elif isinstance(action, SendAck):
                self.layerActions(self.layer.sendRequest(action.ack, PEER, now)[1])
            elif isinstance(action, SendResponse):
                if action.transaction is None:
                    self.pair.transmit(self, action.response)
                else:
                    self.layerActions(self.layer.sendResponse(
                        action.transaction, action.response, now))
            else:
                self.events.append(action)

    def layerActions(self, actions) -> None:
        now = self.pair.now
        for action in actions:
            if isinstance(action, SendMessage):
                self.pair.transmit(self, action.message)
            elif isinstance(action, RequestReceived):
                self.requestReceived(action.request, action.transaction)
            elif isinstance(action, ResponseReceived):
                self.received.append(action.response)
                if self.session is not None:
                    self.do(self.session.receiveResponse(action.response, now))
            elif isinstance(action, TransactionTerminated):
                if self.session is not None and action.transaction.request:
                    self.do(self.session.transactionEnded(
                        action.transaction.request, action.reason, now))

    def requestReceived(self, request: Request, transaction) -> None:
        now = self.pair.now
        self.received.append(request)
        session = self.session
        toTag = parseNameAddr(request.headers.get("To")).tag
        if request.method == "INVITE" and toTag is None:
            self.session = InviteSession.incoming(
                request, transaction, self.pair.tagFor(self), self.contact,
                self.via, timers=self.pair.timers, policy=self.policy,
                rng=self.rng)
            self.do(self.session.start(now))
        elif request.method == "CANCEL":
            self.do(session.receiveCancel(request, transaction, now))
        else:
            self.do(session.receiveRequest(request, transaction, now))

    def accepts(self, message) -> bool:
        """Whether an in-dialog request is for this side's dialog."""
        if self.drop(message):
            return False
        if not isinstance(message, Request) or self.session is None:
            return True
        tag = parseNameAddr(message.headers.get("To")).tag
        return tag is None or tag == self.session.dialog.localTag

    def deadline(self):
        times = [self.layer.nextDeadline()]
        if self.session is not None:
            times.append(self.session.nextDeadline())
        return min((t for t in times if t is not None), default=None)

    def fire(self) -> None:
        now = self.pair.now
        self.layerActions(self.layer.handleTimers(now))
        if self.session is not None:
            self.do(self.session.handleTimers(now))


class Pair:
    """
    A caller C{a} and callees C{b} (and C{bs} when forked).

    @ivar now: the current time of the run.
    """

    def __init__(self, timers, callees: int = 1, recordRoute=(),
                 policyA=None, policyB=None):
        self.timers = timers
        self.now = 0.0
        self.recordRoute = list(recordRoute)
        self.a = Side(self, "alice", policyA, seed=7)
        self.bs = [Side(self, f"bob{i}" if i else "bob", policyB, seed=11 + i)
                   for i in range(callees)]
        self.b = self.bs[0]
        self.inflight: list = []
        self.sequence = 0
        self.log: list = []

    def tagFor(self, side: Side) -> str:
        return f"tag-{side.name}"

    def call(self, body=OFFER, extraHeaders=()):
        """Start the caller's INVITE (with an offer unless C{body} is empty)."""
        invite = newRequest(
            "INVITE", "sip:bob@example.net", "Alice <sip:alice@example.net>",
            "Bob <sip:bob@example.net>", self.a.contact, self.a.via,
            callId="call-1", body=body, contentType=SDP if body else None,
            extraHeaders=extraHeaders)
        self.a.session = InviteSession.outgoing(
            invite, self.a.via, timers=self.timers, policy=self.a.policy,
            rng=self.a.rng)
        self.a.do(self.a.session.start(self.now))
        return invite

    def transmit(self, side: Side, message) -> None:
        targets = self.bs if side is self.a else [self.a]
        for target in targets:
            self.sequence += 1
            heapq.heappush(self.inflight, (self.now + DELAY, self.sequence,
                                           target, side, message.toBytes()))

    def run(self, until: float = float("inf")) -> None:
        """Deliver messages and fire timers in time order up to C{until}
        (then the clock stands at C{until}), or until nothing is left."""
        while True:
            times = [s.deadline() for s in [self.a] + self.bs]
            times = [t for t in times if t is not None]
            if self.inflight:
                times.append(self.inflight[0][0])
            if not times or min(times) > until:
                if until != float("inf"):
                    self.now = until
                return
            self.now = max(self.now, min(times))
            while self.inflight and self.inflight[0][0] <= self.now:
                _, _, target, source, data = heapq.heappop(self.inflight)
                self.deliver(target, source, parseMessage(data))
            for side in [self.a] + self.bs:
                side.fire()

    def deliver(self, target: Side, source: Side, message) -> None:
        if not target.accepts(message):
            return
        self.log.append((self.now, source.name, message))
        if isinstance(message, Request):
            if (message.method == "INVITE" and target is not self.a
                    and target.session is None):
                for route in self.recordRoute:
                    message.headers.add("Record-Route", route)
            target.layerActions(target.layer.receiveRequest(message, PEER, self.now))
        else:
            target.layerActions(target.layer.receiveResponse(message, PEER, self.now))

    def sent(self, source: str, method_or_status) -> list:
        """@return: the times C{source} had a message of that kind delivered."""
        return [t for t, name, m in self.log if name == source and (
            getattr(m, "method", None) == method_or_status
            or getattr(m, "status", None) == method_or_status)]

    def idle(self) -> bool:
        """No transaction, no session deadline, nothing in flight."""
        return not self.inflight and all(
            len(s.layer) == 0 and s.deadline() is None for s in [self.a] + self.bs)
