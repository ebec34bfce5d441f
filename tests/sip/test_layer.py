# -*- test-case-name: tests.sip.test_layer -*-
"""
Tests for L{tpbx.sip.layer}: matching (RFC 3261 sec. 17.1.3, 17.2.3), the
timers as seen through C{handleTimers}/C{nextDeadline} with explicit C{now}
values, and a client layer joined to a server layer over a lossy network.
Every scenario ends with both layers empty: no transaction, no deadline.
"""

import gc
import heapq
import random

import pytest

from tpbx.errors import ProtocolError
from tpbx.sip.headers import Headers
from tpbx.sip.layer import (
    RequestReceived, ResponseReceived, SendMessage, TransactionLayer,
    TransactionTerminated,
)
from tpbx.sip.message import Request
from tpbx.sip.parser import parseMessage
from tpbx.sip.peer import Peer
from tpbx.sip.transaction import (
    ClientInvite, ServerInvite, ServerNonInvite, State,
)

from tests.sip.txnhelpers import (
    TCP, UDP, delivered, makeRequest, respond, runTimers, sent, terminated,
)


def assertEmpty(*layers):
    """Each layer holds no transaction and no deadline."""
    for layer in layers:
        assert len(layer) == 0
        assert layer.counts() == {"client": 0, "server": 0, "timers": 0}
        assert layer.nextDeadline() is None


# Client side

def test_inviteRetransmitsOverUDP():
    """An INVITE over UDP is re-sent at 0.5, 1.5, 3.5, 7.5, 15.5 and 31.5 s,
    and Timer B ends it at 32 s with a timeout."""
    layer = TransactionLayer()
    invite = makeRequest("INVITE")
    txn, actions = layer.sendRequest(invite, UDP, 0.0)
    assert actions == [SendMessage(invite, UDP)]
    assert layer.nextDeadline() == 0.5
    fired = runTimers(layer, 100.0)
    assert [now for now, actions in fired if sent(actions) == [invite]] == [
        0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert fired[-1] == (32.0, [TransactionTerminated(txn, "timeout")])
    assertEmpty(layer)


def test_inviteOverTCP():
    """Over TCP the INVITE is never re-sent; Timer B still ends it."""
    layer = TransactionLayer()
    txn, _ = layer.sendRequest(makeRequest("INVITE", transport="TCP"), TCP, 0.0)
    assert runTimers(layer, 100.0) == [
        (32.0, [TransactionTerminated(txn, "timeout")])]
    assertEmpty(layer)


def test_nonInviteTimers():
    """A non-INVITE over UDP is re-sent with Timer E doubling to T2 and
    staying there, then Timer F ends it at 32 s."""
    layer = TransactionLayer()
    options = makeRequest("OPTIONS")
    txn, _ = layer.sendRequest(options, UDP, 0.0)
    fired = runTimers(layer, 100.0)
    times = [now for now, actions in fired if sent(actions)]
    assert times[:6] == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5]
    assert all(b - a == 4.0 for a, b in zip(times[3:], times[4:]))
    assert fired[-1] == (32.0, [TransactionTerminated(txn, "timeout")])
    assertEmpty(layer)


def test_nonInviteProceedingGoesToT2():
    """After a provisional response, the next Timer E interval is T2."""
    layer = TransactionLayer()
    options = makeRequest("OPTIONS")
    txn, _ = layer.sendRequest(options, UDP, 0.0)
    layer.receiveResponse(respond(options, 100), UDP, 0.1)
    assert txn.state is State.PROCEEDING
    fired = runTimers(layer, 9.0)
    assert [now for now, _ in fired] == [0.5, 4.5, 8.5]
    layer.receiveResponse(respond(options, 200), UDP, 9.0)
    assert runTimers(layer, 100.0) == [
        (14.0, [TransactionTerminated(txn, "completed")])]
    assertEmpty(layer)


def test_inviteRejected():
    """A 486 is delivered once and ACKed; its retransmission re-sends the
    ACK only; Timer D ends the transaction 32 s later."""
    layer = TransactionLayer()
    invite = makeRequest("INVITE")
    txn, _ = layer.sendRequest(invite, UDP, 0.0)
    ringing, busy = respond(invite, 180), respond(invite, 486)
    assert layer.receiveResponse(ringing, UDP, 0.2) == [
        ResponseReceived(ringing, txn)]
    actions = layer.receiveResponse(busy, UDP, 3.0)
    assert actions == [SendMessage(txn.ack, UDP), ResponseReceived(busy, txn)]
    assert layer.receiveResponse(busy, UDP, 4.0) == [SendMessage(txn.ack, UDP)]
    assert runTimers(layer, 100.0) == [
        (35.0, [TransactionTerminated(txn, "completed")])]
    assertEmpty(layer)


def test_inviteAccepted():
    """A 2xx ends the INVITE transaction; its retransmissions reach the TU
    as strays, and the TU's ACK goes out with no transaction."""
    layer = TransactionLayer()
    invite = makeRequest("INVITE")
    txn, _ = layer.sendRequest(invite, UDP, 0.0)
    ok = respond(invite, 200)
    assert layer.receiveResponse(ok, UDP, 0.3) == [
        ResponseReceived(ok, txn), TransactionTerminated(txn, "completed")]
    assertEmpty(layer)
    assert layer.receiveResponse(ok, UDP, 0.8) == [ResponseReceived(ok, None)]
    ack = makeRequest("ACK", branch="z9hG4bKack")
    assert layer.sendRequest(ack, UDP, 0.9) == (None, [SendMessage(ack, UDP)])
    assertEmpty(layer)


def test_responseMatching():
    """Responses match on top Via branch and CSeq method; anything else is
    a stray for the TU (sec. 17.1.3)."""
    layer = TransactionLayer()
    invite = makeRequest("INVITE")
    txn, _ = layer.sendRequest(invite, UDP, 0.0)
    other = respond(makeRequest("INVITE", branch="z9hG4bKother"), 180)
    wrongMethod = respond(makeRequest("CANCEL"), 200)
    for response in (other, wrongMethod):
        assert layer.receiveResponse(response, UDP, 0.1) == [
            ResponseReceived(response, None)]
    assert txn.state is State.CALLING


def test_clientRequestRules():
    """A client request needs a z9hG4bK branch that no live client
    transaction uses."""
    layer = TransactionLayer()
    with pytest.raises(ProtocolError):
        layer.sendRequest(makeRequest("OPTIONS", branch="old"), UDP, 0.0)
    layer.sendRequest(makeRequest("OPTIONS"), UDP, 0.0)
    with pytest.raises(ProtocolError):
        layer.sendRequest(makeRequest("OPTIONS"), UDP, 0.0)


def test_cancelRules():
    """A CANCEL needs the INVITE with its branch (481 otherwise) and a
    provisional response first (sec. 9.1); then it is its own non-INVITE
    transaction, and the INVITE gets its 487 and ACKs it."""
    layer = TransactionLayer()
    cancel = makeRequest("CANCEL")
    with pytest.raises(ProtocolError) as error:
        layer.sendRequest(cancel, UDP, 0.0)
    assert error.value.statusHint == 481
    invite = makeRequest("INVITE")
    inviteTxn, _ = layer.sendRequest(invite, UDP, 0.0)
    with pytest.raises(ProtocolError):
        layer.sendRequest(cancel, UDP, 0.1)
    layer.receiveResponse(respond(invite, 180), UDP, 0.2)
    cancelTxn, actions = layer.sendRequest(cancel, UDP, 1.0)
    assert actions == [SendMessage(cancel, UDP)]
    layer.receiveResponse(respond(cancel, 200), UDP, 1.1)
    terminatedTxn = respond(invite, 487)
    assert sent(layer.receiveResponse(terminatedTxn, UDP, 1.2)) == [inviteTxn.ack]
    fired = runTimers(layer, 100.0)
    assert [x for _, actions in fired for x in terminated(actions)] == [
        (cancelTxn, "completed"), (inviteTxn, "completed")]
    assertEmpty(layer)


def test_cancelUnanswered():
    """With no final response 64*T1 after the CANCEL, the INVITE
    transaction ends with a timeout (sec. 9.1), so nothing leaks."""
    layer = TransactionLayer()
    invite, cancel = makeRequest("INVITE"), makeRequest("CANCEL")
    inviteTxn, _ = layer.sendRequest(invite, UDP, 0.0)
    layer.receiveResponse(respond(invite, 180), UDP, 0.2)
    cancelTxn, _ = layer.sendRequest(cancel, UDP, 10.0)
    fired = runTimers(layer, 100.0)
    now, actions = fired[-1]
    assert now == 42.0
    assert set(terminated(actions)) == {(cancelTxn, "timeout"),
                                        (inviteTxn, "timeout")}
    assertEmpty(layer)


# Server side

def test_serverInviteRejected():
    """A new INVITE reaches the TU, nothing sent yet; a retransmission
    before the TU answered gets 100 Trying at once, later ones the latest
    provisional; a 486 is re-sent on Timer G until the ACK, which is
    absorbed; Timer I then ends it."""
    layer = TransactionLayer()
    invite = makeRequest("INVITE")
    [action] = layer.receiveRequest(invite, UDP, 0.0)
    txn = action.transaction
    assert action == RequestReceived(invite, txn)
    [trying] = sent(layer.receiveRequest(invite, UDP, 0.05))
    assert (trying.status, trying.cseq) == (100, (1, "INVITE"))
    assert layer.receiveRequest(invite, UDP, 0.1) == [SendMessage(trying, UDP)]
    ringing, busy = respond(invite, 180), respond(invite, 486)
    layer.sendResponse(txn, ringing, 1.0)
    assert layer.receiveRequest(invite, UDP, 1.1) == [SendMessage(ringing, UDP)]
    assert layer.sendResponse(txn, busy, 2.0) == [SendMessage(busy, UDP)]
    fired = runTimers(layer, 9.6)
    assert [(now, sent(a)) for now, a in fired] == [
        (2.5, [busy]), (3.5, [busy]), (5.5, [busy]), (9.5, [busy])]
    assert layer.receiveRequest(makeRequest("ACK"), UDP, 10.0) == []
    assert txn.state is State.CONFIRMED
    assert layer.receiveRequest(makeRequest("ACK"), UDP, 10.5) == []
    assert runTimers(layer, 100.0) == [
        (15.0, [TransactionTerminated(txn, "completed")])]
    assertEmpty(layer)


def test_serverInviteTryingWhenTheTUIsSlow():
    """An INVITE the TU leaves unanswered gets 100 Trying from its
    transaction within 200 ms (sec. 17.2.1, Figure 7), on a tenth-of-a-
    second grid so that INVITEs of the same tenth share one timer; one
    the TU answers before never gets a 100."""
    layer = TransactionLayer()
    slow, quick = makeRequest("INVITE"), makeRequest("INVITE", branch="z9hG4bKquick")
    slowTxn = layer.receiveRequest(slow, UDP, 10.03)[0].transaction
    quickTxn = layer.receiveRequest(quick, UDP, 10.08)[0].transaction
    ringing = respond(quick, 180)
    assert layer.sendResponse(quickTxn, ringing, 10.09) == [SendMessage(ringing, UDP)]
    [(at, actions)] = runTimers(layer, 11.0)
    assert 10.03 + 0.1 <= at <= 10.03 + 0.2
    [trying] = sent(actions)
    assert (trying.status, trying.cseq) == (100, (1, "INVITE"))
    assert slowTxn.lastResponse is trying and quickTxn.lastResponse is ringing
    assert layer.receiveRequest(quick, UDP, 10.5) == [SendMessage(ringing, UDP)]


def test_forgottenServerTransactionFiresNothing():
    """
    Sec. 8.2.7: a request its TU answered statelessly leaves nothing.
    The forgotten INVITE's transaction sends no 100 Trying and ends with
    no L{TransactionTerminated}; a retransmission of its request is a new
    request to the TU, and forgetting again is harmless.
    """
    layer = TransactionLayer()
    invite = makeRequest("INVITE")
    [received] = layer.receiveRequest(invite, UDP, 10.0)
    layer.forget(received.transaction)
    layer.forget(received.transaction)
    assert runTimers(layer, 100.0) == []
    assertEmpty(layer)
    [again] = layer.receiveRequest(invite, UDP, 100.5)
    assert again == RequestReceived(invite, again.transaction)
    assert again.transaction is not received.transaction


def test_serverInviteNoAck():
    """Without an ACK, Timer G re-sends up to T2 apart and Timer H ends
    the transaction with a timeout 64*T1 after the final."""
    layer = TransactionLayer()
    invite = makeRequest("INVITE")
    txn = layer.receiveRequest(invite, UDP, 0.0)[0].transaction
    layer.sendResponse(txn, respond(invite, 500), 0.0)
    fired = runTimers(layer, 100.0)
    times = [now for now, a in fired if sent(a)]
    assert times[:4] == [0.5, 1.5, 3.5, 7.5]
    assert all(b - a == 4.0 for a, b in zip(times[3:], times[4:]))
    assert fired[-1] == (32.0, [TransactionTerminated(txn, "timeout")])
    assertEmpty(layer)


def test_serverInviteAccepted():
    """A 2xx ends the server INVITE transaction; the ACK for it matches
    nothing and reaches the TU with no transaction."""
    layer = TransactionLayer()
    invite = makeRequest("INVITE")
    txn = layer.receiveRequest(invite, UDP, 0.0)[0].transaction
    ok = respond(invite, 200)
    assert layer.sendResponse(txn, ok, 1.0) == [
        SendMessage(ok, UDP), TransactionTerminated(txn, "completed")]
    assertEmpty(layer)
    ack = makeRequest("ACK", branch="z9hG4bKnewack", toTag="b1")
    assert layer.receiveRequest(ack, UDP, 1.1) == [RequestReceived(ack, None)]
    assert layer.sendResponse(txn, ok, 1.5) == []


def test_serverInviteOverTCP():
    """Over TCP the final is never re-sent and the ACK ends the
    transaction at once (Timer I is zero)."""
    layer = TransactionLayer()
    invite = makeRequest("INVITE", transport="TCP")
    txn = layer.receiveRequest(invite, TCP, 0.0)[0].transaction
    layer.sendResponse(txn, respond(invite, 486), 0.5)
    assert layer.nextDeadline() == 32.5
    ack = makeRequest("ACK", transport="TCP")
    assert layer.receiveRequest(ack, TCP, 1.0) == [
        TransactionTerminated(txn, "completed")]
    assertEmpty(layer)


def test_serverNonInvite():
    """A non-INVITE reaches the TU with no automatic 100; retransmissions
    get the final once sent; Timer J ends it 64*T1 later."""
    layer = TransactionLayer()
    register = makeRequest("REGISTER")
    [action] = layer.receiveRequest(register, UDP, 0.0)
    txn = action.transaction
    assert isinstance(txn, ServerNonInvite)
    assert layer.receiveRequest(register, UDP, 0.4) == []
    ok = respond(register, 200)
    layer.sendResponse(txn, ok, 0.5)
    assert layer.receiveRequest(register, UDP, 1.0) == [SendMessage(ok, UDP)]
    assert runTimers(layer, 100.0) == [
        (32.5, [TransactionTerminated(txn, "completed")])]
    assertEmpty(layer)


def test_transactionsShareTheLayersScheduleCallback():
    """Every transaction of a layer, client or server, holds the same
    schedule callback: a bound method made per transaction would be one
    more object each keeps for its Timer J or K."""
    layer = TransactionLayer()
    [received] = layer.receiveRequest(makeRequest("BYE"), UDP, 0.0)
    sent, _ = layer.sendRequest(makeRequest("OPTIONS", branch="z9hG4bKother"), UDP, 0.0)
    assert received.transaction._schedule is sent._schedule


def test_serverMatchingUsesSentBy():
    """Server matching is branch, sent-by and method: the same branch from
    another sent-by, or with another method, is another transaction."""
    layer = TransactionLayer()
    layer.receiveRequest(makeRequest("OPTIONS"), UDP, 0.0)
    other = makeRequest("OPTIONS", sentBy="198.51.100.2:5072")
    assert isinstance(layer.receiveRequest(other, UDP, 0.1)[0], RequestReceived)
    assert isinstance(layer.receiveRequest(makeRequest("INVITE"), UDP, 0.2)[0], RequestReceived)
    assert layer.counts()["server"] == 3


def test_cancelMatching():
    """A CANCEL is its own server transaction and finds the INVITE it
    cancels by the same key with method INVITE (sec. 9.2)."""
    layer = TransactionLayer()
    invite = makeRequest("INVITE")
    inviteTxn = layer.receiveRequest(invite, UDP, 0.0)[0].transaction
    cancel = makeRequest("CANCEL")
    [received] = layer.receiveRequest(cancel, UDP, 1.0)
    assert received.request is cancel
    assert isinstance(received.transaction, ServerNonInvite)
    assert layer.findServerTransaction(cancel) is inviteTxn
    stranger = makeRequest("CANCEL", branch="z9hG4bKnone")
    assert layer.findServerTransaction(stranger) is None


def test_rfc2543Matching():
    """Without the magic cookie, requests match on Request-URI, tags,
    Call-ID, CSeq and top Via; the ACK carrying the response's To tag
    matches its INVITE."""
    layer = TransactionLayer()
    invite = makeRequest("INVITE", branch="1234")
    txn = layer.receiveRequest(invite, UDP, 0.0)[0].transaction
    assert sent(layer.receiveRequest(invite, UDP, 0.5))
    layer.sendResponse(txn, respond(invite, 404, toTag="t9"), 1.0)
    later = makeRequest("INVITE", branch="1234", cseq=2)
    assert isinstance(layer.receiveRequest(later, UDP, 1.1)[0], RequestReceived)
    ack = makeRequest("ACK", branch="1234", toTag="t9")
    assert layer.receiveRequest(ack, UDP, 1.2) == []
    assert txn.state is State.CONFIRMED
    cancel = makeRequest("CANCEL", branch="1234", cseq=2)
    layer.receiveRequest(cancel, UDP, 1.3)
    assert layer.findServerTransaction(cancel).request is later


def test_badRequests():
    """A request or response with no usable Via is a 400 ProtocolError."""
    layer = TransactionLayer()
    request = makeRequest("OPTIONS")
    request.headers.remove("Via")
    with pytest.raises(ProtocolError) as error:
        layer.receiveRequest(request, UDP, 0.0)
    assert error.value.statusHint == 400
    response = respond(makeRequest("OPTIONS"), 200)
    response.headers.set("Via", "garbage")
    with pytest.raises(ProtocolError):
        layer.receiveResponse(response, UDP, 0.0)
    assertEmpty(layer)


# Both sides

def test_transportError():
    """A transport error ends the transactions bound to that peer with
    "transport-error" and removes them."""
    layer = TransactionLayer()
    clientTxn, _ = layer.sendRequest(makeRequest("INVITE"), TCP, 0.0)
    serverTxn = layer.receiveRequest(makeRequest("OPTIONS"), TCP, 0.0)[0]
    serverTxn = serverTxn.transaction
    other = Peer("tcp", "192.0.2.99", 5070)
    layer.sendRequest(makeRequest("OPTIONS", branch="z9hG4bKo"), other, 0.0)
    found = layer.transactionsFor(TCP)
    assert set(found) == {clientTxn, serverTxn}
    actions = [a for t in found for a in layer.transportError(t, 1.0)]
    assert terminated(actions) == [(clientTxn, "transport-error"),
                                   (serverTxn, "transport-error")]
    assert layer.transportError(clientTxn, 1.0) == []
    assert layer.counts() == {"client": 1, "server": 0, "timers": 1}


def test_lateTimers():
    """A late C{handleTimers} fires every due timer in one call, and later
    timers count from that C{now}."""
    layer = TransactionLayer()
    invite = makeRequest("INVITE")
    layer.sendRequest(invite, UDP, 0.0)
    assert sent(layer.handleTimers(10.0)) == [invite]
    assert layer.nextDeadline() == 11.0


def test_staleDeadlinesCompacted():
    """Thousands of finished transactions leave no deadline behind: the
    heap and the far deadlines' slots drop cancelled entries without
    firing anything (a slot's entry would keep its transaction's key)."""
    layer = TransactionLayer()
    for i in range(3000):
        invite = makeRequest("INVITE", branch=f"z9hG4bK{i}", transport="UDP")
        layer.sendRequest(invite, UDP, 0.0)
        layer.receiveResponse(respond(invite, 180), UDP, 0.1)
    for i in range(3000):
        layer.receiveResponse(respond(makeRequest("INVITE", branch=f"z9hG4bK{i}"), 200), UDP, 0.2)
    assert len(layer._heap) <= 2048
    assert sum(len(timers) // 3 for timers in layer._slots.values()) <= 2048
    assert layer.handleTimers(100.0) == []
    assertEmpty(layer)


def test_farDeadlinesShareOneSlot():
    """
    Far deadlines (here Timer B, 32 s) wait in the slot of their tenth of a
    second, one heap entry for all of them; cancelled ones never enter the
    heap, and live ones fire together at the slot's time.
    """
    layer = TransactionLayer()
    invites = [makeRequest("INVITE", branch=f"z9hG4bK{i}", transport="TCP") for i in range(100)]
    txns = [layer.sendRequest(invite, TCP, 0.01 * (1 + i % 5))[0] for i, invite in enumerate(invites)]
    assert len(layer._heap) == 1
    for invite in invites[50:]:
        layer.receiveResponse(respond(invite, 200), TCP, 1.0)
    assert layer.nextDeadline() == 32.1
    assert layer.handleTimers(32.09) == []
    assert layer.handleTimers(32.1) == [TransactionTerminated(t, "timeout") for t in txns[:50]]
    assertEmpty(layer)


def test_idleLayerDropsStaleSlots():
    """
    When every transaction has ended, the slots of their cancelled far
    deadlines are dropped at once: the engine's timer is not kept armed for
    nothing.
    """
    layer = TransactionLayer()
    invite = makeRequest("INVITE", transport="TCP")
    layer.sendRequest(invite, TCP, 0.0)
    layer.receiveResponse(respond(invite, 200), TCP, 0.1)
    assert layer.nextDeadline() is None
    assert layer._heap == [] and layer._slots == {}


def test_endedTransactionFreedAtOnce():
    """
    A transaction that ended (here by its 2xx) is freed at once, with its
    request: the cancelled Timer B left in the heap for 32 s does not keep
    it, or a busy server would hold every INVITE of the last 32 s.
    """
    layer = TransactionLayer()
    invite = makeRequest("INVITE")
    layer.sendRequest(invite, UDP, 0.0)
    layer.receiveResponse(respond(invite, 200), UDP, 0.1)
    gc.collect()
    assert not [o for o in gc.get_objects() if isinstance(o, ClientInvite)]
    assert layer.handleTimers(100.0) == []
    assertEmpty(layer)


# A client layer and a server layer over a fake lossy network

CLIENT = Peer("udp", "192.0.2.10", 5070)  # the client, seen by the server
SERVER = Peer("udp", "192.0.2.20", 5080)  # the server, seen by the client


class Pair:
    """
    Two layers joined by a network that delays every message by 10-20 ms
    and drops or duplicates it as C{fate(message)} says (its number of
    copies); the server's TU answers INVITE with 180 then C{status} and
    anything else with 200.  Messages cross as bytes through the parser.
    """

    def __init__(self, fate, status=486):
        self.layers = {"client": TransactionLayer(), "server": TransactionLayer()}
        self.fate = fate
        self.status = status
        self.inflight = []
        self.sequence = 0
        self.tu = {"client": [], "server": []}
        self.ended = {"client": [], "server": []}

    def send(self, request):
        txn, actions = self.layers["client"].sendRequest(request, SERVER, 0.0)
        self.process("client", actions, 0.0)
        return txn

    def process(self, side, actions, now):
        for action in actions:
            if isinstance(action, SendMessage):
                self.transmit(side, action.message, now)
            elif isinstance(action, TransactionTerminated):
                self.ended[side].append((action.transaction, action.reason))
            else:
                self.tu[side].append(delivered([action])[0])
                if side == "server" and action.transaction is not None:
                    self.answer(action.request, action.transaction, now)

    def answer(self, request, txn, now):
        layer = self.layers["server"]
        if request.method == "INVITE":
            self.process("server", layer.sendResponse(
                txn, respond(request, 180), now), now)
        final = respond(request, self.status if request.method == "INVITE"
                        else 200)
        self.process("server", layer.sendResponse(txn, final, now), now)

    def transmit(self, side, message, now):
        target = "server" if side == "client" else "client"
        for _ in range(self.fate(message)):
            self.sequence += 1
            delay = 0.010 + 0.001 * (self.sequence % 10)
            heapq.heappush(self.inflight, (now + delay, self.sequence, target,
                                           message.toBytes()))

    def run(self):
        while True:
            times = [t for t in (layer.nextDeadline()
                                 for layer in self.layers.values())
                     if t is not None]
            if self.inflight:
                times.append(self.inflight[0][0])
            if not times:
                return
            now = min(times)
            while self.inflight and self.inflight[0][0] <= now:
                _, _, side, data = heapq.heappop(self.inflight)
                self.deliver(side, parseMessage(data), now)
            for side, layer in self.layers.items():
                self.process(side, layer.handleTimers(now), now)

    def deliver(self, side, message, now):
        layer = self.layers[side]
        if isinstance(message, Request):
            actions = layer.receiveRequest(message, CLIENT, now)
        else:
            actions = layer.receiveResponse(message, SERVER, now)
        self.process(side, actions, now)


def lossy(seed, loss=0.3, duplicate=0.2):
    """@return: a fate that drops C{loss} and duplicates C{duplicate} of
    the messages, reproducibly."""
    rng = random.Random(seed)
    return lambda message: (rng.random() >= loss) + (rng.random() < duplicate)


def test_pairLossless():
    """Without loss an OPTIONS exchange completes, each side's TU hears of
    each message exactly once, and both layers end empty."""
    pair = Pair(lambda message: 1)
    options = makeRequest("OPTIONS")
    txn = pair.send(options)
    pair.run()
    [(request, _)] = pair.tu["server"]
    assert request.cseq == (1, "OPTIONS")
    [(response, responseTxn)] = pair.tu["client"]
    assert (response.status, responseTxn) == (200, txn)
    assert pair.ended["client"] == [(txn, "completed")]
    assertEmpty(*pair.layers.values())


def test_pairDropsFirstInvite():
    """The first INVITE is lost: Timer A re-sends it at 0.5 s, the call is
    rejected, ACKed within the transaction, and both sides complete."""
    drops = {"INVITE": 1}

    def fate(message):
        key = getattr(message, "method", None)
        if drops.get(key):
            drops[key] -= 1
            return 0
        return 1

    pair = Pair(fate)
    txn = pair.send(makeRequest("INVITE"))
    pair.run()
    # The TU rings at once: no 100 Trying (sec. 17.2.1).
    assert [r.status for r, _ in pair.tu["client"]] == [180, 486]
    assert pair.ended["client"] == [(txn, "completed")]
    assert [reason for _, reason in pair.ended["server"]] == ["completed"]
    assertEmpty(*pair.layers.values())


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("method", ["OPTIONS", "INVITE"])
def test_pairLossy(seed, method):
    """With 30% loss and 20% duplication a request/response exchange still
    completes: the request reaches the server TU once, the final response
    reaches the client TU once, and both layers end empty."""
    pair = Pair(lossy(seed))
    txn = pair.send(makeRequest(method))
    pair.run()
    assert len([tx for _, tx in pair.tu["server"] if tx is not None]) == 1
    finals = [r for r, tx in pair.tu["client"] if r.status >= 200]
    assert [r.status for r in finals] == [486 if method == "INVITE" else 200]
    assert pair.ended["client"] == [(txn, "completed")]
    assertEmpty(*pair.layers.values())


def test_pairInviteAccepted():
    """An accepted INVITE ends both transactions on the 2xx; the client
    TU's ACK travels outside any transaction and reaches the server TU
    with none."""
    pair = Pair(lambda message: 1, status=200)
    invite = makeRequest("INVITE")
    pair.send(invite)
    pair.run()
    [(ok, _)] = [(r, t) for r, t in pair.tu["client"] if r.status == 200]
    fields = [("Via", "SIP/2.0/UDP 198.51.100.1:5072;branch=z9hG4bKack2"),
              ("Max-Forwards", "70"), ("From", invite.headers.get("From")),
              ("To", ok.headers.get("To")), ("Call-ID", invite.callId),
              ("CSeq", "1 ACK")]
    ack = Request("ACK", invite.uri, Headers(fields))
    txn, actions = pair.layers["client"].sendRequest(ack, SERVER, 1.0)
    assert txn is None
    pair.process("client", actions, 1.0)
    pair.run()
    assert pair.tu["server"][-1][1] is None
    assert pair.tu["server"][-1][0].method == "ACK"
    assertEmpty(*pair.layers.values())


def test_serverInviteKind():
    """The layer files INVITEs as ServerInvite and client INVITEs as
    ClientInvite."""
    layer = TransactionLayer()
    assert isinstance(layer.receiveRequest(makeRequest("INVITE"), UDP, 0.0)[0]
                      .transaction, ServerInvite)
    txn, _ = layer.sendRequest(makeRequest("INVITE"), UDP, 0.0)
    assert isinstance(txn, ClientInvite)


def test_slotCompactionKeepsLiveTimers():
    """
    Compacting the slots (here forced by thousands of cancelled Timers B)
    keeps every timer still wanted: the unanswered INVITEs all time out.
    """
    layer = TransactionLayer()
    waiting = [layer.sendRequest(makeRequest("INVITE", branch=f"z9hG4bKw{i}", transport="TCP"),
                                 TCP, 0.0)[0] for i in range(50)]
    for i in range(3000):
        invite = makeRequest("INVITE", branch=f"z9hG4bK{i}", transport="TCP")
        layer.sendRequest(invite, TCP, 0.0)
        layer.receiveResponse(respond(invite, 200), TCP, 0.1)
    assert sum(len(timers) // 3 for timers in layer._slots.values()) <= 2048
    assert runTimers(layer, 100.0) == [(32.0, [TransactionTerminated(t, "timeout") for t in waiting])]
    assertEmpty(layer)
