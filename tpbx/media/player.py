# -*- test-case-name: tests.media.test_player -*-
"""
Play audio into a call as RTP: music on hold, and later prompts.

The PBX, not the phone, plays music to a held party (issue 3, part 5), so
it must be an RTP sender with the pacing a phone's jitter buffer expects:
one 20 ms packet of 160 G.711 samples every 20 ms (RFC 3551 sec. 4.5.14,
ptime 20), consecutive sequence numbers, timestamps counting samples and
the marker bit on the first packet (RFC 3551 sec. 4.1).  One
C{LoopingCall} per player, on an injected clock; when the reactor was
late, the missed packets are sent at once up to a cap and the rest are
skipped (the timestamp still advances, so the receiver sees real time).

Encoding happens once: a L{MusicOnHold} keeps each codec's bytes and
shares them between every held call.
"""

from __future__ import annotations

import random
from importlib.resources import as_file, files

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import LoopingCall

from tpbx.media.dtmf import packRTP
from tpbx.media.g711 import CODECS, SILENCE, encode
from tpbx.media.wav import readWav

__all__ = ["PTIME", "SAMPLES", "RTPPlayer", "MusicOnHold"]

#: Seconds of audio per packet.
PTIME = 0.02
#: Samples (and G.711 bytes) per packet at 8 kHz.
SAMPLES = 160


class RTPPlayer:
    """
    Send audio as G.711 RTP packets in real time.

    @ivar sent: packets sent so far.
    @ivar skipped: packets skipped because the clock jumped too far.
    """

    def __init__(self, clock: IReactorTime, send, pcm: bytes | None,
                 codec: str = "PCMU", payloadType: int | None = None,
                 ssrc: int | None = None, loop: bool = True,
                 maxCatchUp: int = 5, sequence: int | None = None,
                 timestamp: int | None = None, encoded: bytes | None = None):
        """
        @param clock: the reactor (a C{task.Clock} in tests).
        @param send: called with each RTP packet (C{bytes}).
        @param pcm: 8 kHz 16-bit mono audio.
        @param codec: C{"PCMU"} or C{"PCMA"}.
        @param payloadType: the payload type to send; the codec's static one
            (0 or 8) by default.
        @param ssrc: the stream's SSRC; random by default (RFC 3550 sec. 8.1),
            as are the first sequence number and timestamp (sec. 5.1).
        @param loop: play again from the start at the end, instead of stopping.
        @param maxCatchUp: most packets sent at once after the clock jumped.
        @param encoded: C{pcm} already encoded with C{codec} (then C{pcm} is
            not used), so players of the same audio share one copy.
        @raise ValueError: unknown codec, or no audio.
        """
        if codec not in CODECS:
            raise ValueError(f"cannot play {codec!r}: only {', '.join(CODECS)}")
        audio = encoded if encoded is not None else encode(codec, pcm or b"")
        if not audio:
            raise ValueError("no audio to play")
        self._audio = _framed(audio, SILENCE[codec], loop)
        self._send = send
        self._loop = loop
        self._maxCatchUp = maxCatchUp
        self.payloadType = CODECS[codec] if payloadType is None else payloadType
        self.ssrc = random.getrandbits(32) if ssrc is None else ssrc
        self.sequence = random.getrandbits(16) if sequence is None else sequence
        self.timestamp = random.getrandbits(32) if timestamp is None else timestamp
        self.sent = self.skipped = 0
        self._offset = 0
        self._marker = True
        self._clock = clock
        self._call: LoopingCall | None = None

    @property
    def running(self) -> bool:
        """@return: whether the player is sending."""
        return self._call is not None and self._call.running

    def start(self) -> Deferred:
        """
        Send the first packet now, with the marker bit (a new talkspurt,
        RFC 3551 sec. 4.1), and one every L{PTIME} after.

        @return: a L{Deferred} that fires with this player once it stops,
            by L{stop} or, when not looping, at the end of the audio.
        """
        self._marker = True
        # A new LoopingCall each time: one keeps counting intervals from
        # its previous run, which would make a restart send nothing.
        self._call = LoopingCall.withCount(self._tick)
        self._call.clock = self._clock
        return self._call.start(PTIME, now=True).addCallback(lambda _: self)

    def stop(self) -> None:
        """Stop sending; nothing is left scheduled."""
        if self.running:
            self._call.stop()

    def _tick(self, count: int) -> None:
        """
        Send the packets of the C{count} intervals since the last call:
        at most C{maxCatchUp}, skipping the oldest.
        """
        late = max(0, count - self._maxCatchUp)
        self.skipped += late
        self._advance(late)
        for _ in range(count - late):
            if not self._loop and self._offset >= len(self._audio):
                self.stop()
                return
            self._sendFrame()

    def _sendFrame(self) -> None:
        """Send one packet and move on by one frame."""
        payload = self._audio[self._offset:self._offset + SAMPLES]
        self._send(packRTP(self.payloadType, self.sequence, self.timestamp,
                           self.ssrc, payload, marker=self._marker))
        self._marker = False
        self.sent += 1
        self.sequence = (self.sequence + 1) & 0xFFFF
        self._advance(1)

    def _advance(self, frames: int) -> None:
        """Move the audio position and the RTP timestamp by C{frames}."""
        self.timestamp = (self.timestamp + frames * SAMPLES) & 0xFFFFFFFF
        self._offset += frames * SAMPLES
        if self._loop:
            self._offset %= len(self._audio) - SAMPLES


def _framed(audio: bytes, silence: bytes, loop: bool) -> bytes:
    """
    @return: C{audio} laid out so every frame is one plain slice: padded
        with silence to whole frames when played once; when looping,
        repeated to at least one frame and followed by its own first frame,
        so a frame that wraps round the end needs no joining.
    """
    if not loop:
        return audio + silence * (-len(audio) % SAMPLES)
    audio = audio * -(-SAMPLES // len(audio))
    return audio + audio[:SAMPLES]


class MusicOnHold:
    """
    The music played to held parties: PCM loaded once, encoded once per
    codec, shared by all their players.

    @ivar pcm: 8 kHz 16-bit mono audio.
    """

    def __init__(self, pcm: bytes):
        self.pcm = pcm
        self._encoded: dict = {}

    @classmethod
    def load(cls, path=None) -> "MusicOnHold":
        """
        @param path: a WAV file (8 kHz 16-bit mono or stereo); the music
            shipped in C{tpbx/media/moh/default.wav} when L{None}.
        @raise tpbx.media.wav.WavFormatError: the file has another format.
        @raise OSError: the file cannot be read.
        """
        if path is not None:
            return cls(readWav(path).mono())
        with as_file(files("tpbx.media.moh").joinpath("default.wav")) as shipped:
            return cls(readWav(shipped).mono())

    def encoded(self, codec: str) -> bytes:
        """@return: the music encoded with C{codec} (computed once)."""
        if codec not in self._encoded:
            self._encoded[codec] = encode(codec, self.pcm)
        return self._encoded[codec]

    def player(self, clock: IReactorTime, send, codec: str = "PCMU",
               payloadType: int | None = None, ssrc: int | None = None) -> RTPPlayer:
        """
        @return: a looping, not yet started L{RTPPlayer} of the music; the
            arguments are L{RTPPlayer}'s.
        """
        return RTPPlayer(clock, send, None, codec, payloadType, ssrc,
                         encoded=self.encoded(codec))
