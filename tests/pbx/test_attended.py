# -*- test-case-name: tests.pbx.test_attended -*-
"""
Attended transfer (REFER with Replaces, RFC 3891, RFC 5589 sec. 7)
carried out by the B2BUA (L{tpbx.pbx.attended}): B talks to A (held) and
to C, then REFERs in one call with Replaces naming the other; the PBX
re-INVITEs the target onto the transferee's relay, NOTIFYs B and hangs up
both of B's legs.  Every scenario ends with nothing left behind.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.pbx.callstack import Bench, audio, connect
from tpbx.errors import ProtocolError
from tpbx.pbx.attended import parseReplaces
from tpbx.sip.invite import InviteState


def _calls(bench) -> tuple:
    """
    A calls B (B holds A), then B calls C: @return: B's sessions of the
    first and the second call.
    """
    connect(bench)
    first = bench.B.session()
    bench.B.reinvite(bench.B.offer("sendonly"))
    bench.run()
    second = bench.dial(bench.B, "1003")
    bench.C.answer()
    bench.run()
    assert second.state is InviteState.CONFIRMED
    return first, second


def _replaces(session, swap=False) -> str:
    """The Refer-To header value naming C{session}'s dialog (for C)."""
    dialog = session.dialog
    toTag, fromTag = dialog.remoteTag, dialog.localTag
    if swap:
        toTag, fromTag = fromTag, toTag
    value = quote(f"{dialog.callId};to-tag={toTag};from-tag={fromTag}", safe="")
    return f"<sip:1003@pbx.example?Replaces={value}>"


def _refer(phone, session, referTo: str) -> None:
    """C{phone} sends a REFER in C{session} (not just its last call)."""
    phone.do(session, session.request("REFER", phone.now(),
                                      extraHeaders=[("Refer-To", referTo)]))


def _hangup(phone, session) -> None:
    phone.do(session, session.hangup(phone.now()))


def _notifies(phone, session) -> list:
    return [n.body.decode().strip() for n in phone.got("NOTIFY")
            if n.callId == session.dialog.callId]


def _assertIdle(bench) -> None:
    """L{Bench.assertIdle}, where the second call's relay session may be
    given back before the first (its order of releases is no
    requirement)."""
    bench.run()
    bench.relay.released.sort(key=bench.relay.allocated.index)
    bench.assertIdle()


def test_parseReplaces():
    """Call-ID and both tags, unescaped; early-only ignored; a missing
    part is 400."""
    assert parseReplaces("a%40h%3Bto-tag%3D1%3Bfrom-tag%3D2%3Bearly-only") == ("a@h", "1", "2")
    for bad in ("a%40h", "a%40h%3Bto-tag%3D1", "%3Bto-tag%3D1%3Bfrom-tag%3D2"):
        with pytest.raises(ProtocolError) as e:
            parseReplaces(bad)
        assert e.value.statusHint == 400


def test_attendedTransfer():
    """
    B REFERs A (first call) with Replaces naming its call with C: C gets
    a re-INVITE offering A's media on the first relay's B side, which
    then aims at C; A gets no re-INVITE and its music stops; B gets
    NOTIFY 100 then 200 and a BYE in both calls; the second relay session
    is released at once; A hanging up later ends C's leg.
    """
    bench = Bench(registered=("A", "B", "C"))
    first, second = _calls(bench)
    relay1, relay2 = bench.relay.allocated
    assert relay1.a.muted
    _refer(bench.B, first, _replaces(second))
    bench.run()
    reinvite = bench.C.got("INVITE")[-1]
    assert reinvite.callId == bench.C.session().invite.callId
    assert audio(reinvite.body)[:2] == ("192.168.1.1", relay1.b.port)
    assert relay1.b.target == ("192.168.1.30", 43000)
    assert not relay1.a.muted and not relay1.b.muted
    assert _notifies(bench.B, first) == ["SIP/2.0 100 Trying", "SIP/2.0 200 OK"]
    assert first.state is second.state is InviteState.DISCONNECTED
    assert bench.A.got("INVITE") == []
    assert relay2 in bench.relay.released and relay1 not in bench.relay.released
    assert bench.calls.isBusy("1003") and not bench.calls.isBusy("1002")
    bench.A.hangup()
    bench.run()
    assert bench.C.kinds()[-1] == "BYE"
    _assertIdle(bench)
    consultation, joined = bench.records
    assert (consultation.caller, consultation.callee) == ("1002", "1003")
    assert (joined.caller, joined.callee) == ("1001", "1003")


def test_attendedTransferOtherWay():
    """B REFERs C (second call) naming the first call, tags in the other
    order: A is re-INVITEd onto the second relay; C and A talk."""
    bench = Bench(registered=("A", "B", "C"))
    first, second = _calls(bench)
    relay2 = bench.relay.allocated[1]
    _refer(bench.B, second, _replaces(first, swap=True))
    bench.run()
    assert audio(bench.A.got("INVITE")[-1].body)[:2] == ("192.168.1.1", relay2.a.port)
    assert relay2.a.target == ("192.168.1.10", 40000)
    assert _notifies(bench.B, second)[-1] == "SIP/2.0 200 OK"
    bench.C.hangup()
    bench.run()
    assert bench.A.kinds()[-1] == "BYE"
    _assertIdle(bench)


def test_unknownReplaces():
    """A Replaces naming no dialog, or the REFER's own: 202, NOTIFY 100,
    NOTIFY 481; both calls go on.  A malformed one gets 400."""
    bench = Bench(registered=("A", "B", "C"))
    first, second = _calls(bench)
    _refer(bench.B, first, "<sip:1003@pbx.example?Replaces=nope%3Bto-tag%3D1%3Bfrom-tag%3D2>")
    _refer(bench.B, first, _replaces(first))
    _refer(bench.B, first, "<sip:1003@pbx.example?Replaces=nope>")
    bench.run()
    assert _notifies(bench.B, first) == [
        "SIP/2.0 100 Trying", "SIP/2.0 481 No such call to replace"] * 2
    assert len(bench.B.got(202)) == 2 and bench.B.got(400)
    assert first.state is second.state is InviteState.CONFIRMED
    assert len(bench.C.got("INVITE")) == 1
    bench.hangUpAll()
    _assertIdle(bench)


def test_targetRefusesReinvite():
    """C refuses the re-INVITE (no common codec): NOTIFY 488, both calls
    go on as before."""
    bench = Bench(registered=("A", "B", "C"))
    bench.A.codecs = ("PCMU",)
    first, second = _calls(bench)
    bench.C.codecs = ("G722",)
    _refer(bench.B, first, _replaces(second))
    bench.run()
    assert _notifies(bench.B, first)[-1] == "SIP/2.0 488 Not Acceptable Here"
    assert first.state is second.state is InviteState.CONFIRMED
    assert bench.C.session().state is InviteState.CONFIRMED
    bench.hangUpAll()
    _assertIdle(bench)


def test_transfereeHangsUpMeanwhile():
    """
    A hangs up while C is being re-INVITEd: B gets NOTIFY 487, and C is
    re-INVITEd back onto the second relay, where B still talks to it.
    """
    bench = Bench(registered=("A", "B", "C"))
    first, second = _calls(bench)
    relay2 = bench.relay.allocated[1]
    _refer(bench.B, first, _replaces(second))
    bench.A.hangup()
    bench.run()
    assert _notifies(bench.B, first)[-1] == "SIP/2.0 487 Request Terminated"
    assert audio(bench.C.got("INVITE")[-1].body)[:2] == ("192.168.1.1", relay2.b.port)
    assert second.state is InviteState.CONFIRMED
    bench.hangUpAll()
    _assertIdle(bench)


def test_transferorLeavesAtOnce():
    """B hangs up both calls right after the REFER (RFC 5589 sec. 6.1):
    the transfer still joins A and C."""
    bench = Bench(registered=("A", "B", "C"))
    first, second = _calls(bench)
    relay1 = bench.relay.allocated[0]
    _refer(bench.B, first, _replaces(second))
    _hangup(bench.B, first)
    _hangup(bench.B, second)
    bench.run()
    assert bench.A.session().state is bench.C.session().state is InviteState.CONFIRMED
    assert relay1.b.target == ("192.168.1.30", 43000)
    bench.C.hangup()
    bench.run()
    assert bench.A.kinds()[-1] == "BYE"
    _assertIdle(bench)


def test_transferorLeavesThenFailure():
    """B leaves right after the REFER and C refuses: A and C, left alone,
    are hung up."""
    bench = Bench(registered=("A", "B", "C"))
    bench.A.codecs = ("PCMU",)
    first, second = _calls(bench)
    bench.C.codecs = ("G722",)
    _refer(bench.B, first, _replaces(second))
    _hangup(bench.B, first)
    _hangup(bench.B, second)
    bench.run()
    assert bench.A.kinds()[-1] == "BYE" and bench.C.kinds()[-1] == "BYE"
    _assertIdle(bench)
