# -*- test-case-name: tests.media.test_rtp -*-
"""
The few facts of RTP and RTCP headers that a relay needs (RFC 3550).

Why so little: the relay forwards packets without looking at them; it reads
a header only on its slow path, to decide whether a packet from a new
source may take over a stream (latching needs the version and the SSRC) and
to tell RTCP from RTP when both share one port (RFC 5761).  Features that
look deeper (recording, RFC 4733 DTMF) parse with L{parseRTP} on their own
tap.  Pure and stdlib-only: bytes in, values or L{RTPFormatError} out.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = [
    "RTP_VERSION", "RTP_HEADER_SIZE", "RTCP_HEADER_SIZE", "RTPFormatError",
    "RTPHeader", "RTCPHeader", "parseRTP", "parseRTCP", "isRTCP", "ssrcOf",
]

RTP_VERSION = 2
RTP_HEADER_SIZE = 12   # RFC 3550 sec. 5.1: the fixed header
RTCP_HEADER_SIZE = 8   # RFC 3550 sec. 6.4.1: common header + sender SSRC

# RFC 5761 sec. 4: with RTP and RTCP on one port, the second octet of an RTCP
# packet is its packet type, 192-223 (SR 200 .. APP 204, RTPFB/PSFB 205/206
# of RFC 4585, XR 207 of RFC 3611); RTP payload types 64-95 are forbidden so
# that an RTP packet (marker bit + PT) never falls in that range.
_RTCP_FIRST, _RTCP_LAST = 192, 223

_RTP_FIXED = struct.Struct("!BBHII")
_RTCP_FIXED = struct.Struct("!BBHI")


class RTPFormatError(ValueError):
    """A packet is not a well-formed RTP or RTCP packet; drop it."""


@dataclass(frozen=True, slots=True)
class RTPHeader:
    """
    The fixed RTP header (RFC 3550 sec. 5.1).

    @ivar payloadOffset: where the payload starts (after CSRCs and the
        header extension of sec. 5.3.1).
    @ivar payloadEnd: where the payload ends (before padding, sec. 5.1 P).
    """

    version: int
    padding: bool
    extension: bool
    csrcCount: int
    marker: bool
    payloadType: int
    sequence: int
    timestamp: int
    ssrc: int
    payloadOffset: int
    payloadEnd: int


@dataclass(frozen=True, slots=True)
class RTCPHeader:
    """
    The common header of the first packet of a compound RTCP packet
    (RFC 3550 sec. 6.4.1) and the SSRC of its sender.

    @ivar count: reception report count (SR/RR) or subtype (APP, feedback).
    @ivar length: the packet's length in 32-bit words minus one.
    """

    version: int
    padding: bool
    count: int
    packetType: int
    length: int
    ssrc: int


def isRTCP(packet: bytes) -> bool:
    """
    @return: whether C{packet} is RTCP by the demultiplexing rule of
        RFC 5761 sec. 4 (second octet 192-223); no other check is made.
    """
    return len(packet) >= 2 and _RTCP_FIRST <= packet[1] <= _RTCP_LAST


def ssrcOf(packet: bytes) -> int | None:
    """
    The SSRC of the sender of an RTP or RTCP packet: what latching compares.

    @return: the SSRC, or L{None} when C{packet} is too short or not
        version 2.
    """
    if not packet or packet[0] >> 6 != RTP_VERSION:
        return None
    if isRTCP(packet):
        return _RTCP_FIXED.unpack_from(packet)[3] if len(packet) >= RTCP_HEADER_SIZE else None
    return _RTP_FIXED.unpack_from(packet)[4] if len(packet) >= RTP_HEADER_SIZE else None


def parseRTP(packet: bytes) -> RTPHeader:
    """
    Parse the fixed header of an RTP packet and find its payload.

    @raise RTPFormatError: when the packet is short, not version 2, is RTCP,
        or its CSRC list, extension or padding run past its end.
    """
    if len(packet) < RTP_HEADER_SIZE:
        raise RTPFormatError(f"RTP packet of {len(packet)} bytes is shorter than its header")
    first, second, sequence, timestamp, ssrc = _RTP_FIXED.unpack_from(packet)
    _checkVersion(first)
    if _RTCP_FIRST <= second <= _RTCP_LAST:
        raise RTPFormatError(f"packet type {second} is RTCP (RFC 5761 sec. 4)")
    csrcCount, extension = first & 0x0F, bool(first & 0x10)
    offset = RTP_HEADER_SIZE + 4 * csrcCount
    if extension:
        # RFC 3550 sec. 5.3.1: 16-bit profile data, 16-bit length in words.
        if len(packet) < offset + 4:
            raise RTPFormatError("RTP header extension runs past the packet")
        offset += 4 + 4 * int.from_bytes(packet[offset + 2:offset + 4], "big")
    end = len(packet) - (_paddingLength(packet) if first & 0x20 else 0)
    if offset > end:
        raise RTPFormatError("RTP header, extension or padding run past the packet")
    return RTPHeader(RTP_VERSION, bool(first & 0x20), extension, csrcCount,
                     bool(second & 0x80), second & 0x7F, sequence, timestamp, ssrc,
                     offset, end)


def parseRTCP(packet: bytes) -> RTCPHeader:
    """
    Parse the header of the first packet of a compound RTCP packet.

    @raise RTPFormatError: when the packet is short, not version 2, not an
        RTCP packet type, or its length field runs past its end.
    """
    if len(packet) < RTCP_HEADER_SIZE:
        raise RTPFormatError(f"RTCP packet of {len(packet)} bytes is shorter than its header")
    first, packetType, length, ssrc = _RTCP_FIXED.unpack_from(packet)
    _checkVersion(first)
    if not _RTCP_FIRST <= packetType <= _RTCP_LAST:
        raise RTPFormatError(f"packet type {packetType} is not RTCP")
    if 4 * (length + 1) > len(packet):
        raise RTPFormatError("RTCP length runs past the packet")
    return RTCPHeader(RTP_VERSION, bool(first & 0x20), first & 0x1F, packetType, length, ssrc)


def _checkVersion(first: int) -> None:
    """@raise RTPFormatError: unless the first octet says version 2."""
    if first >> 6 != RTP_VERSION:
        raise RTPFormatError(f"RTP version {first >> 6}, expected {RTP_VERSION}")


def _paddingLength(packet: bytes) -> int:
    """
    @return: the padding length in the last octet (RFC 3550 sec. 5.1 P).
    @raise RTPFormatError: when it is zero.
    """
    count = packet[-1]
    if count == 0:
        raise RTPFormatError("RTP padding bit set with a padding count of zero")
    return count
