# -*- test-case-name: tests.sip.test_transaction -*-
"""
Tests for L{tpbx.sip.transaction}: each RFC 3261 sec. 17 state machine
driven transition by transition with explicit C{now} values, and the tables
walked pair by pair.
"""

import pytest
from hypothesis import given, strategies as st

from tpbx.errors import ProtocolError
from tpbx.sip.message import Response
from tpbx.sip.timers import TimerConfig
from tpbx.sip.transaction import (
    ClientInvite, ClientNonInvite, Input, RequestReceived, ResponseReceived,
    SendMessage, ServerInvite, ServerNonInvite, State, TransactionTerminated,
)

from tests.sip.txnhelpers import (
    TCP, UDP, delivered, makeRequest, respond, sent, terminated,
)

MACHINES = [ClientInvite, ClientNonInvite, ServerInvite, ServerNonInvite]


def make(kind, peer=UDP, request=None, now=0.0):
    """
    Build and start a transaction of C{kind}.

    @return: C{(transaction, actions of start)}.
    """
    if request is None:
        invite = kind in (ClientInvite, ServerInvite)
        request = makeRequest("INVITE" if invite else "OPTIONS")
    txn = kind(("key",), request, peer, TimerConfig())
    return txn, txn.start(now)


def fire(txn, name):
    """Fire the pending timer C{name} at its own deadline."""
    at = txn.deadlines[name]
    return txn.timerFired(name, at, at)


def timers(txn):
    """@return: the pending timers as a sorted list of (name, time)."""
    return sorted(txn.deadlines.items())


# Client INVITE (sec. 17.1.1)

def test_clientInviteStart():
    """Over UDP the INVITE is sent and Timers A (T1) and B (64*T1) start."""
    txn, actions = make(ClientInvite, now=10.0)
    assert actions == [SendMessage(txn.request, UDP)]
    assert txn.state is State.CALLING
    assert timers(txn) == [("A", 10.5), ("B", 42.0)]


def test_clientInviteTimerADoublesWithoutCap():
    """Timer A retransmits and doubles past T2, with no cap (17.1.1.2)."""
    txn, _ = make(ClientInvite)
    times = []
    for _ in range(5):
        actions = fire(txn, "A")
        assert sent(actions) == [txn.request]
        times.append(dict(txn.deadlines)["A"])
    assert times == [1.5, 3.5, 7.5, 15.5, 31.5]


def test_clientInviteTimerB():
    """Timer B in Calling ends the transaction with a timeout."""
    txn, _ = make(ClientInvite)
    actions = fire(txn, "B")
    assert actions == [TransactionTerminated(txn, "timeout")]
    assert txn.state is State.TERMINATED and not txn.deadlines


def test_clientInviteOverTCPHasNoTimerA():
    """Over a reliable transport only Timer B runs (17.1.1.2)."""
    txn, _ = make(ClientInvite, peer=TCP)
    assert timers(txn) == [("B", 32.0)]


def test_clientInviteProvisional():
    """A 1xx moves Calling to Proceeding, stops A and B, reaches the TU;
    later 1xx reach the TU too."""
    txn, _ = make(ClientInvite)
    ringing = respond(txn.request, 180)
    assert txn.receive(ringing, 1.0) == [ResponseReceived(ringing, txn)]
    assert txn.state is State.PROCEEDING and not txn.deadlines
    progress = respond(txn.request, 183)
    assert delivered(txn.receive(progress, 2.0)) == [(progress, txn)]
    assert txn.state is State.PROCEEDING


@pytest.mark.parametrize("first", [None, 180])
def test_clientInviteSuccess(first):
    """A 2xx in Calling or Proceeding reaches the TU and ends the
    transaction (plain RFC 3261: the ACK for a 2xx is the TU's)."""
    txn, _ = make(ClientInvite)
    if first:
        txn.receive(respond(txn.request, first), 0.1)
    ok = respond(txn.request, 200)
    actions = txn.receive(ok, 0.2)
    assert actions == [ResponseReceived(ok, txn),
                       TransactionTerminated(txn, "completed")]
    assert not txn.deadlines


@pytest.mark.parametrize("first", [None, 180])
def test_clientInviteFailure(first):
    """A 300-699 in Calling or Proceeding is ACKed, reaches the TU and
    starts Timer D (32 s over UDP) in Completed."""
    txn, _ = make(ClientInvite)
    if first:
        txn.receive(respond(txn.request, first), 0.1)
    busy = respond(txn.request, 486)
    actions = txn.receive(busy, 1.0)
    assert actions == [SendMessage(txn.ack, UDP), ResponseReceived(busy, txn)]
    assert txn.state is State.COMPLETED
    assert timers(txn) == [("D", 33.0)]


def test_clientInviteCompletedAbsorbs():
    """In Completed a retransmitted final re-sends the ACK and is not
    delivered; a 1xx is dropped; a 2xx goes to the TU as stray."""
    txn, _ = make(ClientInvite)
    busy = respond(txn.request, 486)
    txn.receive(busy, 1.0)
    assert txn.receive(busy, 2.0) == [SendMessage(txn.ack, UDP)]
    assert txn.receive(respond(txn.request, 180), 2.0) == []
    ok = respond(txn.request, 200)
    assert txn.receive(ok, 2.0) == [ResponseReceived(ok, None)]
    assert txn.state is State.COMPLETED


def test_clientInviteTimerD():
    """Timer D ends a Completed transaction normally."""
    txn, _ = make(ClientInvite)
    txn.receive(respond(txn.request, 486), 1.0)
    assert fire(txn, "D") == [TransactionTerminated(txn, "completed")]


def test_clientInviteFailureOverTCP():
    """Over TCP Timer D is zero: the ACK is sent and the transaction ends
    in the same step."""
    txn, _ = make(ClientInvite, peer=TCP,
                  request=makeRequest("INVITE", transport="TCP"))
    busy = respond(txn.request, 603)
    actions = txn.receive(busy, 1.0)
    assert actions == [SendMessage(txn.ack, TCP), ResponseReceived(busy, txn),
                       TransactionTerminated(txn, "completed")]


def test_ackForNonSuccess():
    """The ACK copies the INVITE's Request-URI, Call-ID, From, CSeq number,
    top Via only and Route headers, and takes To from the response
    (sec. 17.1.1.3)."""
    routes = ("<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>")
    txn, _ = make(ClientInvite, request=makeRequest("INVITE", cseq=7,
                                                    routes=routes))
    txn.receive(respond(txn.request, 404, toTag="xyz"), 1.0)
    ack = txn.ack
    assert (ack.method, ack.uri) == ("ACK", txn.request.uri)
    assert ack.headers.getAll("Via") == [txn.request.headers.get("Via")]
    assert ack.headers.getAll("Route") == list(routes)
    assert ack.headers.get("From") == txn.request.headers.get("From")
    assert ack.headers.get("To") == "Bob <sip:bob@example.com>;tag=xyz"
    assert ack.callId == txn.request.callId
    assert ack.cseq == (7, "ACK")
    assert ack.headers.get("Max-Forwards") == "70"


def test_clientInviteCancelGuard():
    """Sending a CANCEL in Proceeding bounds the INVITE: with no final
    response 64*T1 later it times out (sec. 9.1)."""
    txn, _ = make(ClientInvite)
    txn.receive(respond(txn.request, 180), 1.0)
    assert txn.handle(Input.CANCEL, 5.0) == []
    assert timers(txn) == [("B", 37.0)]
    assert fire(txn, "B") == [TransactionTerminated(txn, "timeout")]


def test_clientInviteCancelTooEarly():
    """A CANCEL before any provisional response is refused (sec. 9.1)."""
    txn, _ = make(ClientInvite)
    with pytest.raises(ProtocolError):
        txn.handle(Input.CANCEL, 0.1)


# Client non-INVITE (sec. 17.1.2)

def test_clientNonInviteTimerE():
    """Timer E starts at T1, doubles, caps at T2 and stays there."""
    txn, actions = make(ClientNonInvite)
    assert sent(actions) == [txn.request]
    assert timers(txn) == [("E", 0.5), ("F", 32.0)]
    times = []
    for _ in range(7):
        assert sent(fire(txn, "E")) == [txn.request]
        times.append(dict(txn.deadlines)["E"])
    assert times == [1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5]


def test_clientNonInviteTimerEInProceeding():
    """In Proceeding Timer E, once it fires, is reset to T2 (17.1.2.2)."""
    txn, _ = make(ClientNonInvite)
    trying = respond(txn.request, 100)
    assert txn.receive(trying, 0.2) == [ResponseReceived(trying, txn)]
    assert txn.state is State.PROCEEDING
    assert sent(fire(txn, "E")) == [txn.request]
    assert dict(txn.deadlines)["E"] == 4.5
    fire(txn, "E")
    assert dict(txn.deadlines)["E"] == 8.5


@pytest.mark.parametrize("first", [None, 100])
def test_clientNonInviteTimerF(first):
    """Timer F in Trying or Proceeding ends the transaction: timeout."""
    txn, _ = make(ClientNonInvite)
    if first:
        txn.receive(respond(txn.request, first), 0.1)
    assert fire(txn, "F") == [TransactionTerminated(txn, "timeout")]
    assert not txn.deadlines


@pytest.mark.parametrize("status", [200, 404])
def test_clientNonInviteFinal(status):
    """Any final response reaches the TU, stops E and F and starts Timer K
    (T4 over UDP); later responses are absorbed; K ends it."""
    txn, _ = make(ClientNonInvite)
    final = respond(txn.request, status)
    assert txn.receive(final, 1.0) == [ResponseReceived(final, txn)]
    assert timers(txn) == [("K", 6.0)]
    for again in (final, respond(txn.request, 100), respond(txn.request, 500)):
        assert txn.receive(again, 2.0) == []
    assert fire(txn, "K") == [TransactionTerminated(txn, "completed")]


def test_clientNonInviteCompletedKeepsLittle():
    """During Timer K the transaction only absorbs retransmissions: once
    the TU has the final response, it keeps neither that response nor
    more of its request than what names it."""
    txn, _ = make(ClientNonInvite, request=makeRequest("BYE"))
    request = txn.request
    txn.receive(respond(request, 100), 0.5)
    final = respond(request, 200)
    assert txn.receive(final, 1.0) == [ResponseReceived(final, txn)]
    assert txn.lastResponse is None
    assertNamedOnly(txn.request, request)


def test_reliableTransactionsEndWithTheirRequest():
    """Over TCP the waits after the final response are zero: the
    transaction ends at once and has nothing to slim."""
    for kind in (ClientNonInvite, ServerNonInvite):
        txn, _ = make(kind, peer=TCP, request=makeRequest("BYE"))
        request = txn.request
        final = respond(request, 200)
        if kind is ClientNonInvite:
            txn.receive(final, 1.0)
        else:
            txn.respond(final, 1.0)
        assert txn.state is State.TERMINATED and txn.request is request


def test_clientNonInviteOverTCP():
    """Over TCP there is no Timer E, and Timer K is zero."""
    txn, _ = make(ClientNonInvite, peer=TCP)
    assert timers(txn) == [("F", 32.0)]
    ok = respond(txn.request, 200)
    assert txn.receive(ok, 1.0) == [ResponseReceived(ok, txn),
                                    TransactionTerminated(txn, "completed")]


# Server INVITE (sec. 17.2.1)

def test_serverInviteProceeding():
    """A server INVITE starts in Proceeding and hands the INVITE to the TU;
    provisional responses are sent and re-sent on retransmissions; the
    TU's first one stops the wait for a 100 Trying of the transaction's
    own (sec. 17.2.1)."""
    txn, actions = make(ServerInvite)
    assert txn.state is State.PROCEEDING
    assert actions == [RequestReceived(txn.request, txn)]
    assert list(txn.deadlines) == ["Trying"]
    trying, ringing = respond(txn.request, 100), respond(txn.request, 180)
    assert txn.respond(trying, 0.1) == [SendMessage(trying, UDP)]
    assert not txn.deadlines
    assert txn.receive(txn.request, 0.3) == [SendMessage(trying, UDP)]
    txn.respond(ringing, 1.0)
    assert txn.receive(txn.request, 1.5) == [SendMessage(ringing, UDP)]
    assert not txn.deadlines


def test_serverInviteTryingOnRetransmission():
    """A retransmission before the TU answered gets 100 Trying at once,
    and the transaction's own wait for it ends (sec. 17.2.1)."""
    txn, _ = make(ServerInvite)
    [action] = txn.receive(txn.request, 0.05)
    trying = action.message
    assert (trying.status, trying.cseq, action.peer) == (100, txn.request.cseq, UDP)
    assert txn.lastResponse is trying and not txn.deadlines


def test_serverInviteTryingAfterAFailure():
    """A final response sent before the wait ends stops it: the timer
    never fires in Completed (sec. 17.2.1)."""
    txn, _ = make(ServerInvite)
    txn.respond(respond(txn.request, 486), 0.01)
    assert "Trying" not in txn.deadlines


def test_serverInviteSuccess():
    """Sending a 2xx ends the transaction (plain RFC 3261)."""
    txn, _ = make(ServerInvite)
    ok = respond(txn.request, 200)
    assert txn.respond(ok, 1.0) == [SendMessage(ok, UDP),
                                    TransactionTerminated(txn, "completed")]
    assert txn.respond(ok, 1.5) == []


def test_serverInviteTimerG():
    """A non-2xx final starts G (T1) and H (64*T1); G re-sends the final
    and doubles up to T2."""
    txn, _ = make(ServerInvite)
    busy = respond(txn.request, 486)
    assert txn.respond(busy, 0.0) == [SendMessage(busy, UDP)]
    assert timers(txn) == [("G", 0.5), ("H", 32.0)]
    times = []
    for _ in range(6):
        assert fire(txn, "G") == [SendMessage(busy, UDP)]
        times.append(dict(txn.deadlines)["G"])
    assert times == [1.5, 3.5, 7.5, 11.5, 15.5, 19.5]


def test_serverInviteCompleted():
    """In Completed a retransmitted INVITE re-sends the final; the TU may
    send nothing more."""
    txn, _ = make(ServerInvite)
    busy = respond(txn.request, 486)
    txn.respond(busy, 0.0)
    assert txn.receive(txn.request, 0.2) == [SendMessage(busy, UDP)]
    with pytest.raises(ProtocolError):
        txn.respond(respond(txn.request, 500), 0.3)


def test_serverInviteTimerH():
    """Timer H (no ACK) ends a Completed transaction with a timeout."""
    txn, _ = make(ServerInvite)
    txn.respond(respond(txn.request, 486), 0.0)
    assert fire(txn, "H") == [TransactionTerminated(txn, "timeout")]


def test_serverInviteAck():
    """The ACK moves Completed to Confirmed, is absorbed, stops G and H and
    starts I (T4); ACKs and INVITEs in Confirmed are absorbed; I ends it."""
    txn, _ = make(ServerInvite)
    txn.respond(respond(txn.request, 486), 0.0)
    ack = makeRequest("ACK")
    assert txn.receive(ack, 1.0) == []
    assert txn.state is State.CONFIRMED
    assert timers(txn) == [("I", 6.0)]
    assert txn.receive(ack, 2.0) == []
    assert txn.receive(txn.request, 2.0) == []
    assert fire(txn, "I") == [TransactionTerminated(txn, "completed")]


def test_serverInviteConfirmedKeepsLittle():
    """Confirmed only absorbs retransmissions: the transaction lets go of
    its last response and of its request's body and other fields, keeping
    the method, the URI and the fields that name it (Via, From, To,
    Call-ID, CSeq) for its owner; every challenged call leaves one of
    these for T4."""
    txn, _ = make(ServerInvite)
    request = txn.request
    request.body = b"v=0\r\n"
    txn.respond(respond(request, 407), 0.0)
    txn.receive(makeRequest("ACK"), 0.1)
    assert txn.lastResponse is None
    assertNamedOnly(txn.request, request)


def assertNamedOnly(kept, request):
    """C{kept} is what a waiting transaction keeps of C{request}: its
    method, URI and naming fields, no body and nothing else."""
    assert kept.body == b""
    assert (kept.method, kept.uri, kept.callId, kept.cseq) == (
        request.method, request.uri, request.callId, request.cseq)
    assert {name for name, _ in kept.headers} == {"Via", "From", "To", "Call-ID", "CSeq"}
    assert kept.headers.get("From") == request.headers.get("From")


def test_serverInviteOverTCP():
    """Over TCP no G runs and Timer I is zero: the ACK ends it."""
    txn, _ = make(ServerInvite, peer=TCP)
    txn.respond(respond(txn.request, 486), 0.0)
    assert timers(txn) == [("H", 32.0)]
    assert txn.receive(makeRequest("ACK"), 1.0) == [
        TransactionTerminated(txn, "completed")]


def test_serverInviteAckInProceeding():
    """An ACK before any final response is absorbed."""
    txn, _ = make(ServerInvite)
    assert txn.receive(makeRequest("ACK"), 1.0) == []
    assert txn.state is State.PROCEEDING


# Server non-INVITE (sec. 17.2.2)

def test_serverNonInvite():
    """Trying discards retransmissions; a 1xx moves to Proceeding where
    retransmissions get it again; a final starts J (64*T1); in Completed
    retransmissions get the final, other finals are discarded; J ends it."""
    txn, actions = make(ServerNonInvite)
    assert actions == [RequestReceived(txn.request, txn)]
    assert txn.receive(txn.request, 0.1) == []
    trying = respond(txn.request, 100)
    txn.respond(trying, 0.2)
    assert txn.state is State.PROCEEDING
    assert txn.receive(txn.request, 0.3) == [SendMessage(trying, UDP)]
    ok = respond(txn.request, 200)
    assert txn.respond(ok, 1.0) == [SendMessage(ok, UDP)]
    assert timers(txn) == [("J", 33.0)]
    assert txn.receive(txn.request, 2.0) == [SendMessage(ok, UDP)]
    assert txn.respond(respond(txn.request, 500), 2.0) == []
    assert fire(txn, "J") == [TransactionTerminated(txn, "completed")]


def test_serverNonInviteCompletedKeepsLittle():
    """During Timer J (32 s over UDP: every BYE leaves one) the
    transaction keeps its final response, which retransmissions get again,
    and of its request only what names it."""
    txn, _ = make(ServerNonInvite, request=makeRequest("BYE"))
    request = txn.request
    request.body = b"kept by the TU, not by the transaction"
    ok = respond(request, 200)
    txn.respond(ok, 1.0)
    assert txn.lastResponse is ok
    assertNamedOnly(txn.request, request)
    assert txn.receive(request, 2.0) == [SendMessage(ok, UDP)]


def test_serverNonInviteFinalFromTrying():
    """A final straight from Trying completes the transaction."""
    txn, _ = make(ServerNonInvite)
    txn.respond(respond(txn.request, 403), 1.0)
    assert txn.state is State.COMPLETED


def test_serverNonInviteOverTCP():
    """Over TCP Timer J is zero: the final response ends it."""
    txn, _ = make(ServerNonInvite, peer=TCP)
    ok = respond(txn.request, 200)
    assert txn.respond(ok, 1.0) == [SendMessage(ok, TCP),
                                    TransactionTerminated(txn, "completed")]


# Every machine

PATHS = {
    ClientInvite: {State.CALLING: [], State.PROCEEDING: [180],
                   State.COMPLETED: [486], State.TERMINATED: [200]},
    ClientNonInvite: {State.TRYING: [], State.PROCEEDING: [100],
                      State.COMPLETED: [200], State.TERMINATED: [200, "K"]},
    ServerInvite: {State.PROCEEDING: [], State.COMPLETED: [486],
                   State.CONFIRMED: [486, "ACK"], State.TERMINATED: [200]},
    ServerNonInvite: {State.TRYING: [], State.PROCEEDING: [100],
                      State.COMPLETED: [200], State.TERMINATED: [200, "J"]},
}


def reach(kind, state):
    """@return: a transaction of C{kind} driven along a real path into
    C{state}."""
    txn, _ = make(kind)
    for step in PATHS[kind][state]:
        if step == "ACK":
            txn.receive(makeRequest("ACK"), 0.1)
        elif isinstance(step, str):
            fire(txn, step)
        elif kind in (ClientInvite, ClientNonInvite):
            txn.receive(respond(txn.request, step), 0.1)
        else:
            txn.respond(respond(txn.request, step), 0.1)
    assert txn.state is state
    return txn


def messageFor(txn, event):
    """@return: the message that comes with input C{event}, if any."""
    statuses = {Input.PROVISIONAL: 180, Input.SUCCESS: 200,
                Input.FAILURE: 486, Input.SEND_PROVISIONAL: 180,
                Input.SEND_SUCCESS: 200, Input.SEND_FAILURE: 486}
    if event in statuses:
        return respond(txn.request, statuses[event])
    if event is Input.REQUEST:
        return txn.request
    if event is Input.ACK:
        return makeRequest("ACK")
    return None


@pytest.mark.parametrize("kind", MACHINES)
def test_tableCompleteness(kind):
    """Every (state, input) pair either follows its table row, ending in
    the row's next state with a list of actions, or raises ProtocolError
    and leaves the transaction unchanged."""
    for state in PATHS[kind]:
        for event in Input:
            txn = reach(kind, state)
            row = kind.TABLE.get((state, event))
            if row is None:
                with pytest.raises(ProtocolError):
                    txn.handle(event, 50.0, messageFor(txn, event))
                assert txn.state is state
                continue
            actions = txn.handle(event, 50.0, messageFor(txn, event))
            assert isinstance(actions, list)
            assert txn.state is row[1]
            ended = terminated(actions)
            assert ended == ([(txn, ended[0][1])] if row[1] is not state
                             and row[1] is State.TERMINATED else [])


PEER_INPUTS = {
    ClientInvite: (Input.PROVISIONAL, Input.SUCCESS, Input.FAILURE),
    ClientNonInvite: (Input.PROVISIONAL, Input.SUCCESS, Input.FAILURE),
    ServerInvite: (Input.REQUEST, Input.ACK),
    ServerNonInvite: (Input.REQUEST,),
}


@pytest.mark.parametrize("kind", MACHINES)
def test_peerCannotRaise(kind):
    """In every live state every message a peer can send, and a transport
    error, has a row: nothing from the network raises."""
    for state in PATHS[kind]:
        if state is State.TERMINATED:
            continue
        for event in PEER_INPUTS[kind] + (Input.TRANSPORT_ERROR,):
            assert (state, event) in kind.TABLE


@pytest.mark.parametrize("kind", MACHINES)
def test_transportError(kind):
    """A transport error in any live state ends the transaction with
    "transport-error"; after the end it is a no-op."""
    for state in PATHS[kind]:
        txn = reach(kind, state)
        actions = txn.transportError(60.0)
        if state is State.TERMINATED:
            assert actions == []
        else:
            assert actions == [TransactionTerminated(txn, "transport-error")]
        assert txn.state is State.TERMINATED and not txn.deadlines


def test_badStatus():
    """A status outside 100-699 is a ProtocolError, both ways."""
    client, _ = make(ClientNonInvite)
    with pytest.raises(ProtocolError):
        client.receive(Response(99, "Odd", respond(client.request, 200).headers),
                       1.0)
    server, _ = make(ServerNonInvite)
    with pytest.raises(ProtocolError):
        server.respond(Response(700, "Odd"), 1.0)


def test_staleTimer():
    """A timer that was stopped or restarted does not fire."""
    txn, _ = make(ClientInvite)
    txn.receive(respond(txn.request, 180), 0.2)
    assert txn.timerFired("A", 0.5, 0.5) is None
    assert txn.state is State.PROCEEDING


@given(kind=st.sampled_from(MACHINES),
       events=st.lists(st.sampled_from(list(Input)), max_size=12))
def test_randomInputs(kind, events):
    """Any sequence of inputs either moves the machine or raises
    ProtocolError, staying within the machine's states; a terminated
    transaction keeps no timer."""
    txn, _ = make(kind)
    now = 0.0
    for event in events:
        now += 1.0
        try:
            txn.handle(event, now, messageFor(txn, event))
        except ProtocolError:
            pass
        assert txn.state in PATHS[kind]
        if txn.state is State.TERMINATED:
            assert not txn.deadlines
