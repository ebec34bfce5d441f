# -*- test-case-name: tests.media.test_recorder -*-
"""
Record a call to a WAV file (issue 3, part 10; SPEC E5).

A recorder sits on the relay's taps of both sides, so it sees each RTP
packet with its arrival time.  Each side becomes a timeline of ticks of
the RTP clock (8 kHz for G.711 and, by RFC 3551 sec. 4.5.2, for G.722
too): a stream is placed by arrival time when it starts (or when its SSRC
or timestamps jump) and by its RTP timestamps after that, so jitter does
not stretch the audio, a lost packet leaves silence and a reordered one
still lands where it belongs.  G.711 (PT 0 and 8, RFC 3551 sec. 6) and
G.722 (PT 9) are recorded; telephone-events, comfort noise and other
payload types are skipped.

Why the timelines keep the coded bytes, not audio: all three codecs
carry one byte per tick, so a tick is stored as two bytes, the code and
which codec it belongs to (0 for silence), and the reactor thread, which
feeds the recorder packet by packet, only copies bytes.  Decoding happens
when the WAV is written: G.711 through C{audioop} in a blink, G.722 in
pure Python (L{tpbx.media.g722}) at about 1.3 ms of CPU per 20 ms packet,
which the reactor cannot afford: a recording with G.722 in it is written
at 16 kHz (G.711 stretches in it are upsampled by repeating samples) and,
when the recorder was given a way to run work in the background (the
service gives the reactor's thread pool), decoded and written there.  A
thread still shares the interpreter lock with the reactor: an hour of a
G.722 call is about 8 minutes of CPU to decode, during which the reactor
gets roughly half of one core (a worker process would avoid that).

Calls last hours, so nothing long is kept in memory: the last seconds of
each side stay in a small buffer (room for reordering) and the rest goes
to an anonymous temporary file beside the destination.
L{CallRecorder.close} writes the WAV atomically: mixed (both sides
summed, mono) or stereo (side a, the caller, left; side b right).  Which
of the two is the C{recordingFormat} setting, read by L{RecorderFactory}
when each recording starts.
"""

from __future__ import annotations

import os
import re
import tempfile
from typing import Callable

from twisted.logger import Logger

from tpbx.media import g711
from tpbx.media.g722 import G722Decoder
from tpbx.media.g722 import RATE as WIDE_RATE
from tpbx.media.rtp import RTPFormatError, parseRTP
from tpbx.media.wav import RATE, interleave, mix, writeWav

__all__ = ["CallRecorder", "RecorderFactory", "MODES", "DEFAULT_MODE",
           "CODECS_BY_TYPE", "FORMAT_SETTING"]

_log = Logger()

MODES = ("mixed", "stereo")
DEFAULT_MODE = "mixed"

#: The setting naming the mode of new recordings.
FORMAT_SETTING = "recordingFormat"

#: Payload types the recorder decodes (RFC 3551 sec. 6, table 4).
CODECS_BY_TYPE = {0: "PCMU", 8: "PCMA", 9: "G722"}

# A tick's codec byte: 1, 2, 3 for the codecs above, 0 for silence.
_TAG_OF_TYPE = {payloadType: tag for tag, payloadType in enumerate(CODECS_BY_TYPE, 1)}
_WIDE = _TAG_OF_TYPE[9]
_G711_OF_TAG = {tag: CODECS_BY_TYPE[payloadType] for payloadType, tag in _TAG_OF_TYPE.items()
                if tag != _WIDE}
_RUNS = re.compile(rb"\x00+|\x01+|\x02+|\x03+")

_JUMP = RATE            # re-anchor when timestamps and arrival differ by 1 s
_WINDOW = 2 * RATE      # ticks kept in memory for late packets
_CHUNK = 64 * 1024      # bytes per read when writing the WAV


class _Timeline:
    """
    One side's ticks (code byte, codec byte): the newest L{_WINDOW} in
    memory, older ones in an anonymous temporary file.
    """

    def __init__(self, directory: str):
        self._file = tempfile.TemporaryFile(dir=directory)
        self._flushed = 0                 # ticks already in the file
        self._buffer = bytearray()        # ticks from _flushed on
        self._anchor = None               # (ssrc, timestamp, position)

    @property
    def length(self) -> int:
        """@return: ticks recorded, including silence between packets."""
        return self._flushed + len(self._buffer) // 2

    def place(self, ssrc: int, timestamp: int, arrival: int) -> int:
        """
        @param arrival: the tick the packet arrived at.
        @return: where the packet's first tick belongs: by its RTP
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

    def write(self, position: int, ticks: bytes) -> None:
        """
        Put C{ticks} at tick C{position}; a gap before it stays
        silent, and the part of it older than the in-memory window is
        dropped.
        """
        start = 2 * (position - self._flushed)
        if start < 0:
            ticks, start = ticks[-start:], 0
        end = start + len(ticks)
        if end > len(self._buffer):
            self._buffer.extend(bytes(end - len(self._buffer)))
        self._buffer[start:end] = ticks
        excess = len(self._buffer) - 2 * _WINDOW
        if excess > 0:
            self._file.write(self._buffer[:excess])
            del self._buffer[:excess]
            self._flushed += excess // 2

    def chunks(self, length: int):
        """
        @return: an iterator of the ticks, padded with silence to
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


def _doubled(pcm: bytes) -> bytes:
    """@return: 8 kHz 16-bit C{pcm} at 16 kHz, each sample repeated."""
    out = bytearray(2 * len(pcm))
    for offset in (0, 2):
        out[offset::4] = pcm[0::2]
        out[offset + 1::4] = pcm[1::2]
    return bytes(out)


class _SideDecoder:
    """
    Turn one side's ticks into 16-bit PCM, at 8 kHz or (C{wide}) 16 kHz;
    the G.722 decoder's state runs on from one chunk to the next.
    """

    def __init__(self, wide: bool):
        self._wide = wide
        self._g722 = G722Decoder()

    def pcm(self, ticks: bytes) -> bytes:
        """@return: the audio of C{ticks} (code, codec) pairs."""
        codes, tags = ticks[0::2], ticks[1::2]
        return b"".join(self._run(tags[m.start()], codes[m.start():m.end()])
                        for m in _RUNS.finditer(tags))

    def _run(self, tag: int, codes: bytes) -> bytes:
        if tag == _WIDE:
            return self._g722.decode(codes)
        if tag == 0:
            return bytes((4 if self._wide else 2) * len(codes))
        pcm = g711.decode(_G711_OF_TAG[tag], codes)
        return _doubled(pcm) if self._wide else pcm


class CallRecorder:
    """
    Record the two sides of a call into one WAV file.

    @ivar path: the WAV file written by L{close}.
    @ivar mode: C{"mixed"} or C{"stereo"}.
    @ivar dropped: packets that could not be parsed.
    @ivar wide: whether G.722 was recorded (the WAV is then 16 kHz).
    """

    def __init__(self, path: str | os.PathLike, mode: str = DEFAULT_MODE,
                 background: Callable[[Callable[[], None]], None] | None = None):
        """
        @param background: runs a slow C{work()} (writing a recording with
            G.722 in it) off the reactor thread, e.g. C{reactor.callInThread};
            L{None}: L{close} does all the work itself.
        @raise ValueError: unknown C{mode}.
        @raise OSError: no temporary file can be made beside C{path}.
        """
        if mode not in MODES:
            raise ValueError(f"recording mode {mode!r} is not one of {MODES}")
        self.path = os.fspath(path)
        self.mode = mode
        self.dropped = 0
        self.wide = False
        self._background = background
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
        if self._closed or len(packet) < 2 or (packet[1] & 0x7F) not in _TAG_OF_TYPE:
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
        codes = packet[rtp.payloadOffset:rtp.payloadEnd]
        ticks = bytearray(2 * len(codes))
        ticks[0::2] = codes
        ticks[1::2] = bytes((_TAG_OF_TYPE[rtp.payloadType],)) * len(codes)
        self.wide = self.wide or rtp.payloadType == 9
        timeline.write(position, ticks)

    def tap(self, side: str):
        """
        @return: a callable C{(packet, now)} recording into C{side}, the
            signature of the relay's per-side taps.
        """
        self._sides[side]
        return lambda packet, now: self.feed(side, packet, now)

    def close(self) -> str:
        """
        Stop recording and write the WAV file atomically; the temporary
        files are deleted.  A recording with G.722 in it is written by
        the C{background} runner when there is one: the file appears a
        little later (under its final name only once complete).

        @return: the path written.
        @raise OSError: the file cannot be written (nothing is left
            behind); in the background this is logged instead.
        """
        if self._closed:
            return self.path
        self._closed = True
        if self.wide and self._background is not None:
            self._background(self._writeLogged)
        else:
            self._write()
        return self.path

    def _write(self) -> None:
        a, b = self._sides["a"], self._sides["b"]
        length = max(a.length, b.length)
        decoders = _SideDecoder(self.wide), _SideDecoder(self.wide)
        chunks = ((decoders[0].pcm(x), decoders[1].pcm(y))
                  for x, y in zip(a.chunks(length), b.chunks(length)))
        rate = WIDE_RATE if self.wide else RATE
        if self.mode == "stereo":
            writeWav(self.path, (interleave(x, y) for x, y in chunks), channels=2,
                     rate=rate, mode=0o640)
        else:
            writeWav(self.path, (mix(x, y) for x, y in chunks), rate=rate, mode=0o640)

    def _writeLogged(self) -> None:
        """L{_write}, for the background: a failure is logged."""
        try:
            self._write()
        except Exception:
            _log.failure("recording {path} not written", path=self.path)
        else:
            _log.info("recording {path} written", path=self.path)

    def abort(self) -> None:
        """Stop recording and write nothing."""
        if self._closed:
            return
        self._closed = True
        for timeline in self._sides.values():
            timeline.discard()


class RecorderFactory:
    """
    Make the recorder of each new recording (the C{recorderFactory} of
    L{tpbx.pbx.calls.CallManager}), in the mode the C{recordingFormat}
    setting says at that moment, so a change applies to the next
    recording without a restart.
    """

    def __init__(self, directory, background=None):
        """
        @param directory: an L{tpbx.interfaces.IDirectory} (its C{setting}).
        @param background: see L{CallRecorder.__init__}.
        """
        self._directory = directory
        self._background = background

    def mode(self) -> str:
        """The configured mode; L{DEFAULT_MODE} (logged) for a bad value."""
        mode = self._directory.setting(FORMAT_SETTING, DEFAULT_MODE)
        if mode not in MODES:
            _log.warn("recordingFormat {value!r} ignored: not one of {modes}",
                      value=mode, modes=MODES)
            return DEFAULT_MODE
        return mode

    def __call__(self, path: str | os.PathLike) -> CallRecorder:
        """@return: a recorder writing C{path}."""
        return CallRecorder(path, self.mode(), self._background)
