# -*- test-case-name: tests.media.test_rtp -*-
"""
Tests for L{tpbx.media.rtp}: the RTP/RTCP header facts the relay and the
features read (RFC 3550 sec. 5.1 and 6.4.1, RFC 5761 sec. 4).
"""

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tpbx.media.rtp import (
    RTPFormatError, isRTCP, parseRTCP, parseRTP, ssrcOf,
)


def rtp(pt=0, seq=1, ts=160, ssrc=0x11223344, marker=False, payload=b"\xff" * 160,
        csrc=(), extension=None, padding=0):
    """@return: an RTP packet built field by field."""
    first = 0x80 | len(csrc) | (0x10 if extension is not None else 0) | (0x20 if padding else 0)
    packet = struct.pack("!BBHII", first, pt | (0x80 if marker else 0), seq, ts, ssrc)
    packet += b"".join(struct.pack("!I", c) for c in csrc)
    if extension is not None:
        packet += struct.pack("!HH", 0xBEDE, len(extension) // 4) + extension
    packet += payload
    if padding:
        packet += b"\0" * (padding - 1) + bytes([padding])
    return packet


def rtcp(pt=200, ssrc=0xCAFEBABE, words=6):
    """@return: an RTCP packet of C{words + 1} 32-bit words."""
    return struct.pack("!BBHI", 0x80, pt, words, ssrc) + b"\0" * (4 * words - 4)


def test_parseFixedHeader():
    """Every field of the fixed header is read (RFC 3550 sec. 5.1)."""
    h = parseRTP(rtp(pt=8, seq=65535, ts=2**32 - 1, ssrc=7, marker=True))
    assert (h.version, h.payloadType, h.marker, h.sequence, h.timestamp, h.ssrc) == (
        2, 8, True, 65535, 2**32 - 1, 7)
    assert (h.payloadOffset, h.payloadEnd) == (12, 172)
    assert not (h.padding or h.extension or h.csrcCount)


def test_payloadAfterCsrcAndExtension():
    """The payload starts after the CSRC list and the header extension (sec. 5.3.1)."""
    packet = rtp(csrc=(1, 2), extension=b"\1\2\3\4" * 2, payload=b"abc")
    h = parseRTP(packet)
    assert h.csrcCount == 2 and h.extension
    assert packet[h.payloadOffset:h.payloadEnd] == b"abc"


def test_paddingExcludedFromPayload():
    """Padding counted by the last octet is not payload (sec. 5.1 P bit)."""
    packet = rtp(payload=b"xyz", padding=4)
    h = parseRTP(packet)
    assert h.padding and packet[h.payloadOffset:h.payloadEnd] == b"xyz"


@pytest.mark.parametrize("packet, why", [
    (b"", "shorter"),
    (rtp()[:11], "shorter"),
    (b"\x40" + rtp()[1:], "version 1"),
    (rtp(extension=b"", payload=b"")[:13], "extension"),
    (rtp(extension=b"\0" * 8, payload=b"")[:18], "run past"),
    (rtp(csrc=(1, 2, 3), payload=b"")[:20], "run past"),
])
def test_malformedRTPRejected(packet, why):
    """Short, wrong-version or overrunning packets raise RTPFormatError."""
    with pytest.raises(RTPFormatError, match=why):
        parseRTP(packet)


def test_paddingOverrunRejected():
    """A padding count larger than the payload, or zero, is an error."""
    packet = bytearray(rtp(payload=b"ab", padding=2))
    packet[-1] = 200
    with pytest.raises(RTPFormatError, match="run past"):
        parseRTP(bytes(packet))
    packet[-1] = 0
    with pytest.raises(RTPFormatError, match="zero"):
        parseRTP(bytes(packet))


def test_rtcpIsNotRTP():
    """An RTCP packet given to parseRTP is refused as RTCP (RFC 5761 sec. 4)."""
    with pytest.raises(RTPFormatError, match="RTCP"):
        parseRTP(rtcp())


def test_parseRTCP():
    """The common header and sender SSRC of RTCP are read (sec. 6.4.1)."""
    h = parseRTCP(rtcp(pt=201, ssrc=5, words=1))
    assert (h.version, h.packetType, h.length, h.ssrc, h.count) == (2, 201, 1, 5, 0)


@pytest.mark.parametrize("packet, why", [
    (rtcp()[:7], "shorter"),
    (rtcp(words=9)[:-4], "runs past"),
    (rtp(), "not RTCP"),
    (b"\x00" + rtcp()[1:], "version"),
])
def test_malformedRTCPRejected(packet, why):
    """Short, overrunning, non-RTCP or wrong-version packets raise."""
    with pytest.raises(RTPFormatError, match=why):
        parseRTCP(packet)


@pytest.mark.parametrize("second, expected", [
    (0, False), (8, False), (0x80 | 101, False), (191, False),
    (192, True), (200, True), (204, True), (205, True), (207, True), (223, True),
    (224, False),
])
def test_demultiplexing(second, expected):
    """RTCP is told from RTP by a second octet of 192-223 (RFC 5761 sec. 4),
    which covers SR..APP (200-204, i.e. PT 72-76 with the marker) and the
    feedback and XR types."""
    assert isRTCP(bytes([0x80, second]) + b"\0" * 10) is expected


def test_ssrcOf():
    """The sender's SSRC is found in RTP and in RTCP; garbage gives None."""
    assert ssrcOf(rtp(ssrc=42)) == 42
    assert ssrcOf(rtcp(ssrc=43)) == 43
    assert ssrcOf(b"") is None
    assert ssrcOf(rtp()[:11]) is None
    assert ssrcOf(rtcp()[:7]) is None
    assert ssrcOf(b"\x00" * 12) is None


@given(st.binary(max_size=64))
def test_garbageNeverCrashes(data):
    """Any bytes give a header or RTPFormatError, never another exception."""
    for parse in (parseRTP, parseRTCP):
        try:
            parse(data)
        except RTPFormatError:
            pass
    ssrcOf(data)
    isRTCP(data)


def test_byteByByte():
    """Every prefix of a valid packet parses or raises RTPFormatError."""
    packet = rtp(csrc=(9,), extension=b"\0" * 4, payload=b"p", padding=3)
    for i in range(len(packet) + 1):
        try:
            parseRTP(packet[:i])
        except RTPFormatError:
            pass
    assert parseRTP(packet).csrcCount == 1
