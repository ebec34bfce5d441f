# -*- test-case-name: tests.pbx.test_calls -*-
"""
Basic calls through the B2BUA (issue 3 part 1): set-up, media anchoring,
every way a call ends or fails, and -- after every scenario -- nothing
left behind: no call, leg, transaction, timer or relay session.
"""

from __future__ import annotations

import pytest
from zope.interface.verify import verifyObject

from tests.pbx.callstack import PBX, Bench, audio, connect
from tests.pbx.sipfixtures import HOST
from tpbx.media.relay import PortsExhausted
from tpbx.interfaces import IMessageSender
from tpbx.interfaces import IMediaEndpoint, IMediaRelay, IRelaySession
from tpbx.pbx.calls import CallSettings
from tpbx.sip.dialog import newRequest
from tpbx.sip.invite import InviteState


def test_fakesProvideTheirInterfaces():
    """The bench's fake relay, its sessions and sides, and the network
    provide the interfaces the call code is written against."""
    bench = Bench()
    session = bench.relay.allocate("x")
    assert verifyObject(IMediaRelay, bench.relay)
    assert verifyObject(IRelaySession, session)
    assert verifyObject(IMediaEndpoint, session.a)
    assert verifyObject(IMessageSender, bench.net)
    bench.relay.release(session)


def test_callSetUp():
    """
    A calls B: A is challenged first (407), B's INVITE carries an offer
    pointing at the relay's B side with only the allowed codecs (in policy
    order, telephone-event kept), B's 180 reaches A, and A's 200 answers
    with B's codec pointing at the relay's A side; the relay sides are
    aimed at each phone's RTP address.
    """
    bench = Bench()
    offer = bench.A.offer(codecs=("G729", "PCMA", "PCMU"))
    bench.dial(bench.A, "1002", offer)
    relay = bench.relay.allocated[0]
    [invite] = bench.B.got("INVITE")
    assert audio(invite.body) == ("192.168.1.1", relay.b.port,
                                  ["PCMU", "PCMA", "TELEPHONE-EVENT"], "sendrecv")
    assert bench.A.kinds() == [407]
    bench.B.ring()
    bench.run()
    assert bench.A.kinds() == [407, 180]
    bench.B.answer()
    bench.run()
    [ok] = bench.A.got(200)
    assert audio(ok.body) == ("192.168.1.1", relay.a.port,
                              ["PCMU", "TELEPHONE-EVENT"], "sendrecv")
    assert bench.B.kinds() == ["INVITE", "ACK"]
    assert relay.a.target == ("192.168.1.10", 40000)
    assert relay.b.target == ("192.168.1.20", 41000)
    assert bench.calls.counts()["legs"] == 2
    bench.A.hangup()
    bench.run()
    bench.assertIdle()


def test_callerHangsUp():
    """A's BYE is answered and B gets a BYE; the record says answered,
    hung up by the caller, with the codec."""
    bench = Bench()
    connect(bench)
    bench.A.hangup()
    bench.run()
    assert bench.B.kinds()[-1] == "BYE"
    assert bench.A.kinds()[-1] == 200
    [record] = bench.records
    assert (record.disposition, record.hangupSide, record.codec) == (
        "answered", "caller", "PCMU")
    assert record.answer is not None and record.end is not None
    bench.assertIdle()


def test_calleeHangsUp():
    """B's BYE is answered and A gets a BYE."""
    bench = Bench()
    connect(bench)
    bench.B.hangup()
    bench.run()
    assert bench.A.kinds()[-1] == "BYE"
    assert bench.B.kinds()[-1] == 200
    assert bench.records[0].hangupSide == "callee"
    bench.assertIdle()


def test_callerCancels():
    """A's CANCEL while B rings: A gets 200 and 487, B gets CANCEL (then
    487 for its INVITE, ACKed)."""
    bench = Bench()
    bench.dial(bench.A, "1002")
    bench.B.ring()
    bench.run()
    bench.A.hangup()
    bench.run()
    assert bench.B.kinds() == ["INVITE", "CANCEL", "ACK"]
    assert bench.A.kinds() == [407, 180, 200, 487]
    assert bench.B.events[-1][1].reason == "cancelled"
    assert bench.records[0].disposition == "cancelled"
    bench.assertIdle()


def test_callerCancelsBeforeRinging():
    """A CANCEL before B sent anything but 100 still stops B's INVITE:
    the PBX's CANCEL waits for that 100, as sec. 9.1 asks."""
    bench = Bench()
    bench.dial(bench.A, "1002")
    bench.A.hangup()
    bench.run()
    assert bench.B.kinds() == ["INVITE"]
    bench.run(0.2)
    assert bench.B.kinds() == ["INVITE", "CANCEL", "ACK"]
    assert bench.A.kinds() == [407, 200, 487]
    bench.assertIdle()


def test_cancelCrossesAnswer():
    """A's CANCEL crosses B's 200: the CANCEL changes nothing (its INVITE
    transaction is over: 481, RFC 3261 sec. 9.2), A gets the 200, ACKs it
    and sends BYE, and both legs end."""
    bench = Bench()
    bench.dial(bench.A, "1002")
    bench.B.ring()
    bench.run()
    bench.B.answer()
    bench.A.hangup()
    bench.run()
    assert bench.A.kinds() == [407, 180, 200, 481, 200]
    assert [m.cseq[1] for m in bench.A.received[-3:]] == ["INVITE", "CANCEL", "BYE"]
    assert bench.B.kinds() == ["INVITE", "ACK", "BYE"]
    bench.assertIdle()


def test_unreachableCallee():
    """A device that never answers the INVITE at all (not even 100): the
    INVITE times out (Timer B) and the caller gets 480."""
    bench = Bench()
    bench.B.dead = True
    bench.dial(bench.A, "1002")
    bench.run(31)
    assert bench.A.kinds() == [407]
    bench.run(2)
    assert bench.A.kinds() == [407, 480]
    bench.B.dead = False
    bench.assertIdle()


@pytest.mark.parametrize("status", [486, 600, 603, 480, 404])
def test_calleeRefuses(status):
    """A callee's final refusal reaches the caller with the same status
    (busy 486/600, decline 603, 480, 404)."""
    bench = Bench()
    bench.dial(bench.A, "1002")
    bench.B.reject(status)
    bench.run()
    assert bench.A.kinds() == [407, status]
    assert bench.B.kinds() == ["INVITE", "ACK"]
    expected = "busy" if status in (486, 600) else "failed"
    assert bench.records[0].disposition == expected
    bench.assertIdle()


def test_noAnswer():
    """Nobody answers within the ring time: B is CANCELed, A gets 480."""
    bench = Bench(settings=CallSettings(ringTime=20))
    bench.dial(bench.A, "1002")
    bench.B.ring()
    bench.run(19.9)
    assert bench.A.kinds() == [407, 180]
    bench.run(0.2)
    assert bench.B.kinds() == ["INVITE", "CANCEL", "ACK"]
    assert bench.A.kinds() == [407, 180, 480]
    assert bench.records[0].disposition == "no-answer"
    bench.assertIdle()


def test_notRegistered():
    """Calling an extension with no registered device: 480, and no relay
    session is left allocated."""
    bench = Bench(registered=("A",))
    bench.dial(bench.A, "1003")
    assert bench.A.kinds() == [407, 480]
    bench.assertIdle()


def test_unknownNumber():
    """An unknown number gets 404, but only after authentication: an
    unauthenticated INVITE sees the same 407 as for a real extension."""
    bench = Bench()
    bench.dial(bench.A, "9999")
    assert bench.A.kinds() == [407, 404]
    assert bench.relay.allocated == []
    bench.assertIdle()


def test_noAllowedCodec():
    """An offer with no codec the policy allows gets 488, before any relay
    port is taken and without ringing anyone."""
    bench = Bench()
    bench.dial(bench.A, "1002", bench.A.offer(codecs=("G729",)))
    assert bench.A.kinds() == [407, 488]
    assert bench.B.received == []
    assert bench.relay.allocated == []
    bench.assertIdle()


def test_earlyMedia():
    """B's 183 with SDP reaches A as a 183 whose SDP points at the relay;
    the later 200 carries the same answer."""
    bench = Bench()
    bench.dial(bench.A, "1002")
    relay = bench.relay.allocated[0]
    bench.B.ring(183, bench.B.answerFor(bench.B.got("INVITE")[0].body))
    bench.run()
    [early] = bench.A.got(183)
    assert audio(early.body)[:2] == ("192.168.1.1", relay.a.port)
    assert relay.b.target == ("192.168.1.20", 41000)
    bench.B.answer()
    bench.run()
    assert audio(bench.A.got(200)[0].body) == audio(early.body)
    bench.B.hangup()
    bench.run()
    bench.assertIdle()


def test_lateOffer():
    """
    An INVITE without SDP: B's INVITE has none either, B offers in its
    200, A gets that offer anchored at the relay's A side and answers in
    its ACK, and B gets the answer, anchored at the B side, in the PBX's
    ACK.
    """
    bench = Bench()
    bench.dial(bench.A, "1002", b"")
    relay = bench.relay.allocated[0]
    [invite] = bench.B.got("INVITE")
    assert invite.body == b""
    bench.B.answer()
    bench.run()
    [ok] = bench.A.got(200)
    assert audio(ok.body)[:2] == ("192.168.1.1", relay.a.port)
    [ack] = bench.B.got("ACK")
    assert audio(ack.body)[:3] == ("192.168.1.1", relay.b.port, ["PCMU", "TELEPHONE-EVENT"])
    assert relay.a.target == ("192.168.1.10", 40000)
    assert relay.b.target == ("192.168.1.20", 41000)
    assert bench.B.session().state is InviteState.CONFIRMED
    bench.A.hangup()
    bench.run()
    assert bench.records[0].codec == "PCMU"
    bench.assertIdle()


def test_inDialogRequestForNoCall():
    """An in-dialog request matching no leg gets 481 from the core."""
    bench = Bench()
    bench.A.send(newRequest("BYE", f"sip:1002@{HOST}", f"<sip:1001@{HOST}>",
                            f"<sip:1002@{HOST}>;tag=gone", bench.A.contact, bench.A.via))
    bench.run()
    assert bench.A.kinds() == [481]
    bench.assertIdle()


def test_twoCallsAtOnce():
    """Two calls (A to B, D to C) run side by side on their own legs and
    relay sessions, and end without disturbing each other."""
    bench = Bench(registered=("A", "B", "C", "D"))
    connect(bench)
    connect(bench, bench.D, bench.C, "1003")
    assert bench.calls.counts()["calls"] == 2
    assert len({s.a.port for s in bench.relay.allocated}) == 2
    bench.B.hangup()
    bench.run()
    assert bench.calls.counts()["calls"] == 1
    assert bench.C.session().state is InviteState.CONFIRMED
    bench.C.hangup()
    bench.run()
    bench.assertIdle()


def test_pbxAddress():
    """The PBX's own requests to B carry its Via and Contact."""
    bench = Bench()
    bench.dial(bench.A, "1002")
    [invite] = bench.B.got("INVITE")
    assert invite.headers.get("Via").startswith(f"SIP/2.0/UDP {PBX.host}:{PBX.port}")
    assert f"@{PBX.host}:{PBX.port}" in invite.headers.get("Contact")
    assert invite.headers.get("From").startswith('"Alice" <sip:1001@')
    bench.A.hangup()
    bench.run()
    bench.assertIdle()


def test_calleeAnswersWithBadSdp():
    """
    A callee whose 200 carries SDP that cannot be parsed: the PBX ends that
    leg and tells the caller 502, instead of leaving it waiting with no
    ring timer; nothing is left afterwards.
    """
    bench = Bench()
    bench.dial(bench.A, "1002")
    bench.B.ring()
    bench.run()
    bench.B.answer(body=b"this is not SDP")
    bench.run()
    assert bench.A.kinds()[-1] == 502
    bench.assertIdle()


def test_noMediaPortsLeft():
    """When the relay has no port pair left, the caller gets 503 and no
    leg is started."""
    bench = Bench()

    def exhausted(callId, external=False):
        raise PortsExhausted("no port pair free")

    bench.relay.allocate = exhausted
    bench.dial(bench.A, "1002")
    assert bench.A.kinds() == [407, 503]
    bench.assertIdle()


def test_answeredCallKeepsLittle():
    """Once answered, a call drops what only ringing needed -- the plan,
    the legs that rang, the caller's offer parsed (its bytes stay, and
    C{aOffer} still reads them) -- and its sessions keep of their INVITEs
    only what a confirmed session reads: a held call may last for hours."""
    bench = Bench()
    connect(bench)
    [call] = bench.calls.calls
    assert call.plan is None and call.ringing == () and call._aOffer is None
    assert call.aOffer.media[0].port == audio(bench.A.session().invite.body)[1]
    assert {name for name, _ in call.a.session.invite.headers} == {"Call-ID", "CSeq"}
    assert call.a.session.invite.body == bench.A.session().invite.body
    bench.A.hangup()
    bench.run()
    bench.assertIdle()
