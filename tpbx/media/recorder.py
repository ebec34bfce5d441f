# -*- test-case-name: tests.media.test_recorder -*-
"""
Record a call to a WAV file (issue 3, part 10; SPEC E5).

A recorder sits on the relay's taps of both sides, so it sees each RTP
packet with its arrival time.  Each side becomes a timeline of 8 kHz
samples: a stream is placed by arrival time when it starts (or when its
SSRC or timestamps jump) and by its RTP timestamps after that, so jitter
does not stretch the audio, a lost packet leaves silence and a reordered
one still lands where it belongs.  Only G.711 (PT 0 and 8, RFC 3551 sec. 6)
is decoded; telephone-events, comfort noise and other payload types are
skipped.

Calls last hours, so audio is not kept in memory: the last seconds of each
side stay in a small buffer (room for reordering) and the rest goes to an
anonymous temporary file beside the destination.  L{CallRecorder.close}
writes the WAV atomically: mixed (both sides summed, mono) or stereo (side
a left, side b right).
"""

from __future__ import annotations

import os
import tempfile

from tpbx.media.g711 import decode
from tpbx.media.rtp import RTPFormatError, parseRTP
from tpbx.media.wav import RATE, interleave, mix, writeWav

__all__ = ["CallRecorder", "MODES", "CODECS_BY_TYPE"]

MODES = ("mixed", "stereo")

#: Payload types the recorder decodes (RFC 3551 sec. 6, table 4).
CODECS_BY_TYPE = {0: "PCMU", 8: "PCMA"}

_JUMP = RATE            # re-anchor when timestamps and arrival differ by 1 s
_WINDOW = 2 * RATE      # samples kept in memory for late packets
_CHUNK = 64 * 1024      # bytes per read when writing the WAV


class _Timeline:
    """
    One side's samples: the newest L{_WINDOW} in memory, older ones in an
    anonymous temporary file.
    """

    def __init__(self, directory: str):
        self._file = tempfile.TemporaryFile(dir=directory)
        self._flushed = 0                 # samples already in the file
        self._buffer = bytearray()        # samples from _flushed on
        self._anchor = None               # (ssrc, timestamp, position)

    @property
    def length(self) -> int:
        """@return: samples recorded, including silence between packets."""
        return self._flushed + len(self._buffer) // 2

    def place(self, ssrc: int, timestamp: int, arrival: int) -> int:
        """
        @param arrival: the sample position the packet arrived at.
        @return: where the packet's first sample belongs: by its RTP
            timestamp relative to the stream's anchor, re-anchored at its
            arrival for a new SSRC or a jump of more than L{_JUMP}.
        """
        if self._anchor is not None and self._anchor[0] == ssrc:
            _, base, position = self._anchor
            delta = (timestamp - base + 0x80000000) % 0x100000000 - 0x80000000
            if abs(position + delta - arrival) <= _JUMP:
                return position + delta
        self._anchor = (ssrc, timestamp, arrival)
        return arrival

    def write(self, position: int, pcm: bytes) -> None:
        """
        Put C{pcm} at sample C{position}; a gap before it stays silent, and
        the part of it older than the in-memory window is dropped.
        """
        start = 2 * (position - self._flushed)
        if start < 0:
            pcm, start = pcm[-start:], 0
        end = start + len(pcm)
        if end > len(self._buffer):
            self._buffer.extend(bytes(end - len(self._buffer)))
        self._buffer[start:end] = pcm
        excess = len(self._buffer) - 2 * _WINDOW
        if excess > 0:
            self._file.write(self._buffer[:excess])
            del self._buffer[:excess]
            self._flushed += excess // 2

    def chunks(self, length: int):
        """
        @return: an iterator of the samples, padded with silence to
            C{length}, in chunks of L{_CHUNK} bytes; the file is closed after.
        """
        self._file.write(self._buffer)
        self._buffer = bytearray()
        self._file.seek(0)
        remaining = 2 * length
        with self._file:
            while remaining > 0:
                chunk = self._file.read(min(_CHUNK, remaining))
                chunk += bytes(min(_CHUNK, remaining) - len(chunk))
                remaining -= len(chunk)
                yield chunk

    def discard(self) -> None:
        """Delete the temporary file."""
        self._file.close()


class CallRecorder:
    """
    Record the two sides of a call into one WAV file.

    @ivar path: the WAV file written by L{close}.
    @ivar mode: C{"mixed"} or C{"stereo"}.
    @ivar dropped: packets that could not be parsed.
    """

    def __init__(self, path: str | os.PathLike, mode: str = "mixed"):
        """
        @raise ValueError: unknown C{mode}.
        @raise OSError: no temporary file can be made beside C{path}.
        """
        if mode not in MODES:
            raise ValueError(f"recording mode {mode!r} is not one of {MODES}")
        self.path = os.fspath(path)
        self.mode = mode
        self.dropped = 0
        self._start: float | None = None
        directory = os.path.dirname(os.path.abspath(self.path))
        self._sides = {"a": _Timeline(directory), "b": _Timeline(directory)}
        self._closed = False

    def feed(self, side: str, packet: bytes, now: float) -> None:
        """
        Record one RTP packet (the relay's tap signature, with the side).

        @param side: C{"a"} or C{"b"}.
        @param now: its arrival time; the first packet's starts the recording.
        @raise KeyError: C{side} is neither.
        """
        timeline = self._sides[side]
        if self._closed or len(packet) < 2 or (packet[1] & 0x7F) not in CODECS_BY_TYPE:
            return
        try:
            rtp = parseRTP(packet)
        except RTPFormatError:
            self.dropped += 1
            return
        if self._start is None:
            self._start = now
        arrival = round((now - self._start) * RATE)
        position = timeline.place(rtp.ssrc, rtp.timestamp, arrival)
        pcm = decode(CODECS_BY_TYPE[rtp.payloadType],
                     packet[rtp.payloadOffset:rtp.payloadEnd])
        timeline.write(position, pcm)

    def tap(self, side: str):
        """
        @return: a callable C{(packet, now)} recording into C{side}, the
            signature of the relay's per-side taps.
        """
        self._sides[side]
        return lambda packet, now: self.feed(side, packet, now)

    def close(self) -> str:
        """
        Write the WAV file atomically and delete the temporary files.

        @return: the path written.
        @raise OSError: the file cannot be written (nothing is left behind).
        """
        if self._closed:
            return self.path
        self._closed = True
        a, b = self._sides["a"], self._sides["b"]
        length = max(a.length, b.length)
        chunks = zip(a.chunks(length), b.chunks(length))
        if self.mode == "stereo":
            writeWav(self.path, (interleave(x, y) for x, y in chunks), channels=2, mode=0o640)
        else:
            writeWav(self.path, (mix(x, y) for x, y in chunks), mode=0o640)
        return self.path

    def abort(self) -> None:
        """Stop recording and write nothing."""
        self._closed = True
        for timeline in self._sides.values():
            timeline.discard()
