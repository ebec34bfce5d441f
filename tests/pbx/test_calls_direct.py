# -*- test-case-name: tests.pbx.test_calls_direct -*-
"""
Direct media (SPEC E1, issue part 2): when the caller and every extension
rung allow it, no relay session is allocated and SDP passes through with
only the codec policy applied; re-INVITEs (hold too) go to the other
party; recording and park refuse precisely; a transfer gives the party
that stays its new peer's media by re-INVITE.

The call flows run on a bench whose call manager has no relay (its
direct-media mode); L{test_managerAsksNeedsRelay} checks the decision
itself (C{CallManager.invite} consults L{needsRelay}), and
L{test_forwardToRelayedExtensionAnchorsLate} the decision taken again
when a direct call is forwarded.
"""

from __future__ import annotations

import dataclasses

import pytest

from tests.pbx.callstack import DAVE, Bench, audio, connect
from tests.pbx.sipfixtures import ALICE, BOB, CAROL
from tpbx.errors import ProtocolError
from tpbx.pbx.callmedia import needsRelay, wantsRelay
from tpbx.pbx.routing import CONTINUE, Destination, Targets
from tpbx.sip.invite import InviteState
from tpbx.testing_directory import FakeDirectory

_DIRECT = [dataclasses.replace(e, directMedia=True) for e in (ALICE, BOB, CAROL, DAVE)]


def _allowDirect(bench, extensions) -> None:
    """Give C{extensions} (direct media on) to the bench's directory."""
    bench.directory._byNumber.update({e.number: e for e in extensions})
    bench.directory._byAuthId.update({e.authId or e.number: e for e in extensions})


def _bench(registered=("A", "B")) -> Bench:
    """A bench whose extensions all allow direct media, its manager
    without a relay."""
    bench = Bench(registered=registered)
    _allowDirect(bench, _DIRECT)
    bench.calls.relays.relay = None
    return bench


def _finish(bench, phone) -> None:
    phone.hangup()
    bench.run()
    bench.assertIdle()


def test_wantsRelay():
    """The relay is wanted unless the caller and every callee are
    extensions with direct media and without always-on recording."""
    ann, bob = _DIRECT[0], _DIRECT[1]
    assert not wantsRelay(ann, [bob])
    assert not wantsRelay(ann, [bob, _DIRECT[2]])
    assert wantsRelay(ALICE, [bob])
    assert wantsRelay(ann, [bob, BOB])
    assert wantsRelay(ann, [bob, None])          # a SIP URI destination
    assert wantsRelay(None, [bob])               # not from an extension
    assert wantsRelay(ann, [])
    assert wantsRelay(ann, [dataclasses.replace(bob, recordCalls=True)])


def test_needsRelay():
    """L{needsRelay} looks the targets' extensions up; URIs and unknown
    numbers need the relay."""
    directory = FakeDirectory(_DIRECT[:2] + [CAROL])
    both = Targets((Destination("extension", "1002"),))
    assert not needsRelay(directory, _DIRECT[0], both)
    assert needsRelay(directory, _DIRECT[0], Targets((Destination("extension", "1003"),)))
    assert needsRelay(directory, _DIRECT[0], Targets((Destination("extension", "1999"),)))
    assert needsRelay(directory, _DIRECT[0],
                      Targets((Destination("uri", "sip:x@192.0.2.1"),)))


def test_managerAsksNeedsRelay():
    """A call between two direct-media extensions allocates no relay
    session; one with another extension does."""
    bench = Bench(registered=("A", "B", "C"))
    _allowDirect(bench, _DIRECT[:2])
    connect(bench)
    assert bench.relay.allocated == []
    _finish(bench, bench.A)
    bench.dial(bench.A, "1003")
    assert len(bench.relay.allocated) == 1
    bench.A.hangup()
    bench.run()
    bench.assertIdle()


class _ThenCarol:
    """Dialling 1002 rings Bob for 10 s, then Carol (forwarding on no
    answer, as a forwarding rule's plan does)."""

    def route(self, context):
        if context.dialled != "1002":
            return CONTINUE
        return Targets((Destination("extension", "1002"),), 10, self.onFailure)

    def onFailure(self, outcome):
        return Targets((Destination("extension", "1003"),), 10)


@pytest.mark.parametrize("carolDirect", [False, True])
def test_forwardToRelayedExtensionAnchorsLate(carolDirect):
    """
    A direct call that rings out goes on to Carol: when Carol has no
    direct media the call is anchored from then on (a relay session, her
    INVITE and A's 200 both carry relay addresses, A's side aimed at A);
    when she has, the call stays direct.
    """
    bench = Bench(registered=("A", "B", "C"), steps=[_ThenCarol()])
    _allowDirect(bench, _DIRECT[:3] if carolDirect else _DIRECT[:2])
    bench.dial(bench.A, "1002")
    assert bench.relay.allocated == []
    bench.run(10.5)
    [invite] = bench.C.got("INVITE")
    bench.C.answer()
    bench.run()
    [ok] = bench.A.got(200)
    if carolDirect:
        assert bench.relay.allocated == []
        assert audio(invite.body)[:2] == ("192.168.1.10", 40000)
    else:
        [session] = bench.relay.allocated
        assert audio(invite.body)[:2] == (session.b.address, session.b.port)
        assert audio(ok.body)[:2] == (session.a.address, session.a.port)
        assert session.a.target == ("192.168.1.10", 40000)
        assert session.onInactive is not None
    bench.A.hangup()
    bench.run()
    bench.assertIdle()


def test_sdpPassesThrough():
    """
    B is offered A's own address and port, codecs trimmed by the policy
    (G729 gone); A's 200 carries B's address and port: no relay anywhere.
    """
    bench = _bench()
    bench.dial(bench.A, "1002", bench.A.offer(codecs=("G729", "PCMA", "PCMU")))
    [invite] = bench.B.got("INVITE")
    assert audio(invite.body) == ("192.168.1.10", 40000,
                                  ["PCMU", "PCMA", "TELEPHONE-EVENT"], "sendrecv")
    bench.B.answer()
    bench.run()
    assert audio(bench.A.got(200)[0].body)[:2] == ("192.168.1.20", 41000)
    [call] = bench.calls.calls
    assert call.relay is None and call.record.codec == "PCMU"
    _finish(bench, bench.A)


def test_noCodecStill488():
    """Nothing the policy allows: 488, as with the relay."""
    bench = _bench()
    bench.dial(bench.A, "1002", bench.A.offer(codecs=("G729",)))
    assert bench.A.kinds()[-1] == 488 and bench.B.kinds() == []
    bench.assertIdle()


def test_holdRelayedToOtherParty():
    """
    A holds: the re-INVITE reaches B as an offer (A's address,
    sendonly), B's answer (recvonly) comes back to A; no music on hold is
    played; resuming goes the same way.
    """
    bench = _bench()
    connect(bench)
    bench.A.reinvite(bench.A.offer("sendonly"))
    bench.run()
    reinvite = bench.B.got("INVITE")[-1]
    assert audio(reinvite.body)[0::3] == ("192.168.1.10", "sendonly")
    assert audio(bench.A.got(200)[-1].body)[0::3] == ("192.168.1.20", "recvonly")
    [call] = bench.calls.calls
    assert call._holds == {}
    bench.A.reinvite(bench.A.offer("sendrecv"))
    bench.run()
    assert audio(bench.A.got(200)[-1].body)[3] == "sendrecv"
    assert len(bench.B.got("INVITE")) == 3
    _finish(bench, bench.B)


def test_recordingAndParkRefused():
    """Recording a direct-media call (dial code or in-call C{*1}) is
    refused with 503 and a reason; so is parking it."""
    bench = _bench()
    connect(bench)
    [call] = bench.calls.calls
    features = bench.calls.features
    assert features.toggleRecording(call) == (503, "Recording needs the media relay")
    bench.A.info(b"Signal=*\r\n")
    bench.run()
    bench.A.info(b"Signal=1\r\n")
    bench.run()
    assert call.recorder is None
    assert [i.body for i in bench.B.got("INFO")] == [b"Signal=*\r\n", b"Signal=1\r\n"]
    with pytest.raises(ProtocolError) as refused:
        features.parking.park(call, call.a)
    assert refused.value.statusHint == 503
    _finish(bench, bench.A)


def test_transferRejoinsMedia():
    """
    B holds A and REFERs it to C: C is offered A's description (A's
    address); once C answers, A is re-INVITEd with C's address,
    sendrecv, and, as C had answered a held description, C is
    re-INVITEd with A's new answer; both end up sendrecv to each other.
    """
    bench = _bench(registered=("A", "B", "C"))
    connect(bench)
    bench.B.reinvite(bench.B.offer("sendonly"))
    bench.run()
    bench.B.refer("<sip:1003@pbx.example>")
    bench.run()
    [invite] = bench.C.got("INVITE")
    assert audio(invite.body)[:2] == ("192.168.1.10", 40000)
    bench.C.answer()
    bench.run()
    assert bench.B.kinds()[-1] == "BYE"
    rejoin = bench.A.got("INVITE")[-1]
    assert audio(rejoin.body)[0::3] == ("192.168.1.30", "sendrecv")
    assert audio(bench.C.got("INVITE")[-1].body)[0::3] == ("192.168.1.10", "sendrecv")
    fromC = [m for source, _, m in bench.net.log
             if source == "C" and getattr(m, "status", 0) == 200 and m.cseq[1] == "INVITE"]
    assert audio(fromC[-1].body)[0::3] == ("192.168.1.30", "sendrecv")
    assert bench.A.session().state is InviteState.CONFIRMED
    assert bench.C.session().state is InviteState.CONFIRMED
    _finish(bench, bench.C)


def test_digitsFromInfoOnly():
    """Without a relay the in-call codes still hear INFO digits (no RTP
    tap is possible) and DTMF INFO is passed on."""
    bench = _bench(registered=("A", "B", "C"))
    connect(bench)
    for digit in "*21003#":
        bench.A.info(f"Signal={digit}\r\n".encode())
        bench.run()
    assert len(bench.B.got("INFO")) == 7
    assert bench.C.kinds() == ["INVITE"]
    bench.C.reject(603)
    bench.run()
    _finish(bench, bench.A)
