# -*- test-case-name: tests.pbx.test_transfer -*-
"""
Blind transfer by REFER (issue 3 part 6, RFC 3515, RFC 5589 sec. 6),
carried out by the B2BUA: the target is rung with the transferee's media,
the transferor follows it through NOTIFYs of C{message/sipfrag} and is
hung up once the target answered; the transferee never gets a re-INVITE.
Every scenario ends with nothing left behind.
"""

from __future__ import annotations

from tests.pbx.callstack import Bench, audio, connect
from tpbx.pbx.callrecord import callDetails
from tpbx.pbx.transfer import transferCall
from tpbx.sip.invite import InviteState

REFER_TO = "<sip:{}@pbx.example>"


def _bench() -> Bench:
    return Bench(registered=("A", "B", "C"))


def _notifies(phone) -> list:
    """@return: C{(sipfrag status line, Subscription-State)} of each NOTIFY."""
    return [(n.body.decode().strip(), n.headers.get("Subscription-State"))
            for n in phone.got("NOTIFY")]


def _transfer(bench, transferor, number: str = "1003", hold=True) -> None:
    """C{transferor} (in an answered call) holds the other party, then
    REFERs it to C{number}."""
    if hold:
        transferor.reinvite(transferor.offer("sendonly"))
        bench.run()
    transferor.refer(REFER_TO.format(number))
    bench.run()


def test_blindTransferFromCallee():
    """
    B (the callee) transfers A to C: B gets 202, a NOTIFY "100 Trying"
    (subscription active) and, once C answers, "200 OK" (terminated),
    then a BYE; C was offered A's media on the relay's B side, which now
    aims at C, the A side is untouched, A's music on hold stopped, and A
    got no re-INVITE; the call's CDR names C as callee and both B and C
    as answering legs.
    """
    bench = _bench()
    connect(bench)
    relay = bench.relay.allocated[0]
    aTarget = relay.a.target
    _transfer(bench, bench.B)
    assert bench.B.got(202)
    assert relay.a.muted
    invite = bench.C.got("INVITE")[-1]
    assert audio(invite.body)[:2] == ("192.168.1.1", relay.b.port)
    assert "1001" in invite.headers.get("From")
    bench.C.ring()
    bench.C.answer()
    bench.run()
    assert relay.b.target == ("192.168.1.30", 43000)
    assert relay.a.target == aTarget and not relay.a.muted
    assert _notifies(bench.B) == [("SIP/2.0 100 Trying", "active;expires=60"),
                                  ("SIP/2.0 200 OK", "terminated;reason=noresource")]
    notify = bench.B.got("NOTIFY")[0]
    assert notify.headers.get("Event").startswith("refer")
    assert notify.headers.get("Content-Type") == "message/sipfrag;version=2.0"
    assert bench.B.kinds()[-1] == "BYE"
    assert bench.B.session().state is InviteState.DISCONNECTED
    assert bench.A.got("INVITE") == []
    assert bench.C.session().state is InviteState.CONFIRMED
    assert bench.calls.isBusy("1003") and not bench.calls.isBusy("1002")
    bench.A.hangup()
    bench.run()
    assert bench.C.kinds()[-1] == "BYE"
    bench.assertIdle()
    call, *legs = callDetails(bench.records[0])
    assert (call.caller, call.callee, call.dialled) == ("1001", "1003", "1002")
    assert [(leg.callee, leg.disposition) for leg in legs] == [
        ("1002", "answered"), ("1003", "answered")]


def test_blindTransferFromCaller():
    """
    A (the caller) transfers B to C: the relay's A side now aims at C,
    B's side is untouched, B gets no re-INVITE, A gets NOTIFY 100 then
    200 and a BYE; B hanging up later ends C's leg.
    """
    bench = _bench()
    connect(bench)
    relay = bench.relay.allocated[0]
    bTarget = relay.b.target
    _transfer(bench, bench.A)
    invite = bench.C.got("INVITE")[-1]
    assert audio(invite.body)[:2] == ("192.168.1.1", relay.a.port)
    assert "1002" in invite.headers.get("From")
    bench.C.answer()
    bench.run()
    assert relay.a.target == ("192.168.1.30", 43000)
    assert relay.b.target == bTarget and not relay.b.muted
    assert [n[0] for n in _notifies(bench.A)] == ["SIP/2.0 100 Trying", "SIP/2.0 200 OK"]
    assert bench.A.kinds()[-1] == "BYE"
    assert bench.B.got("INVITE") == [bench.B.got("INVITE")[0]]
    bench.B.hangup()
    bench.run()
    assert bench.C.kinds()[-1] == "BYE"
    bench.assertIdle()
    assert bench.records[0].caller == "1003"
    assert bench.records[0].hangupSide == "callee"


def test_transferredCallKeepsWorking():
    """After a transfer the new party is a full leg: its re-INVITE is
    relayed to the transferee, and it can itself transfer again."""
    bench = _bench()
    connect(bench)
    _transfer(bench, bench.B, hold=False)
    bench.C.answer()
    bench.run()
    bench.C.rtpPort = 43100
    bench.C.reinvite(bench.C.offer())
    bench.run()
    assert len(bench.A.got("INVITE")) == 1
    assert bench.relay.allocated[0].b.target == ("192.168.1.30", 43100)
    bench.C.refer(REFER_TO.format("1002"))
    bench.run()
    bench.B.answer()
    bench.run()
    assert [n[0] for n in _notifies(bench.C)] == ["SIP/2.0 100 Trying", "SIP/2.0 200 OK"]
    assert bench.relay.allocated[0].b.target == ("192.168.1.20", 41000)
    bench.A.hangup()
    bench.run()
    bench.assertIdle()


def test_transferToBusy():
    """The target is busy: NOTIFY 486 ends the subscription, the call
    between transferor and transferee stays up."""
    bench = _bench()
    connect(bench)
    _transfer(bench, bench.B)
    bench.C.reject(486)
    bench.run()
    assert _notifies(bench.B)[-1] == ("SIP/2.0 486 Busy Here", "terminated;reason=noresource")
    assert bench.A.session().state is InviteState.CONFIRMED
    assert bench.B.session().state is InviteState.CONFIRMED
    bench.B.reinvite(bench.B.offer())
    bench.run()
    assert not bench.relay.allocated[0].a.muted
    bench.B.hangup()
    bench.run()
    bench.assertIdle()


def test_transferToUnknownNumber():
    """A number the dial plan does not know: NOTIFY 404, the call goes on."""
    bench = _bench()
    connect(bench)
    _transfer(bench, bench.B, "1999")
    assert _notifies(bench.B) == [("SIP/2.0 100 Trying", "active;expires=60"),
                                  ("SIP/2.0 404 Not Found", "terminated;reason=noresource")]
    assert bench.A.session().state is InviteState.CONFIRMED
    bench.hangUpAll()
    bench.assertIdle()


def test_transferNotAnswered():
    """Nobody answers within the ring time: the target is cancelled and
    the transferor hears NOTIFY 480."""
    bench = _bench()
    connect(bench)
    _transfer(bench, bench.B)
    bench.C.ring()
    bench.run(61)
    assert bench.C.got("CANCEL")
    assert _notifies(bench.B)[-1][0] == "SIP/2.0 480 Temporarily Unavailable"
    assert bench.B.session().state is InviteState.CONFIRMED
    bench.hangUpAll()
    bench.assertIdle()


def test_referWithoutTarget():
    """A REFER without Refer-To, or with garbage in it, gets 400."""
    bench = _bench()
    connect(bench)
    bench.B.refer(None)
    bench.B.refer("<not a uri>")
    bench.B.refer("<tel:+15551234>")
    bench.run()
    assert len(bench.B.got(400)) == 3
    assert bench.C.got("INVITE") == []
    bench.hangUpAll()
    bench.assertIdle()


def test_transfereeHangsUpDuringAttempt():
    """The transferee hangs up while the target rings: the target is
    cancelled, the transferor gets NOTIFY 487 and a BYE."""
    bench = _bench()
    connect(bench)
    _transfer(bench, bench.B)
    bench.C.ring()
    bench.run()
    bench.A.hangup()
    bench.run()
    assert bench.C.got("CANCEL")
    assert _notifies(bench.B)[-1][0] == "SIP/2.0 487 Request Terminated"
    assert bench.B.kinds()[-1] == "BYE"
    bench.assertIdle()


def test_transferorLeavesEarly():
    """
    The transferor hangs up right after the 202 (RFC 5589 sec. 6.1): the
    attempt goes on and the transferee is connected to the target; if
    the target then fails, the transferee is hung up.
    """
    bench = _bench()
    connect(bench)
    _transfer(bench, bench.B)
    bench.B.hangup()
    bench.run()
    assert bench.A.session().state is InviteState.CONFIRMED
    bench.C.answer()
    bench.run()
    assert bench.relay.allocated[0].b.target == ("192.168.1.30", 43000)
    bench.C.hangup()
    bench.run()
    bench.assertIdle()
    bench = _bench()
    connect(bench)
    _transfer(bench, bench.A)
    bench.A.hangup()
    bench.run()
    bench.C.reject(603)
    bench.run()
    assert bench.B.kinds()[-1] == "BYE"
    bench.assertIdle()
    assert bench.records[0].hangupSide == "caller"


def test_secondReferWhileTransferring():
    """A second REFER during an attempt gets 491."""
    bench = _bench()
    connect(bench)
    _transfer(bench, bench.B)
    bench.B.refer(REFER_TO.format("1003"))
    bench.run()
    assert bench.B.got(491)
    assert len(bench.C.got("INVITE")) == 1
    bench.A.hangup()
    bench.run()
    bench.assertIdle()


def test_transferWithoutRefer():
    """
    L{transferCall} (what the transfer dial code runs, for phones without
    REFER) rings the target the same way; no NOTIFY is sent, the
    transferor's leg is hung up once the target answers; a call that is
    already transferring refuses a second one.
    """
    bench = _bench()
    connect(bench)
    call = bench.calls.activeCall("1002")
    assert transferCall(call, call.b, "1003")
    assert not transferCall(call, call.b, "1003")
    bench.run()
    bench.C.answer()
    bench.run()
    assert bench.B.got("NOTIFY") == []
    assert bench.B.kinds()[-1] == "BYE"
    assert bench.relay.allocated[0].b.target == ("192.168.1.30", 43000)
    bench.A.hangup()
    bench.run()
    bench.assertIdle()
