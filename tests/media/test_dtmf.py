# -*- test-case-name: tests.media.test_dtmf -*-
"""
Tests for L{tpbx.media.dtmf}: RFC 4733 telephone-event payloads, one digit
per key press from a packet stream whatever its repeats, losses and
reordering, the packets the PBX sends, and SIP INFO bodies.
"""


import pytest
from hypothesis import given, strategies as st

from tpbx.errors import ProtocolError
from tpbx.media.dtmf import (DIGITS, DTMFDetector, TelephoneEvent, buildInfoBody,
                             digitPackets, packRTP, parseEvent, parseInfoBody)
from tpbx.media.rtp import RTPFormatError, parseRTP


def payloadOf(packet):
    """@return: the RTP payload of C{packet}."""
    header = parseRTP(packet)
    return packet[header.payloadOffset:header.payloadEnd]


def detect(detector, packets, start=0.0):
    """@return: the digits C{detector} reports for C{(offset, packet)} pairs."""
    found = [detector.feed(packet, start + offset) for offset, packet in packets]
    return [d.digit for d in found if d is not None]


def test_parseEvent():
    """Event code, E bit, volume (6 bits, the R bit ignored) and duration are read."""
    event = parseEvent(bytes([11, 0x80 | 0x40 | 10, 0x05, 0x00]))
    assert event == TelephoneEvent(11, True, 10, 1280)
    assert event.digit == "#"
    assert parseEvent(event.toBytes()) == TelephoneEvent(11, True, 10, 1280)
    assert parseEvent(bytes([16, 0, 0, 0])).digit is None


@pytest.mark.parametrize("payload", [b"", b"\x05", b"\x05\x0a\x01"])
def test_shortEventRefused(payload):
    """A payload shorter than 4 bytes is an RTPFormatError."""
    with pytest.raises(RTPFormatError, match="telephone-event payload"):
        parseEvent(payload)


def test_digitPacketsFollowRFC4733():
    """
    A 160 ms press: a first packet with the marker, updates every 50 ms
    with the duration so far, then three end packets with the total; all
    with the event's timestamp and consecutive sequence numbers.
    """
    sent = digitPackets("5", ssrc=7, sequence=65535, timestamp=1234, payloadType=101)
    headers = [parseRTP(p) for _, p in sent]
    events = [parseEvent(payloadOf(p)) for _, p in sent]
    assert [round(o, 3) for o, _ in sent] == [0.0, 0.05, 0.1, 0.15, 0.15, 0.15]
    assert [h.sequence for h in headers] == [65535, 0, 1, 2, 3, 4]
    assert [h.marker for h in headers] == [True] + [False] * 5
    assert {(h.timestamp, h.ssrc, h.payloadType) for h in headers} == {(1234, 7, 101)}
    assert [(e.duration, e.end) for e in events] == [
        (400, False), (800, False), (1200, False), (1280, True), (1280, True), (1280, True)]
    assert {(e.event, e.volume) for e in events} == {(5, 10)}


@pytest.mark.parametrize("digit", list(DIGITS) + ["a", "d"])
def test_everyDigitRoundTrips(digit):
    """Every DTMF digit sent is detected once, upper case."""
    assert detect(DTMFDetector(), digitPackets(digit, 1, 0, 0)) == [digit.upper()]


def test_badDigitRefused():
    """Only the 16 DTMF digits can be sent."""
    for digit in ("E", "", "12"):
        with pytest.raises(ValueError, match="not a DTMF digit"):
            digitPackets(digit, 1, 0, 0)


@pytest.mark.parametrize("duration", [0, -1, 8.2])
def test_badDurationRefused(duration):
    """A press must last more than nothing and fit the 16-bit duration field."""
    with pytest.raises(ValueError, match="out of range"):
        digitPackets("1", 1, 0, 0, duration=duration)


def test_longestPressFits():
    """A press of exactly 0xFFFF samples ends with that duration."""
    last = digitPackets("1", 1, 0, 0, duration=0xFFFF / 8000)[-1][1]
    assert parseEvent(payloadOf(last)) == TelephoneEvent(1, True, 10, 0xFFFF)


def test_onePerPressDespiteRepeats():
    """
    Retransmitted starts and the three end packets give one digit; the
    same digit pressed again (a new timestamp) is a second digit.
    """
    first = digitPackets("1", 1, 0, 8000)
    again = digitPackets("1", 1, 6, 9600)
    packets = [first[0]] + first + first[-3:] + again
    detector = DTMFDetector()
    found = [detector.feed(p, o) for o, p in packets]
    digits = [d for d in found if d is not None]
    assert [(d.digit, d.timestamp, d.ssrc) for d in digits] == [("1", 8000, 1), ("1", 9600, 1)]
    assert digits[0].now == 0.0


def test_reportedWhateverArrivesFirst():
    """With the start lost, the first update or end packet reports the digit, once."""
    sent = digitPackets("9", 1, 0, 0)
    assert detect(DTMFDetector(), sent[3:]) == ["9"]
    assert detect(DTMFDetector(), list(reversed(sent))) == ["9"]


@given(st.randoms(use_true_random=False))
def test_shuffledAndDuplicatedStream(rng):
    """Any order and duplication of the packets of "123" yields each digit once."""
    packets = []
    for k, digit in enumerate("123"):
        packets += digitPackets(digit, 5, 10 * k, 2000 * k) * 2
    rng.shuffle(packets)
    assert sorted(detect(DTMFDetector(), packets)) == ["1", "2", "3"]


def test_streamsKeptApart():
    """Two SSRCs with the same timestamp are two presses."""
    packets = digitPackets("4", 1, 0, 100) + digitPackets("4", 2, 0, 100)
    assert detect(DTMFDetector(), packets) == ["4", "4"]


def test_longEventSegmentsAreOnePress():
    """
    A press longer than the 16-bit duration is sent in segments with new
    timestamps (RFC 4733 sec. 2.5.1.3): still one digit; after its end,
    the same digit at a new timestamp is a new press.
    """
    event = lambda duration, end=False: TelephoneEvent(0, end, 10, duration).toBytes()
    packets = [packRTP(101, 0, 0, 1, event(0xFFFF)),
               packRTP(101, 1, 0xFFFF, 1, event(4000)),
               packRTP(101, 2, 0xFFFF, 1, event(8000, True)),
               packRTP(101, 3, 0xFFFF + 9000, 1, event(400))]
    assert detect(DTMFDetector(), [(0.0, p) for p in packets]) == ["0", "0"]


def test_otherPacketsIgnored():
    """Audio, other payload types and non-digit events give nothing; garbage is counted."""
    detector = DTMFDetector(payloadType=96)
    assert detector.feed(packRTP(0, 0, 0, 1, b"\xff" * 160), 0.0) is None
    assert detector.feed(packRTP(101, 0, 0, 1, b"\x05\x0a\x00\x00"), 0.0) is None
    assert detector.feed(packRTP(96, 0, 0, 1, bytes([16, 10, 0, 0])), 0.0) is None
    for garbage in (b"", b"\x80", b"\x80\x60", packRTP(96, 1, 1, 1, b"\x05"), b"\x00\x60" + bytes(14)):
        assert detector.feed(garbage, 0.0) is None
    assert detector.malformed == 3
    assert detect(detector, digitPackets("7", 1, 0, 50, payloadType=96)) == ["7"]


@given(st.binary(max_size=40))
def test_garbageNeverRaises(data):
    """Whatever bytes arrive, feed() returns without raising."""
    detector = DTMFDetector(payloadType=data[1] & 0x7F if len(data) > 1 else 101)
    detector.feed(data, 0.0)


def test_forgetStream():
    """forget() drops a stream's state; a later segment is then a new press."""
    detector = DTMFDetector()
    long = TelephoneEvent(3, False, 10, 0xFFFF).toBytes()
    detector.feed(packRTP(101, 0, 0, 1, long), 0.0)
    detector.forget(1)
    assert detector.feed(packRTP(101, 1, 0xFFFF, 1, long), 0.0).digit == "3"


@pytest.mark.parametrize("contentType, body, digit", [
    ("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n", "5"),
    ("Application/DTMF-Relay; charset=x", "signal= #\nDuration=100", "#"),
    ("application/dtmf-relay", b"Duration=160\r\nSignal=a\r\n", "A"),
    ("application/dtmf", b"5", "5"),
    ("application/dtmf", b" *\r\n", "*"),
])
def test_parseInfoBody(contentType, body, digit):
    """dtmf-relay (any line order, any case) and plain dtmf bodies give the digit."""
    assert parseInfoBody(contentType, body) == digit


@pytest.mark.parametrize("contentType, body, status", [
    ("text/plain", b"5", 415),
    ("", b"Signal=5", 415),
    ("application/dtmf-relay", b"Duration=160", 400),
    ("application/dtmf-relay", b"Signal=12\r\n", 400),
    ("application/dtmf-relay", b"Signal=E\r\n", 400),
    ("application/dtmf", b"", 400),
    ("application/dtmf", b"\xff\xfe", 400),
])
def test_badInfoBody(contentType, body, status):
    """A body without a digit is a 400, another content type a 415."""
    with pytest.raises(ProtocolError) as caught:
        parseInfoBody(contentType, body)
    assert caught.value.statusHint == status


def test_buildInfoBody():
    """The INFO body the PBX sends is dtmf-relay and parses back."""
    contentType, body = buildInfoBody("b", 250)
    assert (contentType, body) == ("application/dtmf-relay", b"Signal=B\r\nDuration=250\r\n")
    assert parseInfoBody(contentType, body) == "B"
    with pytest.raises(ValueError):
        buildInfoBody("x")
