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


def test_inviteTryingBeforeTheTU():
    """
    Sec. 17.2.1: the 100 Trying leaves before the TU sees the INVITE; a
    failure response is retransmitted (Timer G) until the ACK, and Timer I
    ends the transaction.
    """
    engine, clock, sender, user = makeEngine(RecordingUser(486))
    invite = makeRequest("INVITE")
    engine.messageReceived(invite, UDP)
    assert [m.status for m in user.sentBefore[0]] == [100]
    assert statuses(sender) == [100, 486]
    clock.advance(0.5)
    assert statuses(sender) == [100, 486, 486]
    ackRequest = makeRequest("ACK", toTag="b1")
    engine.messageReceived(ackRequest, UDP)
    clock.advance(1.0)
    assert statuses(sender) == [100, 486, 486]
    assert len(user.requests) == 1
    clock.advance(5)
    assert [reason for _, reason in user.ended] == ["completed"]
    assertIdle(engine, clock)


def test_oneTimerFollowsTheEarliestDeadline():
    """
    However many transactions are live, the engine keeps one DelayedCall,
    moved earlier when a sooner deadline appears and re-armed for the next
    one each time it fires.
    """
    engine, clock, sender, user = makeEngine(RecordingUser(200))
    engine.messageReceived(makeRequest("OPTIONS", branch="z9hG4bKsrv"), UDP)
    assert clock.getDelayedCalls()[0].getTime() == NOW + 32      # Timer J
    engine.sendRequest(makeRequest("OPTIONS", branch="z9hG4bKcli"), UDP)
    assertOneTimer(engine, clock)
    assert clock.getDelayedCalls()[0].getTime() == NOW + 0.5     # Timer E
    for _ in range(40):
        clock.advance(1)
        if engine.layer.nextDeadline() is not None:
            assertOneTimer(engine, clock)
    assertIdle(engine, clock)


def test_clientTransactionRetransmitsAndDelivers():
    """
    Sec. 17.1.2: a request the TU starts is sent and retransmitted on
    Timer E until a response; the response reaches the TU with its
    transaction, and Timer K (5 s over UDP) ends it.
    """
    engine, clock, sender, user = makeEngine()
    request = makeRequest("OPTIONS")
    transaction = engine.sendRequest(request, UDP)
    assert sender.sent == [(request, UDP)]
    clock.advance(0.5)
    assert sender.sent == [(request, UDP)] * 2
    response = respond(request, 200)
    engine.messageReceived(response, UDP)
    assert user.responses == [(response, transaction)]
    clock.advance(5)
    assert user.ended == [(transaction, "completed")]
    assertIdle(engine, clock)


def test_clientTransactionTimesOut():
    """
    Sec. 17.1.2.2: with no response, Timer E retransmits at 0.5, 1.5, 3.5,
    7.5 s and then every T2 (4 s), and Timer F (64*T1) ends it: "timeout".
    """
    engine, clock, sender, user = makeEngine()
    transaction = engine.sendRequest(makeRequest("OPTIONS"), UDP)
    clock.pump([0.5] * 63)
    assert user.ended == []
    clock.advance(0.5)
    assert user.ended == [(transaction, "timeout")]
    assert len(sender.sent) == 11
    assertIdle(engine, clock)


def test_transportErrorEndsThatPeersTransactions():
    """
    Sec. 17.1.4 / 17.2.4: a transport error to a peer ends the
    transactions bound to it, with "transport-error"; others go on.
    """
    engine, clock, sender, user = makeEngine()
    toTcp = engine.sendRequest(makeRequest("OPTIONS", branch="z9hG4bKa", transport="TCP"), TCP)
    toUdp = engine.sendRequest(makeRequest("OPTIONS", branch="z9hG4bKb"), UDP)
    engine.transportError(TCP, "connection refused")
    assert user.ended == [(toTcp, "transport-error")]
    clock.advance(32)
    assert user.ended[1:] == [(toUdp, "timeout")]
    assertIdle(engine, clock)


def test_abandonEndsServerTransactionSilently():
    """
    A request the TU chooses not to answer (a blacklisted source) is
    forgotten at once: nothing is sent, no transaction or timer is kept.
    """
    engine, clock, sender, user = makeEngine()
    engine.messageReceived(makeRequest("OPTIONS"), UDP)
    [(_, transaction)] = user.requests
    engine.abandon(transaction)
    assert sender.sent == []
    assert user.ended == [(transaction, "transport-error")]
    assertIdle(engine, clock)


def test_strayMessagesGoToTheTUWithoutTransaction():
    """
    Sec. 17.1.3 / 17.2.3: a response matching no client transaction and
    an ACK matching no server transaction reach the TU with L{None}.
    """
    engine, clock, sender, user = makeEngine()
    response = respond(makeRequest("INVITE"), 200)
    engine.messageReceived(response, UDP)
    ackRequest = makeRequest("ACK", toTag="b1")
    engine.messageReceived(ackRequest, UDP)
    assert user.responses == [(response, None)]
    assert user.requests == [(ackRequest, None)]
    assertIdle(engine, clock)


def test_unmatchableRequestAnsweredStatelessly():
    """
    A request the layer cannot match (no Via) is answered 400 statelessly
    rather than raising into the transport; an ACK or a response that
    cannot be matched is dropped.
    """
    engine, clock, sender, user = makeEngine()
    request = makeRequest("OPTIONS")
    request.headers.remove("Via")
    engine.messageReceived(request, UDP)
    [(answer, peer)] = sender.sent
    assert (answer.status, answer.reason, peer) == (400, "Missing Via", UDP)
    ackRequest = makeRequest("ACK")
    ackRequest.headers.remove("Via")
    response = respond(makeRequest("OPTIONS"), 200)
    response.headers.remove("Via")
    engine.messageReceived(ackRequest, UDP)
    engine.messageReceived(response, UDP)
    assert len(sender.sent) == 1 and user.requests == user.responses == []
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
    assert statuses(sender) == [100, 500]
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

