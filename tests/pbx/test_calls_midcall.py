# -*- test-case-name: tests.pbx.test_calls_midcall -*-
"""
What happens inside an answered call (issue 3 parts 1, 4, 5): hold
answered by the PBX with music on hold, other re-INVITEs relayed with
their answers, INFO relayed, glare (491) resolved by the retry timers,
session timers (RFC 4028) that refresh live calls and end dead ones, and
the PBX hanging up by itself -- with nothing left behind after each.
"""

from __future__ import annotations

from tests.pbx.callstack import Bench, audio, connect
from tpbx.pbx.calls import CallSettings
from tpbx.sip.invite import InviteState
from tpbx.sip.sessiontimer import SessionTimerPolicy


def _rtpPayloadType(packet: bytes) -> int:
    return packet[1] & 0x7F


def _inviteFinals(phone) -> list:
    """@return: the final statuses C{phone} got for its INVITEs."""
    return [m.status for m in phone.received
            if getattr(m, "status", 0) >= 200 and m.cseq[1] == "INVITE"]


def test_holdPlaysMusicLocally():
    """
    A holds (re-INVITE sendonly): the PBX answers 200 recvonly itself, B
    gets no re-INVITE, the relay stops passing A's audio to B and music
    on hold is played to B instead; resuming (sendrecv) answers sendrecv,
    stops the music and unmutes.
    """
    bench = Bench()
    connect(bench)
    relay = bench.relay.allocated[0]
    bench.A.reinvite(bench.A.offer("sendonly"))
    bench.run()
    ok = bench.A.got(200)[-1]
    assert audio(ok.body) == ("192.168.1.1", relay.a.port, ["PCMU", "TELEPHONE-EVENT"],
                              "recvonly")
    assert bench.B.kinds() == ["INVITE", "ACK"]
    assert relay.b.muted
    bench.run(1.0)
    assert 45 <= len(relay.b.injected) <= 55
    bench.A.reinvite(bench.A.offer("sendrecv"))
    bench.run()
    assert audio(bench.A.got(200)[-1].body)[3] == "sendrecv"
    assert not relay.b.muted
    played = len(relay.b.injected)
    bench.run(1.0)
    assert len(relay.b.injected) == played
    assert bench.B.kinds() == ["INVITE", "ACK"]
    bench.A.hangup()
    bench.run()
    bench.assertIdle()


def test_holdMusicInNegotiatedCodec():
    """Music on hold is sent in the codec the held party accepted (PCMA
    here, though PCMU was offered first)."""
    bench = Bench()
    bench.B.codecs = ("PCMA",)
    connect(bench)
    relay = bench.relay.allocated[0]
    bench.A.reinvite(bench.A.offer("sendonly"))
    bench.run(0.1)
    assert relay.b.injected
    assert {_rtpPayloadType(p) for p in relay.b.injected} == {8}
    bench.A.hangup()
    bench.run()
    bench.assertIdle()


def test_hangUpWhileHeld():
    """A call ended while one party hears music stops the player."""
    bench = Bench()
    connect(bench)
    bench.B.reinvite(bench.B.offer("inactive"))
    bench.run(0.1)
    relay = bench.relay.allocated[0]
    assert audio(bench.B.got(200)[-1].body)[3] == "inactive"
    assert relay.a.muted and relay.a.injected
    assert "INVITE" not in bench.A.kinds()
    bench.B.hangup()
    bench.run()
    bench.assertIdle()


def test_reinviteRelayed():
    """
    A re-INVITE that is not a hold (A moved its RTP port) is offered to B
    with the relay's B side; B's answer comes back to A with the relay's
    A side, and the relay's A side now aims at A's new port.
    """
    bench = Bench()
    connect(bench)
    relay = bench.relay.allocated[0]
    bench.A.rtpPort = 40100
    bench.A.reinvite(bench.A.offer())
    bench.run()
    reinvite = bench.B.got("INVITE")[-1]
    assert len(bench.B.got("INVITE")) == 2
    assert audio(reinvite.body)[:2] == ("192.168.1.1", relay.b.port)
    ok = bench.A.got(200)[-1]
    assert audio(ok.body)[:3] == ("192.168.1.1", relay.a.port, ["PCMU", "TELEPHONE-EVENT"])
    assert relay.a.target == ("192.168.1.10", 40100)
    bench.B.hangup()
    bench.run()
    bench.assertIdle()


def test_reinviteFromCalleeRelayed():
    """B's re-INVITE is relayed to A the same way."""
    bench = Bench()
    connect(bench)
    relay = bench.relay.allocated[0]
    bench.B.rtpPort = 41100
    bench.B.reinvite(bench.B.offer())
    bench.run()
    assert audio(bench.A.got("INVITE")[-1].body)[:2] == ("192.168.1.1", relay.a.port)
    assert audio(bench.B.got(200)[-1].body)[:2] == ("192.168.1.1", relay.b.port)
    assert relay.b.target == ("192.168.1.20", 41100)
    bench.A.hangup()
    bench.run()
    bench.assertIdle()


def test_reinviteRefusedByOtherSide():
    """When B refuses a relayed offer (488), A's re-INVITE gets 488 and
    the call goes on."""
    bench = Bench()
    connect(bench)
    bench.B.codecs = ("G722",)
    bench.A.reinvite(bench.A.offer(codecs=("PCMU",)))
    bench.run()
    assert len(bench.B.got("INVITE")) == 2
    assert bench.A.kinds()[-1] == 488
    assert bench.A.session().state is InviteState.CONFIRMED
    bench.A.hangup()
    bench.run()
    bench.assertIdle()


def test_infoRelayed():
    """INFO that is not DTMF (here a custom type) from A is answered 200
    and reaches B with its body and type, and the other way round (DTMF
    INFO: L{tests.pbx.test_calldigits})."""
    bench = Bench()
    connect(bench)
    bench.A.info(b"key=5\r\n", "application/x-custom")
    bench.run()
    [info] = bench.B.got("INFO")
    assert info.body == b"key=5\r\n"
    assert info.headers.get("Content-Type") == "application/x-custom"
    assert bench.A.kinds()[-1] == 200
    bench.B.info(b"key=#\r\n", "application/x-custom")
    bench.run()
    assert bench.A.got("INFO")[0].body == b"key=#\r\n"
    bench.A.hangup()
    bench.run()
    bench.assertIdle()


def test_unsupportedRequestInCall():
    """An in-dialog request the call does not handle (MESSAGE, for now)
    gets 501; the call goes on."""
    bench = Bench()
    connect(bench)
    session = bench.A.session()
    bench.A.do(session, session.request("MESSAGE", bench.A.now()))
    bench.run()
    assert bench.A.kinds()[-1] == 501
    assert bench.A.session().state is InviteState.CONFIRMED
    bench.A.hangup()
    bench.run()
    bench.assertIdle()


def test_glare():
    """
    A and B re-INVITE at the same moment: the PBX relays A's offer to B
    while B's reaches it, so both sides see 491 (RFC 3261 sec. 14.1); the
    retry timers sort it out and both offers are answered in the end.
    """
    bench = Bench()
    connect(bench)
    bench.A.rtpPort, bench.B.rtpPort = 40100, 41100
    bench.A.reinvite(bench.A.offer())
    bench.B.reinvite(bench.B.offer())
    bench.run()
    assert 491 in bench.B.kinds()
    bench.run(30)
    relay = bench.relay.allocated[0]
    assert relay.a.target == ("192.168.1.10", 40100)
    assert relay.b.target == ("192.168.1.20", 41100)
    assert _inviteFinals(bench.A)[-1] == 200 and _inviteFinals(bench.B)[-1] == 200
    assert bench.A.session().canReinvite and bench.B.session().canReinvite
    bench.A.hangup()
    bench.run()
    bench.assertIdle()


def test_sessionRefreshedByPBX():
    """
    Phones without session-timer support: the PBX refreshes both legs
    (re-INVITE with the same SDP) every half interval, and the call stays
    up for several intervals.
    """
    policy = SessionTimerPolicy(sessionExpires=120, minSE=90)
    bench = Bench(settings=CallSettings(sessionTimers=policy))
    connect(bench)
    bench.run(400)
    assert len(bench.A.got("INVITE")) >= 6
    assert len(bench.B.got("INVITE")) >= 7
    assert bench.A.got("INVITE")[-1].body == bench.A.got(200)[0].body
    assert bench.A.session().state is InviteState.CONFIRMED
    bench.A.hangup()
    bench.run()
    bench.assertIdle()


def test_sessionExpires():
    """
    A asks to be the refresher (Session-Expires refresher=uac) and then
    never refreshes: when the session lapses the PBX ends it with a BYE
    to both sides (RFC 4028 sec. 10).
    """
    policy = SessionTimerPolicy(sessionExpires=120, minSE=90)
    bench = Bench(settings=CallSettings(sessionTimers=policy))
    bench.dial(bench.A, "1002", headers=[("Supported", "timer"),
                                         ("Session-Expires", "120;refresher=uac")])
    bench.B.answer()
    bench.run(60)
    assert "BYE" not in bench.A.kinds()
    bench.run(30)
    assert bench.A.kinds()[-1] == "BYE"
    assert bench.B.kinds()[-1] == "BYE"
    bench.assertIdle()


def test_refreshByPhone():
    """A phone that refreshes (UPDATE) keeps the call up without the PBX
    re-INVITEing it."""
    policy = SessionTimerPolicy(sessionExpires=120, minSE=90)
    bench = Bench(settings=CallSettings(sessionTimers=policy))
    bench.A.policy = SessionTimerPolicy(sessionExpires=120, minSE=90)
    bench.A.refreshes = True
    connect(bench)
    bench.run(300)
    assert bench.A.got("INVITE") == []
    assert bench.A.session().state is InviteState.CONFIRMED
    bench.B.hangup()
    bench.run()
    bench.assertIdle()


def test_deadCallee():
    """B vanishes: the PBX's refresh to B times out, B's leg gets a BYE
    and A is hung up."""
    policy = SessionTimerPolicy(sessionExpires=120, minSE=90)
    bench = Bench(settings=CallSettings(sessionTimers=policy))
    connect(bench)
    bench.B.dead = True
    bench.run(60 + 32 + 1)
    assert bench.A.kinds()[-1] == "BYE"
    bench.B.dead = False
    bench.B.sessions.clear()
    bench.assertIdle()


def test_relayInactivity():
    """The relay reporting no RTP hangs up both legs."""
    bench = Bench()
    connect(bench)
    relay = bench.relay.allocated[0]
    relay.onInactive(relay)
    bench.run()
    assert bench.A.kinds()[-1] == "BYE" and bench.B.kinds()[-1] == "BYE"
    assert bench.records[0].hangupSide == "pbx"
    bench.assertIdle()


def test_stopHangsUpEverything():
    """Stopping the call manager ends ringing and answered calls."""
    bench = Bench(registered=("A", "B", "C", "D"))
    connect(bench)
    bench.dial(bench.D, "1003")
    bench.C.ring()
    bench.run()
    bench.calls.stop()
    bench.run()
    assert bench.B.kinds()[-1] == "BYE"
    assert bench.D.kinds()[-1] == 480
    assert bench.C.kinds()[-2:] == ["CANCEL", "ACK"]
    bench.assertIdle()
