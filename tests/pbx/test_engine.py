# -*- test-case-name: tests.pbx.test_engine -*-
"""
Tests for L{tpbx.pbx.engine.SIPEngine}: messages from a transport go
through the real L{TransactionLayer} to the transaction user, what the TU
answers goes out through the sender, and one DelayedCall follows the
layer's next deadline.  Fake time and a fake sender; every test ends with
no DelayedCall left.
"""

from __future__ import annotations

import pytest
from twisted.internet.task import Clock
from twisted.logger import capturedLogs
from zope.interface import implementer
from zope.interface.verify import verifyObject

from tests.sip.txnhelpers import TCP, UDP, makeRequest, respond
from tpbx.interfaces import IMessageSink, ITransactionUser
from tpbx.pbx.engine import SIPEngine
from tpbx.sip.layer import TransactionLayer
from tpbx.sip.message import Response
from tpbx.sip.reply import makeResponse
from tpbx.testing import FakeMessageSender

NOW = 1_700_000_000.0


@implementer(ITransactionUser)
class RecordingUser:
    """
    A TU that records every call and answers new requests with
    C{status} (none when L{None}).
    """

    def __init__(self, status: int | None = None):
        self.status = status
        self.engine: SIPEngine | None = None
        self.requests: list[tuple] = []
        self.responses: list[tuple] = []
        self.ended: list[tuple] = []
        self.sentBefore: list[list] = []

    def requestReceived(self, request, transaction):
        self.requests.append((request, transaction))
        self.sentBefore.append([m for m, _ in self.engine.sender.sent])
        if self.status is not None and transaction is not None:
            self.engine.sendResponse(transaction, respond(request, self.status))

    def responseReceived(self, response, transaction):
        self.responses.append((response, transaction))

    def transactionTerminated(self, transaction, reason):
        self.ended.append((transaction, reason))


class FailingUser(RecordingUser):
    """A TU with a bug: every request makes it raise."""

    def requestReceived(self, request, transaction):
        raise RuntimeError("bug in the TU")


def makeEngine(user: RecordingUser | None = None):
    """@return: C{(engine, clock, sender, user)} at L{NOW}."""
    clock = Clock()
    clock.advance(NOW)
    sender = FakeMessageSender()
    user = user if user is not None else RecordingUser()
    engine = SIPEngine(clock, TransactionLayer(), sender, user)
    user.engine = engine
    return engine, clock, sender, user


def statuses(sender) -> list[int]:
    return [m.status for m, _ in sender.sent if isinstance(m, Response)]


def assertOneTimer(engine, clock) -> None:
    """Exactly one DelayedCall, armed for the layer's next deadline."""
    assert [c.getTime() for c in clock.getDelayedCalls()] == [engine.layer.nextDeadline()]


def assertIdle(engine, clock) -> None:
    """Nothing left: no transaction, no DelayedCall."""
    assert len(engine.layer) == 0
    assert clock.getDelayedCalls() == []


def test_engineProvidesIMessageSink():
    """The engine is what transports deliver to."""
    engine, *_ = makeEngine()
    assert verifyObject(IMessageSink, engine)
    assert verifyObject(ITransactionUser, RecordingUser())


def test_nonInviteRequestAnsweredAndEnded():
    """
    Sec. 17.2.2: a new request reaches the TU with its transaction; the
    TU's final response goes out to the peer; a retransmission is answered
    again by the transaction alone; Timer J (32 s over UDP) ends it and
    the TU hears so.
    """
    engine, clock, sender, user = makeEngine(RecordingUser(200))
    request = makeRequest("OPTIONS")
    engine.messageReceived(request, UDP)
    [(seen, transaction)] = user.requests
    assert seen is request and transaction.peer == UDP
    assert [(m.status, p) for m, p in sender.sent] == [(200, UDP)]
    engine.messageReceived(makeRequest("OPTIONS"), UDP)
    assert statuses(sender) == [200, 200] and len(user.requests) == 1
    assertOneTimer(engine, clock)
    assert clock.getDelayedCalls()[0].getTime() == NOW + 32
    clock.advance(32)
    assert user.ended == [(transaction, "completed")]
    assertIdle(engine, clock)


def test_farDeadlinesFireTogether():
    """
    Deadlines a second or more away are put off to the next tenth of a
    second (by the layer, L{tpbx.sip.layer.GRID}), so that transactions
    ending close together (here Timer J of two OPTIONS 30 ms apart) are
    ended by one reactor timer, not one each.
    """
    engine, clock, sender, user = makeEngine(RecordingUser(200))
    clock.advance(0.52)
    engine.messageReceived(makeRequest("OPTIONS", branch="z9hG4bK-one"), UDP)
    clock.advance(0.03)
    engine.messageReceived(makeRequest("OPTIONS", branch="z9hG4bK-two"), UDP)
    assert engine.layer.nextDeadline() == NOW + 32.6
    assert [c.getTime() for c in clock.getDelayedCalls()] == [NOW + 32.6]
    clock.advance(32.6 - 0.55 - 0.001)
    assert user.ended == []
    clock.advance(0.001)
    assert len(user.ended) == 2
    assertIdle(engine, clock)


def test_inviteAnsweredAtOnceGetsNoTrying():
    """
    Sec. 17.2.1: no 100 Trying when the TU answers the INVITE at once (a
    final response within 200 ms makes it optional); the failure response
    is retransmitted (Timer G) until the ACK, and Timer I ends the
    transaction.
    """
    engine, clock, sender, user = makeEngine(RecordingUser(486))
    invite = makeRequest("INVITE")
    engine.messageReceived(invite, UDP)
    assert user.sentBefore == [[]]
    assert statuses(sender) == [486]
    clock.advance(0.5)
    assert statuses(sender) == [486, 486]
    ackRequest = makeRequest("ACK", toTag="b1")
    engine.messageReceived(ackRequest, UDP)
    clock.advance(1.0)
    assert statuses(sender) == [486, 486]
    assert len(user.requests) == 1
    clock.advance(5)
    assert [reason for _, reason in user.ended] == ["completed"]
    assertIdle(engine, clock)


def test_inviteTryingWhenTheTUTakesItsTime():
    """
    Sec. 17.2.1: an INVITE the TU does not answer gets 100 Trying within
    200 ms, from the engine's one timer; a retransmission of it gets the
    100 again; the TU's final response follows.
    """
    engine, clock, sender, user = makeEngine(RecordingUser())
    invite = makeRequest("INVITE")
    engine.messageReceived(invite, UDP)
    assert user.sentBefore == [[]] and statuses(sender) == []
    clock.advance(0.2)
    assert statuses(sender) == [100]
    engine.messageReceived(makeRequest("INVITE"), UDP)
    assert statuses(sender) == [100, 100] and len(user.requests) == 1
    [(_, transaction)] = user.requests
    engine.sendResponse(transaction, respond(invite, 486))
    engine.messageReceived(makeRequest("ACK", toTag="b1"), UDP)
    clock.advance(5)
    assert statuses(sender) == [100, 100, 486]
    assertIdle(engine, clock)


def test_tuFailureIsLoggedNotRaised():
    """
    A bug in the TU is logged, not raised into the transport, and the
    engine answers the request 500 itself, so the peer gets a precise error
    and the transaction ends on its timers instead of waiting for ever.
    """
    engine, clock, sender, user = makeEngine(FailingUser())
    invite = makeRequest("INVITE")
    with capturedLogs() as events:
        engine.messageReceived(invite, UDP)
    assert any(isinstance(e.get("log_failure") and e["log_failure"].value, RuntimeError)
               for e in events)
    engine.messageReceived(makeRequest("ACK", toTag="b1"), UDP)
    assert statuses(sender) == [500]
    clock.advance(5)
    assertIdle(engine, clock)


def test_sendStatelessBypassesTheLayer():
    """An ACK for a 2xx or a stray response goes straight to the sender."""
    engine, clock, sender, user = makeEngine()
    ackRequest = makeRequest("ACK")
    engine.sendStateless(ackRequest, UDP)
    assert sender.sent == [(ackRequest, UDP)]
    assertIdle(engine, clock)


@pytest.mark.parametrize("twice", [False, True])
def test_stopCancelsTheTimer(twice):
    """Service shutdown cancels the pending DelayedCall (idempotently)."""
    engine, clock, sender, user = makeEngine()
    engine.sendRequest(makeRequest("OPTIONS"), UDP)
    engine.stop()
    if twice:
        engine.stop()
    assert clock.getDelayedCalls() == []


def test_responseSentAfterTransactionEndedIsDropped():
    """A TU answering a transaction that already ended sends nothing."""
    engine, clock, sender, user = makeEngine()
    request = makeRequest("OPTIONS")
    engine.messageReceived(request, UDP)
    [(_, transaction)] = user.requests
    engine.abandon(transaction)
    engine.sendResponse(transaction, makeResponse(request, 200, toTag="x"))
    assert sender.sent == []
    assertIdle(engine, clock)

