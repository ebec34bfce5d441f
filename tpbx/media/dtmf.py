# -*- test-case-name: tests.media.test_dtmf -*-
"""
DTMF: RFC 4733 telephone-events in RTP, and SIP INFO bodies.

Features (dial codes during a call, later IVR and voicemail) need one digit
per key press, whichever way the phone sends it: as RTP telephone-events
(repeated start/update packets and three end packets per press, RFC 4733
sec. 2.5.1) or as SIP INFO with C{application/dtmf-relay} or
C{application/dtmf}.  L{DTMFDetector} collapses the packet stream into
digits; L{digitPackets} makes the packet stream when the PBX sends a digit,
and L{DigitSender} paces those packets out in time (a digit that came by
SIP INFO, sent on as RTP to a party that wants telephone-events).

L{packRTP} (RFC 3550 sec. 5.1) builds the packets of the endpoints that
send (DTMF here, L{tpbx.media.player}); L{tpbx.media.rtp} reads them.

Sans-IO: bytes and C{now} in, digits out; no Twisted (the sender is
given a clock: anything with C{seconds} and C{callLater}).
"""

from __future__ import annotations

import secrets
import struct
from collections import deque
from dataclasses import dataclass

from tpbx.errors import ProtocolError
from tpbx.media.rtp import RTPFormatError, parseRTP

__all__ = ["DIGITS", "packRTP", "TelephoneEvent",
           "parseEvent", "Digit", "DTMFDetector", "digitPackets", "DigitSender",
           "parseInfoBody", "buildInfoBody", "INFO_DTMF_RELAY", "INFO_DTMF"]

#: The DTMF event codes 0-15 (RFC 4733 sec. 3.2, table 3), by code.
DIGITS = "0123456789*#ABCD"

INFO_DTMF_RELAY = "application/dtmf-relay"
INFO_DTMF = "application/dtmf"

_HEADER = struct.Struct("!BBHII")
_EVENT = struct.Struct("!BBH")
_RATE = 8000
_SLACK = _RATE // 5
_LONG_SEGMENT = 0x8000


def packRTP(payloadType: int, sequence: int, timestamp: int, ssrc: int,
            payload: bytes, marker: bool = False) -> bytes:
    """
    @return: an RTP packet with a 12-byte header (RFC 3550 sec. 5.1);
        sequence and timestamp are taken modulo their field sizes.
    """
    return _HEADER.pack(0x80, (0x80 if marker else 0) | payloadType,
                        sequence & 0xFFFF, timestamp & 0xFFFFFFFF, ssrc) + payload


@dataclass(frozen=True, slots=True)
class TelephoneEvent:
    """
    One telephone-event payload (RFC 4733 sec. 2.3).

    @ivar event: the event code (0-15 are DTMF digits).
    @ivar end: the E bit: this is (a retransmission of) the final packet.
    @ivar volume: power level in -dBm0 (0-63).
    @ivar duration: in timestamp units since the event's RTP timestamp.
    """

    event: int
    end: bool
    volume: int
    duration: int

    @property
    def digit(self) -> str | None:
        """@return: the DTMF digit, or L{None} for other events."""
        return DIGITS[self.event] if self.event < len(DIGITS) else None

    def toBytes(self) -> bytes:
        """@return: the 4-byte payload."""
        return _EVENT.pack(self.event, (0x80 if self.end else 0) | self.volume,
                           self.duration)


def parseEvent(payload: bytes) -> TelephoneEvent:
    """
    Read the first event of a telephone-event payload (RFC 4733 sec. 2.3;
    further events of a multi-event packet, sec. 2.5.1.5, are earlier
    segments already reported).

    @raise RTPFormatError: the payload is shorter than 4 bytes.
    """
    if len(payload) < 4:
        raise RTPFormatError(f"telephone-event payload of {len(payload)} bytes")
    event, flags, duration = _EVENT.unpack_from(payload)
    return TelephoneEvent(event, bool(flags & 0x80), flags & 0x3F, duration)


@dataclass(frozen=True, slots=True)
class Digit:
    """
    A key press.

    @ivar digit: C{"0"}-C{"9"}, C{"*"}, C{"#"}, C{"A"}-C{"D"}.
    @ivar ssrc: the RTP stream it came in (L{None} for SIP INFO).
    @ivar timestamp: its RTP timestamp (L{None} for SIP INFO).
    @ivar now: when it was detected.
    """

    digit: str
    ssrc: int | None
    timestamp: int | None
    now: float


class DTMFDetector:
    """
    Turn RTP packets into one L{Digit} per key press.

    A press is identified by its SSRC and RTP timestamp, which all of its
    packets share (RFC 4733 sec. 2.5.1.2); its repeated start and end packets
    (sec. 2.5.1.4) are recognised by that key, and so is a long event split
    into segments with new timestamps (sec. 2.5.1.3), which continues the
    previous one without an end bit in between.

    Its memory of presses is made with the first telephone-event packet:
    a detector watches every answered call, and most never see a key.

    @ivar malformed: packets dropped because they could not be parsed.
    """

    __slots__ = ("payloadType", "malformed", "_memory", "_seen", "_last")

    def __init__(self, payloadType: int = 101, memory: int = 32):
        """
        @param payloadType: the telephone-event payload type negotiated in SDP.
        @param memory: how many recent presses to remember for duplicates.
        """
        self.payloadType = payloadType
        self.malformed = 0
        self._memory = memory
        self._seen: deque | None = None   # (ssrc, timestamp) of recent presses
        self._last: dict | None = None    # ssrc -> (timestamp, event)

    def feed(self, packet: bytes, now: float) -> Digit | None:
        """
        @param packet: an RTP packet (any payload type; others are ignored).
        @param now: the time it arrived.
        @return: the digit when C{packet} is the first seen of a new press,
            else L{None}.  A malformed packet is counted and dropped.
        """
        if len(packet) < 2 or packet[1] & 0x7F != self.payloadType:
            return None
        try:
            rtp = parseRTP(packet)
            event = parseEvent(packet[rtp.payloadOffset:rtp.payloadEnd])
        except RTPFormatError:
            self.malformed += 1
            return None
        if self._seen is None:
            self._seen, self._last = deque(maxlen=self._memory), {}
        key = (rtp.ssrc, rtp.timestamp)
        last = self._last.get(rtp.ssrc)
        if key in self._seen:
            if last is not None and last[0] == rtp.timestamp and not last[1].end:
                self._last[rtp.ssrc] = (rtp.timestamp, event)
            return None
        self._seen.append(key)
        self._last[rtp.ssrc] = (rtp.timestamp, event)
        if event.digit is None or _continues(last, rtp.timestamp, event):
            return None
        return Digit(event.digit, rtp.ssrc, rtp.timestamp, now)

    def forget(self, ssrc: int) -> None:
        """Drop the state of a stream that ended (its SSRC changed)."""
        if self._last is not None:
            self._last.pop(ssrc, None)


def _continues(last: tuple | None, timestamp: int, event: TelephoneEvent) -> bool:
    """
    @param last: C{(timestamp, event)} of the stream's previous event.
    @return: whether C{event} at C{timestamp} is the next segment of that
        unfinished long event (RFC 4733 sec. 2.5.1.3): same code, started
        where the previous one reached, which was a long segment.
    """
    if last is None or last[1].end or last[1].event != event.event:
        return False
    lastTimestamp, lastEvent = last
    gap = (timestamp - lastTimestamp - lastEvent.duration + _SLACK) & 0xFFFFFFFF
    return lastEvent.duration >= _LONG_SEGMENT and gap <= 2 * _SLACK


def digitPackets(digit: str, ssrc: int, sequence: int, timestamp: int,
                 payloadType: int = 101, duration: float = 0.16,
                 volume: int = 10, interval: float = 0.05,
                 endRepeats: int = 3) -> list:
    """
    The RTP packets that send one key press (RFC 4733 sec. 2.5.1): a first
    packet with the marker bit, an update every C{interval} with the
    duration so far, then the final duration in C{endRepeats} packets with
    the E bit, all sharing the event's RTP timestamp.

    @param sequence: the sequence number of the first packet.
    @param duration: how long the key is pressed, in seconds.
    @return: C{(offset, packet)} pairs, C{offset} in seconds after the first.
    @raise ValueError: C{digit} is not a DTMF digit, or C{duration} does
        not fit one segment (over 0 and up to 8.19 s, RFC 4733 sec. 2.3.5).
    """
    code = DIGITS.find(digit.upper()) if len(digit) == 1 else -1
    if code < 0:
        raise ValueError(f"not a DTMF digit: {digit!r}")
    total, step = round(duration * _RATE), round(interval * _RATE)
    if not 0 < total <= 0xFFFF or step <= 0:
        raise ValueError(f"DTMF duration {duration} s / interval {interval} s out of range")
    updates = [min(step * (k + 1), total) for k in range(-(-total // step))]
    events = [TelephoneEvent(code, False, volume, d) for d in updates[:-1]]
    events += [TelephoneEvent(code, True, volume, total)] * endRepeats
    offsets = [interval * k for k in range(len(updates) - 1)]
    offsets += [interval * (len(updates) - 1)] * endRepeats
    return [(offset, packRTP(payloadType, sequence + k, timestamp, ssrc,
                             event.toBytes(), marker=k == 0))
            for k, (offset, event) in enumerate(zip(offsets, events))]


class DigitSender:
    """
    Send key presses as RFC 4733 packets, each packet at its time: the
    packets of L{digitPackets} are spread over the press (updates every
    50 ms, then the end packets), and presses queued while one is being
    sent follow it after C{gap} seconds, each with its own RTP timestamp
    (sec. 2.5.1.2).  The stream has an SSRC of its own.

    @ivar pending: whether packets or presses are still to be sent.
    """

    def __init__(self, clock, send, payloadType: int = 101, ssrc: int | None = None,
                 duration: float = 0.16, gap: float = 0.05):
        """
        @param clock: provides C{seconds()} and C{callLater(delay, f, *a)}.
        @param send: called with each packet (a relay side's C{inject}).
        @param payloadType: the telephone-event type the receiver wants.
        @param ssrc: the stream's SSRC; random when L{None} (also the
            first sequence number and timestamp are, RFC 3550 sec. 5.1).
        @param duration: how long each key is pressed, in seconds.
        """
        self._clock, self._send = clock, send
        self.payloadType, self.duration, self.gap = payloadType, duration, gap
        self.ssrc = secrets.randbits(32) if ssrc is None else ssrc
        self._sequence = secrets.randbits(16)
        self._timestamp = secrets.randbits(32)
        self._origin = clock.seconds()
        self._queue: deque = deque()
        self._call = None

    @property
    def pending(self) -> bool:
        return self._call is not None or bool(self._queue)

    def sendDigit(self, digit: str) -> None:
        """
        Send C{digit} now, or after the presses already under way.

        @raise ValueError: C{digit} is not a DTMF digit.
        """
        if len(digit) != 1 or digit.upper() not in DIGITS:
            raise ValueError(f"not a DTMF digit: {digit!r}")
        self._queue.append(digit)
        if self._call is None:
            self._press()

    def _press(self) -> None:
        """Start the next queued press: its first packet goes out now."""
        self._call = None
        if not self._queue:
            return
        elapsed = round((self._clock.seconds() - self._origin) * _RATE)
        packets = digitPackets(self._queue.popleft(), self.ssrc, self._sequence,
                               self._timestamp + elapsed, self.payloadType, self.duration)
        self._sequence += len(packets)
        self._burst(packets, 0)

    def _burst(self, packets: list, index: int) -> None:
        """Send the packets due at C{packets[index]}'s offset; schedule the rest."""
        self._call = None
        offset = packets[index][0]
        while index < len(packets) and packets[index][0] <= offset:
            self._send(packets[index][1])
            index += 1
        if index < len(packets):
            self._call = self._clock.callLater(packets[index][0] - offset, self._burst,
                                               packets, index)
        elif self._queue:
            self._call = self._clock.callLater(self.gap, self._press)

    def stop(self) -> None:
        """Drop what is still to be sent and cancel the timer."""
        self._queue.clear()
        call, self._call = self._call, None
        if call is not None and call.active():
            call.cancel()


def parseInfoBody(contentType: str, body: bytes | str) -> str:
    """
    Read the digit of a SIP INFO request: C{application/dtmf-relay}
    (C{Signal=5} and C{Duration=160} lines) or C{application/dtmf} (the
    digit alone).

    @param contentType: the Content-Type header value (parameters allowed).
    @return: the digit, upper case.
    @raise ProtocolError: another content type (415) or no valid digit (400).
    """
    kind = contentType.partition(";")[0].strip().lower()
    text = body.decode("ascii", "replace") if isinstance(body, bytes) else body
    if kind == INFO_DTMF_RELAY:
        signal = None
        for line in text.splitlines():
            name, _, value = line.partition("=")
            if name.strip().lower() == "signal":
                signal = value.strip()
                break
    elif kind == INFO_DTMF:
        signal = text.strip()
    else:
        raise ProtocolError(f"unsupported INFO content type {kind or '(none)'}", 415)
    if signal is None or len(signal) != 1 or signal.upper() not in DIGITS:
        raise ProtocolError("INFO body carries no DTMF digit")
    return signal.upper()


def buildInfoBody(digit: str, duration: int = 160) -> tuple:
    """
    @param duration: the press length in milliseconds.
    @return: C{(contentType, body)} of an C{application/dtmf-relay} INFO.
    @raise ValueError: C{digit} is not a DTMF digit.
    """
    if len(digit) != 1 or digit.upper() not in DIGITS:
        raise ValueError(f"not a DTMF digit: {digit!r}")
    return INFO_DTMF_RELAY, f"Signal={digit.upper()}\r\nDuration={duration}\r\n".encode()
