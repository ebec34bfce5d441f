# -*- test-case-name: tests.pbx.test_calldigits -*-
"""
DTMF in an answered call (issue part 4), on the call bench: SIP INFO
turned into RFC 4733 packets towards a party that negotiated
telephone-event, malformed INFO refused, digits from RTP (the relay tap)
and INFO told to the call's C{onDigit} listeners, and the in-call codes
(C{*1} record, C{*2} + number transfer) -- with every tap, timer and leg
gone at the end.
"""

from __future__ import annotations

from tests.pbx.callstack import Bench, connect
from tpbx.media.dtmf import DTMFDetector, digitPackets
from tpbx.pbx.callfeatures import CallFeatures
from tpbx.sip.invite import InviteState
from tpbx.testing_directory import FakeDirectory


def _withoutEvents(body: bytes) -> bytes:
    """@return: an SDP offer without telephone-event (PT 101)."""
    lines = [line for line in body.decode().split("\r\n")
             if not line.startswith(("a=rtpmap:101 ", "a=fmtp:101 "))]
    lines = [line.removesuffix(" 101") if line.startswith("m=") else line for line in lines]
    return "\r\n".join(lines).encode()


def _press(bench, side, digits: str) -> None:
    """The party on relay C{side} keys C{digits} as RFC 4733 packets."""
    for n, digit in enumerate(digits):
        for _, packet in digitPackets(digit, 0x77, 100 * n, 8000 * n):
            side.tap(packet, bench.clock.seconds())


def _hangUp(bench, phone) -> None:
    phone.hangup()
    bench.run()
    bench.assertIdle()


class _Recorder:
    """A recorder standing in for L{tpbx.media.recorder.CallRecorder}."""

    made: list = []

    def __init__(self, path):
        self.path, self.closed, self.packets = path, False, []
        _Recorder.made.append(self)

    def tap(self, side):
        return lambda packet, now: self.packets.append((side, packet))

    def close(self):
        self.closed = True
        return self.path


def test_infoBecomesRTP():
    """
    A's DTMF INFO in a relayed call where B negotiated telephone-event:
    answered 200, not passed on; RFC 4733 packets of the digit (B's
    payload type) are injected towards B over the press, and read back
    as one press; nothing is left scheduled after the call.
    """
    bench = Bench()
    connect(bench)
    relay = bench.relay.allocated[0]
    bench.A.info(b"Signal=5\r\nDuration=160\r\n")
    bench.run()
    assert bench.A.kinds()[-1] == 200 and bench.B.got("INFO") == []
    assert len(relay.b.injected) == 1
    bench.run(1.0)
    assert len(relay.b.injected) == 6
    assert {p[1] & 0x7F for p in relay.b.injected} == {101}
    detector = DTMFDetector(101)
    assert [d.digit for d in (detector.feed(p, 0.0) for p in relay.b.injected) if d] == ["5"]
    assert relay.a.injected == []
    _hangUp(bench, bench.A)


def test_infoSenderStoppedAtHangUp():
    """A call ending while digits are still being sent leaves no timer."""
    bench = Bench()
    connect(bench)
    bench.B.info(b"1", "application/dtmf")
    bench.B.info(b"2", "application/dtmf")
    bench.run()
    assert bench.calls.counts()["timers"] >= 1
    _hangUp(bench, bench.B)


def test_infoPassedOnWithoutTelephoneEvent():
    """When B did not negotiate telephone-event, A's DTMF INFO is passed
    on as it came."""
    bench = Bench()
    bench.dial(bench.A, "1002", _withoutEvents(bench.A.offer()))
    bench.B.answer()
    bench.run()
    bench.A.info(b"Signal=9\r\n")
    bench.run()
    [info] = bench.B.got("INFO")
    assert info.body == b"Signal=9\r\n"
    assert bench.relay.allocated[0].b.injected == []
    _hangUp(bench, bench.A)


def test_malformedInfo():
    """A DTMF INFO without a digit is answered 400 with a reason and not
    passed on; the call goes on."""
    bench = Bench()
    connect(bench)
    bench.A.info(b"Signal=55\r\n")
    bench.run()
    bench.A.info(b"x", "application/dtmf")
    bench.run()
    bad = bench.A.got(400)
    assert len(bad) == 2 and "DTMF" in bad[0].reason
    assert bench.B.got("INFO") == []
    assert bench.A.session().state is InviteState.CONFIRMED
    _hangUp(bench, bench.A)


def test_onDigitHearsRTPAndInfo():
    """A listener on C{call.onDigit} gets each press once, with the leg
    of the party that keyed it, from RTP (the relay tap) and INFO."""
    bench = Bench()
    connect(bench)
    [call] = bench.calls.calls
    heard = []
    call.onDigit.append(lambda leg, digit: heard.append((leg, digit.digit)))
    relay = bench.relay.allocated[0]
    _press(bench, relay.a, "47")
    _press(bench, relay.b, "#")
    bench.B.info(b"Signal=D\r\n")
    bench.run()
    assert heard == [(call.a, "4"), (call.a, "7"), (call.b, "#"), (call.b, "D")]
    _hangUp(bench, bench.A)
    assert relay.a.tap is None and relay.b.tap is None


def test_inCallRecordToggles(tmp_path):
    """C{*1} keyed in the call starts recording (the recorder sees both
    sides beside the DTMF tap); keyed again it stops and writes it."""
    bench = Bench()
    bench.calls.features = CallFeatures(bench.calls, str(tmp_path), _Recorder,
                                        bench.directory)
    connect(bench)
    [call] = bench.calls.calls
    relay = bench.relay.allocated[0]
    _press(bench, relay.a, "*1")
    assert call.recorder is not None
    relay.b.tap(b"\x80\x00" + bytes(10), 0.0)
    assert call.recorder.packets[-1] == ("b", b"\x80\x00" + bytes(10))
    bench.B.info(b"*", "application/dtmf")
    bench.B.info(b"1", "application/dtmf")
    bench.run()
    assert call.recorder is None and _Recorder.made[-1].closed
    _hangUp(bench, bench.A)


def test_inCallTransfer():
    """
    A keys C{*2 1003 #}: B (the other party) is transferred to C as with
    the C{*2} dial code -- C rings with B's media, answers, A is hung up,
    B talks to C; C can then use the codes too.
    """
    bench = Bench(registered=("A", "B", "C"))
    connect(bench)
    relay = bench.relay.allocated[0]
    _press(bench, relay.a, "*21003#")
    bench.run()
    assert bench.C.kinds() == ["INVITE"]
    bench.C.answer()
    bench.run()
    assert bench.A.kinds()[-1] == "BYE"
    [call] = bench.calls.calls
    assert call.record.callee == "1002" and call.record.caller == "1003"
    heard = []
    call.onDigit.append(lambda leg, digit: heard.append((leg, digit.digit)))
    _press(bench, relay.a, "9")
    assert heard == [(call.a, "9")] and call.a.target == "1003"
    _hangUp(bench, bench.B)


def test_inCallTransferAfterTimeout():
    """Without C{#} the transfer starts 3 s after the last digit."""
    bench = Bench(registered=("A", "B", "C"))
    connect(bench)
    bench.B.info(b"*", "application/dtmf")
    for digit in b"21003":
        bench.B.info(bytes([digit]), "application/dtmf")
    bench.run(2.0)
    assert bench.C.kinds() == []
    bench.run(1.5)
    assert bench.C.kinds() == ["INVITE"]
    bench.C.reject(486)
    bench.run()
    assert bench.A.session().state is InviteState.CONFIRMED
    _hangUp(bench, bench.A)


def test_inCallCodesOff():
    """With the C{inCallCodes} setting off nothing listens: no tap on the
    relay, and C{*1} does nothing."""
    bench = Bench()
    directory = FakeDirectory([], {"inCallCodes": "off"})
    bench.calls.features = CallFeatures(bench.calls, directory=directory)
    connect(bench)
    [call] = bench.calls.calls
    relay = bench.relay.allocated[0]
    assert not call.digits.listening and call.onDigit == []
    assert relay.a.tap is None and relay.b.tap is None
    bench.A.info(b"Signal=*\r\n")
    bench.A.info(b"Signal=1\r\n")
    bench.run()
    assert call.recorder is None
    _hangUp(bench, bench.A)


def test_matcherMadeOnFirstDigit():
    """An answered call listens for the in-call codes, but makes their
    matcher (and a detector's memory of presses) only when a digit comes:
    thousands of held calls never key one."""
    bench = Bench()
    connect(bench)
    [call] = bench.calls.calls
    relay = bench.relay.allocated[0]
    assert call.digits.listening and call.onDigit == [] and call.digits.codes is None
    assert relay.a.tap is not None and relay.a.tap._seen is None
    _press(bench, relay.a, "5")
    assert call.digits.codes is not None and relay.a.tap._seen is not None
    _hangUp(bench, bench.A)
    assert not call.digits.listening and call.digits.codes is None
