# -*- test-case-name: tests.pbx.test_paging -*-
"""
One-way paging (SPEC E4) through the B2BUA (L{tpbx.pbx.paging}): every
member of a paging group that answers hears the caller through a relay
session of its own fed by a tap on the caller's side, members are
offered only the caller's codec, and every leg, relay session, timer and
tap is given back at the end.
"""

from __future__ import annotations

from tests.pbx.callstack import DAVE, Bench, audio
from tests.pbx.features.fakes import FeatureDirectory
from tests.pbx.sipfixtures import ALICE, BOB, CAROL
from tpbx.media.relay import PortsExhausted
from tpbx.model import RingGroup
from tpbx.pbx.features.plan import featureSteps
from tpbx.sip.invite import InviteState

MEMBERS = ("1002", "1003", "1004")
PACKET = b"\x80\x00\x00\x01" + b"\x00" * 8 + b"voice"


def _bench(noAnswer: str = "end", ringTime: int = 10,
           registered=("A", "B", "C", "D")) -> Bench:
    group = RingGroup("700", "Speakers", "paging", ringTime, MEMBERS, noAnswer)
    directory = FeatureDirectory([ALICE, BOB, CAROL, DAVE], groups=[group])
    return Bench(registered=registered,
                 steps=featureSteps(directory, "pbx.example", lambda n, s: None))


def _session(bench, phone):
    """The relay session of C{phone}'s member leg (by its INVITE's port)."""
    port = audio(phone.got("INVITE")[0].body)[1]
    [session] = [s for s in bench.relay.allocated if s.b.port == port]
    return session


def _assertIdle(bench) -> None:
    """L{Bench.assertIdle}, in whatever order the sessions were given
    back (a page handed to a call gives its members' back first)."""
    bench.run()
    bench.relay.released.sort(key=bench.relay.allocated.index)
    bench.assertIdle()


def test_pageKeepsEveryAnsweringMember():
    """
    A pages 700: each member is offered only A's codec, on a relay
    session of its own; the first answer connects A (200), a later one
    joins; A's packets reach both listeners, their sessions' A-facing
    sides are muted; the member that never answers is cancelled after
    the ring time and A stays connected.
    """
    bench = _bench()
    bench.dial(bench.A, "700")
    caller = bench.relay.allocated[0]
    for phone in (bench.B, bench.C, bench.D):
        invite = phone.got("INVITE")[0]
        assert audio(invite.body)[2:] == (["PCMU"], "sendrecv")
        assert invite.headers.get("Answer-Mode") == "Auto"
    assert len(bench.relay.allocated) == 4
    bench.B.answer()
    bench.run()
    assert audio(bench.A.got(200)[-1].body)[:2] == ("192.168.1.1", caller.a.port)
    bench.C.answer()
    bench.run(10)
    assert bench.D.kinds()[:2] == ["INVITE", "CANCEL"]
    assert bench.A.session().state is InviteState.CONFIRMED
    caller.a.tap(PACKET, bench.clock.seconds())
    for phone, address in ((bench.B, ("192.168.1.20", 41000)), (bench.C, ("192.168.1.30", 43000))):
        session = _session(bench, phone)
        assert session.b.injected == [PACKET] and session.b.target == address
        assert session.a.muted and session.a.target is None
    assert _session(bench, bench.D).b.injected == []
    assert bench.calls.isBusy("1003") and not bench.calls.isBusy("1004")
    bench.A.hangup()
    bench.run()
    assert bench.B.kinds()[-1] == bench.C.kinds()[-1] == "BYE"
    assert caller.a.tap is None
    _assertIdle(bench)
    [record] = bench.records
    assert (record.disposition, record.codec, record.hangupSide) == ("answered", "PCMU", "caller")
    assert sorted(leg.target for leg in record.legs if leg.answered) == ["1002", "1003"]


def test_memberLeavesAlone():
    """A member hanging up leaves alone; the last one leaving does not
    end the page: the caller does."""
    bench = _bench()
    bench.dial(bench.A, "700")
    bench.B.answer()
    bench.C.answer()
    bench.run()
    bench.B.hangup()
    bench.run()
    assert bench.C.session().state is InviteState.CONFIRMED
    bench.relay.allocated[0].a.tap(PACKET, bench.clock.seconds())
    assert _session(bench, bench.B).b.injected == []
    assert _session(bench, bench.C).b.injected == [PACKET]
    bench.C.hangup()
    bench.run(10)
    assert bench.A.session().state is InviteState.CONFIRMED
    assert bench.calls.counts()["calls"] == 1
    bench.A.hangup()
    bench.run()
    assert bench.A.kinds()[-1] == 200
    _assertIdle(bench)


def test_nobodyAnswersGoesToNoAnswer():
    """Nobody answers in the ring time: the members are cancelled and
    the group's no-answer destination rings as a two-way call on the
    caller's relay session."""
    bench = _bench(noAnswer="extension:1003", registered=("A", "B", "C"))
    bench.dial(bench.A, "700")
    bench.run(10)
    assert bench.B.kinds()[:2] == bench.C.kinds()[:2] == ["INVITE", "CANCEL"]
    bench.run()
    assert bench.calls.pages == set() and len(bench.calls.calls) == 1
    bench.C.answer()
    bench.run()
    caller = bench.relay.allocated[0]
    assert audio(bench.A.got(200)[-1].body)[:2] == ("192.168.1.1", caller.a.port)
    assert caller.b.target == ("192.168.1.30", 43000)
    bench.C.hangup()
    bench.run()
    assert bench.A.kinds()[-1] == "BYE"
    _assertIdle(bench)


def test_everyMemberBusy():
    """Every member refuses: the no-answer destination (end) refuses
    the caller (480, as for a ring-all group); the record says busy."""
    bench = _bench(registered=("A", "B", "C"))
    bench.dial(bench.A, "700")
    bench.B.reject(486)
    bench.C.reject(603)
    bench.run()
    assert bench.A.kinds()[-1] == 480
    _assertIdle(bench)
    assert bench.records[0].disposition == "busy"


def test_callerCancels():
    """The caller gives up while the members ring: each gets CANCEL."""
    bench = _bench()
    bench.dial(bench.A, "700")
    for phone in (bench.B, bench.C):
        phone.ring()
    bench.run()
    bench.A.hangup()
    bench.run()
    assert bench.B.kinds()[-2:] == bench.C.kinds()[-2:] == ["CANCEL", "ACK"]
    _assertIdle(bench)
    assert bench.records[0].disposition == "cancelled"


def test_inactivityEndsPage():
    """No RTP for the relay's inactivity timeout: caller and members are
    hung up."""
    bench = _bench()
    bench.dial(bench.A, "700")
    bench.B.answer()
    bench.run()
    caller = bench.relay.allocated[0]
    caller.onInactive(caller)
    bench.run(0.2)   # C's CANCEL waits for its 100 Trying (sec. 9.1)
    assert bench.A.kinds()[-1] == bench.B.kinds()[-1] == "BYE"
    assert bench.C.kinds()[-2:] == ["CANCEL", "ACK"]
    _assertIdle(bench)


def test_reofferAnsweredByPBX():
    """A listener's re-INVITE (a new address) is answered by the PBX and
    its relay side re-aimed; the caller hears nothing of it."""
    bench = _bench(registered=("A", "B"))
    bench.dial(bench.A, "700")
    bench.B.answer()
    bench.run()
    bench.B.rtpPort = 41100
    bench.B.reinvite(bench.B.offer())
    bench.run()
    assert bench.B.kinds()[-1] == 200
    assert _session(bench, bench.B).b.target == ("192.168.1.20", 41100)
    assert bench.A.got("INVITE") == []
    bench.A.hangup()
    bench.run()
    _assertIdle(bench)


def test_lateOfferRingsAsRingAll():
    """A caller without an offer cannot be paged one-way: the group
    rings as ring-all, the first answer wins."""
    bench = _bench(registered=("A", "B", "C"))
    bench.dial(bench.A, "700", body=b"")
    assert bench.calls.pages == set()
    bench.B.answer()
    bench.run(0.2)   # C's CANCEL waits for its 100 Trying (sec. 9.1)
    assert bench.C.kinds()[-2:] == ["CANCEL", "ACK"]
    bench.A.hangup()
    bench.run()
    _assertIdle(bench)


def test_intercomStaysTwoWay():
    """*9 + extension is an ordinary two-way call, not a page."""
    bench = _bench(registered=("A", "B"))
    bench.dial(bench.A, "*91002")
    assert bench.calls.pages == set()
    bench.B.answer()
    bench.run()
    caller = bench.relay.allocated[0]
    assert caller.b.target == ("192.168.1.20", 41000)
    assert len(bench.relay.allocated) == 1
    bench.A.hangup()
    bench.run()
    _assertIdle(bench)


def test_portsRunOut():
    """When the relay has no ports left for some members, those are not
    rung (nothing of theirs is kept); the others are paged."""
    bench = _bench()
    allocate = bench.relay.allocate

    def scarce(callId, external=False):
        if len(bench.relay.allocated) == 3:
            raise PortsExhausted("full")
        return allocate(callId, external)

    bench.relay.allocate = scarce
    bench.dial(bench.A, "700")
    assert [len(p.got("INVITE")) for p in (bench.B, bench.C, bench.D)] == [1, 1, 0]
    assert bench.calls.counts()["legs"] == 3
    bench.B.answer()
    bench.run()
    bench.A.hangup()
    bench.run()
    _assertIdle(bench)


def test_multicastPage():
    """
    A pages a multicast paging group: nobody is rung, A is answered at
    once with its relay session's address, and that session's other side
    is aimed at the group (the relay sends A's packets there as to any
    party; no fan-out tap).  A's hang-up ends the page; the record says
    answered, with no member leg, and everything is given back.
    """
    group = RingGroup("701", "Overhead", "paging", 10, (), "end", multicast="239.255.0.1:5004")
    directory = FeatureDirectory([ALICE, BOB], groups=[group])
    bench = Bench(registered=("A", "B"),
                  steps=featureSteps(directory, "pbx.example", lambda n, s: None))
    bench.dial(bench.A, "701")
    bench.run()
    [caller] = bench.relay.allocated
    assert audio(bench.A.got(200)[-1].body)[:3] == (
        "192.168.1.1", caller.a.port, ["PCMU", "TELEPHONE-EVENT"])
    assert bench.A.session().state is InviteState.CONFIRMED
    assert caller.b.target == ("239.255.0.1", 5004) and caller.a.tap is None
    assert bench.B.got("INVITE") == []
    bench.A.hangup()
    bench.run()
    _assertIdle(bench)
    [record] = bench.records
    assert (record.disposition, record.codec, record.hangupSide, record.legs) == (
        "answered", "PCMU", "caller", [])
