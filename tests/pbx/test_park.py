# -*- test-case-name: tests.pbx.test_park -*-
"""
Call park and unpark (issue 3 part 7, L{tpbx.pbx.park}) through the
B2BUA: parking by REFER to the park code or by dialling it, unparking by
C{*6} + slot, the parked party's music on hold, full and empty slots, the
park timeout ringing the parker back -- and nothing left behind.
"""

from __future__ import annotations

import pytest

from tests.pbx.callstack import DAVE, Bench, audio, connect
from tests.pbx.sipfixtures import ALICE, BOB, CAROL
from tpbx.pbx.features.dialcodes import DialCodeStep
from tpbx.pbx.park import ParkingLot, parseSlots
from tpbx.pbx.routing import ExtensionStep
from tpbx.sip.invite import InviteState
from tpbx.testing_directory import FakeDirectory


def _bench(**settings) -> Bench:
    """A bench whose dial plan knows the dial codes, with park C{settings}."""
    directory = FakeDirectory([ALICE, BOB, CAROL, DAVE], settings)
    steps = [DialCodeStep(directory, lambda number, status: None, "pbx.example"),
             ExtensionStep(directory)]
    bench = Bench(registered=("A", "B", "C", "D"), steps=steps)
    bench.calls.features.parking = ParkingLot(bench.calls, directory)
    return bench


def _notifies(phone) -> list:
    return [n.body.decode().strip() for n in phone.got("NOTIFY")]


def _parkByRefer(bench, parker, code: str = "*5") -> None:
    """C{parker} holds the other party and REFERs it to C{code}."""
    parker.reinvite(parker.offer("sendonly"))
    bench.run()
    parker.refer(f"<sip:{code}@pbx.example>")
    bench.run()


def test_parseSlots():
    """Slots are numbers and ranges, comma-separated; nonsense is refused."""
    assert parseSlots("701-703") == ["701", "702", "703"]
    assert parseSlots("701-702, 710,701") == ["701", "702", "710"]
    assert parseSlots("08-10") == ["08", "09", "10"]
    for bad in ("", "7a", "703-701", "1-5000", "701-"):
        with pytest.raises(ValueError):
            parseSlots(bad)


def test_parkByReferAndUnpark():
    """
    B blind-transfers A to *5: A is parked at the first slot (701) and
    hears music on hold, B is told "200 Parked at 701" and hung up, and is
    no longer busy; C dials *6701 and is answered on B's old relay side,
    which now aims at C; A got no re-INVITE; the CDR names C as callee.
    """
    bench = _bench()
    connect(bench)
    relay = bench.relay.allocated[0]
    _parkByRefer(bench, bench.B)
    assert _notifies(bench.B) == ["SIP/2.0 100 Trying", "SIP/2.0 200 Parked at 701"]
    assert bench.B.kinds()[-1] == "BYE"
    assert bench.A.session().state is InviteState.CONFIRMED
    assert relay.a.muted and relay.b.muted
    bench.run(1)
    assert relay.a.injected   # music on hold
    assert not bench.calls.isBusy("1002") and bench.calls.isBusy("1001")
    assert list(bench.calls.features.parking.parked) == ["701"]
    bench.dial(bench.C, "*6701")
    answer = bench.C.got(200)[-1]
    assert audio(answer.body)[:3] == ("192.168.1.1", relay.b.port, ["PCMU", "TELEPHONE-EVENT"])
    assert relay.b.target == ("192.168.1.30", 43000)
    assert not relay.a.muted and not relay.b.muted
    assert bench.C.session().state is InviteState.CONFIRMED
    assert bench.A.got("INVITE") == [] and bench.calls.features.parking.parked == {}
    bench.A.hangup()
    bench.run()
    assert bench.C.kinds()[-1] == "BYE"
    bench.assertIdle()
    assert (bench.records[0].caller, bench.records[0].callee) == ("1001", "1003")


def test_parkInChosenSlotByCaller():
    """The caller parks the callee at slot 703 (*5703); *6703 unparks it."""
    bench = _bench()
    connect(bench)
    _parkByRefer(bench, bench.A, "*5703")
    assert _notifies(bench.A)[-1] == "SIP/2.0 200 Parked at 703"
    bench.dial(bench.D, "*6703")
    assert bench.D.session().state is InviteState.CONFIRMED
    assert bench.relay.allocated[0].a.target == ("192.168.1.40", 44000)
    bench.B.hangup()
    bench.run()
    assert bench.D.kinds()[-1] == "BYE"
    bench.assertIdle()
    assert bench.records[0].caller == "1004"


def test_parkByDialCodeAndUnparkOwn():
    """
    B dials *5 from another line: its call's other party is parked, the
    code is answered "480 Parked at 701", B's leg hung up; *6 alone gives
    B back the call it parked last.
    """
    bench = _bench()
    connect(bench)
    bench.dial(bench.B, "*5")
    assert bench.B.got(480)[-1].reason == "Parked at 701"
    assert bench.B.got("BYE")
    bench.dial(bench.B, "*6")
    assert bench.B.session().state is InviteState.CONFIRMED
    bench.B.hangup()
    bench.run()
    assert bench.A.kinds()[-1] == "BYE"
    bench.assertIdle()


def test_slotsFullTakenOrUnknown():
    """
    With one slot: a second park gets NOTIFY 503 (none free), a taken slot
    486, an unknown slot 404; those calls go on as they were.
    """
    bench = _bench(parkSlots="701")
    connect(bench)
    _parkByRefer(bench, bench.B)
    connect(bench, bench.C, bench.D, "1004")
    for code, status in [("*5", "503 No free parking slot"),
                         ("*5701", "486 Parking slot 701 is taken"),
                         ("*5799", "404 No parking slot 799")]:
        bench.D.refer(f"<sip:{code}@pbx.example>")
        bench.run()
        assert _notifies(bench.D)[-1] == f"SIP/2.0 {status}"
    assert bench.C.session().state is InviteState.CONFIRMED
    bench.dial(bench.B, "*5")
    assert bench.B.got(480)[-1].reason == "No call to park"
    bench.hangUpAll()
    bench.assertIdle()


def test_unparkEmptyOrUnknownSlot():
    """*6 + an empty slot is 480, an unknown slot 404, *6 with nothing
    parked 480; no leg is made."""
    bench = _bench()
    bench.dial(bench.C, "*6702")
    bench.dial(bench.C, "*6799")
    bench.dial(bench.C, "*6")
    assert bench.C.kinds() == [407, 480, 407, 404, 407, 480]
    bench.assertIdle()


def test_unparkWithoutSharedCodec():
    """An unparking phone that offers none of the parked party's codec
    gets 488; the call stays parked."""
    bench = _bench()
    connect(bench)
    _parkByRefer(bench, bench.B)
    bench.dial(bench.C, "*6701", body=bench.C.offer(codecs=("G722",)))
    assert bench.C.got(488)
    assert list(bench.calls.features.parking.parked) == ["701"]
    bench.A.hangup()
    bench.run()
    bench.assertIdle()


def test_parkedPartyHangsUpOrReoffers():
    """
    The parked party's own hold and resume are answered by the PBX; when
    it hangs up, the slot is free and the call ends.
    """
    bench = _bench()
    connect(bench)
    _parkByRefer(bench, bench.B)
    bench.A.reinvite(bench.A.offer("sendonly"))
    bench.run()
    assert audio(bench.A.got(200)[-1].body)[3] == "recvonly"
    bench.A.reinvite(bench.A.offer())
    bench.run()
    assert audio(bench.A.got(200)[-1].body)[3] == "sendrecv"
    bench.A.hangup()
    bench.run()
    assert bench.calls.features.parking.parked == {}
    bench.dial(bench.C, "*6701")
    assert bench.C.got(480)
    bench.assertIdle()
    assert bench.records[0].hangupSide == "caller"


def test_parkTimeoutRingsParkerBack():
    """
    After C{parkTimeout} seconds the parker is rung with the parked party
    (From: the parked party); answering connects them, the music stops.
    """
    bench = _bench(parkTimeout=30)
    connect(bench)
    relay = bench.relay.allocated[0]
    _parkByRefer(bench, bench.B)
    bench.run(29)
    assert len(bench.B.got("INVITE")) == 1
    bench.run(1)
    invite = bench.B.got("INVITE")[-1]
    assert "1001" in invite.headers.get("From")
    bench.B.answer()
    bench.run()
    assert not relay.a.muted and not relay.b.muted
    assert bench.calls.features.parking.parked == {}
    bench.A.hangup()
    bench.run()
    bench.assertIdle()


def test_parkTimeoutRingBackFails():
    """The rung-back parker is busy: the parked party is hung up."""
    bench = _bench(parkTimeout=30)
    connect(bench)
    _parkByRefer(bench, bench.B)
    bench.run(30)
    bench.B.reject(486)
    bench.run()
    assert bench.A.kinds()[-1] == "BYE"
    bench.assertIdle()
