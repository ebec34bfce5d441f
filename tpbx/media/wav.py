# -*- test-case-name: tests.media.test_wav -*-
"""
WAV files in the one format the PBX handles: 16-bit PCM at 8 kHz.

Music on hold and prompts are read from WAV, recordings and voicemail are
written to WAV.  Writes are atomic (a temporary file in the same directory,
then C{os.replace}) so a crash or a full disk never leaves a half-written
recording under its final name where the API would list it (DESIGN.md,
"Data survives").  Other formats are refused with an error naming what the
file is, so an administrator knows what to convert it to; resampling is
not done here.
"""

from __future__ import annotations

import os
import tempfile
import wave
from array import array
from collections.abc import Iterable
from dataclasses import dataclass

from tpbx.media.g711 import audioop

__all__ = ["RATE", "WavFormatError", "Wav", "readWav", "writeWav",
           "interleave", "mix", "pureMix", "toMono"]

#: The only sample rate handled: G.711's (RFC 3551 sec. 4.5.14).
RATE = 8000


class WavFormatError(ValueError):
    """
    A file is not a WAV the PBX can use; the message names its format.
    """


@dataclass(frozen=True, slots=True)
class Wav:
    """
    @ivar channels: 1 (mono) or 2 (stereo).
    @ivar rate: samples per second (always L{RATE}).
    @ivar frames: interleaved 16-bit little-endian samples.
    """

    channels: int
    rate: int
    frames: bytes

    @property
    def seconds(self) -> float:
        """@return: the duration."""
        return len(self.frames) / (2 * self.channels * self.rate)

    def mono(self) -> bytes:
        """@return: the samples as mono (the average of both channels if stereo)."""
        return self.frames if self.channels == 1 else toMono(self.frames)


def readWav(path: str | os.PathLike) -> Wav:
    """
    Read a 16-bit PCM, 8 kHz, mono or stereo WAV file.

    @raise WavFormatError: the file is not a WAV or has another format.
    @raise OSError: the file cannot be read.
    """
    try:
        with wave.open(os.fspath(path), "rb") as reader:
            channels = reader.getnchannels()
            width = reader.getsampwidth()
            rate = reader.getframerate()
            frames = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError) as e:
        raise WavFormatError(f"{os.fspath(path)}: not a PCM WAV file ({e})") from None
    if width != 2 or rate != RATE or channels not in (1, 2):
        raise WavFormatError(
            f"{os.fspath(path)}: {rate} Hz {8 * width}-bit {channels}-channel PCM;"
            f" only {RATE} Hz 16-bit mono or stereo PCM is supported")
    return Wav(channels, rate, frames[:len(frames) - len(frames) % (2 * channels)])


def writeWav(path: str | os.PathLike, frames: bytes | Iterable[bytes],
             channels: int = 1, rate: int = RATE, mode: int = 0o644) -> None:
    """
    Write a 16-bit PCM WAV file atomically: the data goes to a temporary
    file in the same directory, which is synced and renamed over C{path}.

    @param frames: interleaved 16-bit samples, as one L{bytes} or as chunks
        (so long recordings are never held in memory whole).
    @param mode: the permission bits of the file.
    @raise OSError: the file cannot be written; nothing is left behind.
    """
    path = os.fspath(path)
    directory, name = os.path.split(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            with wave.open(f, "wb") as writer:
                writer.setnchannels(channels)
                writer.setsampwidth(2)
                writer.setframerate(rate)
                for chunk in [frames] if isinstance(frames, bytes) else frames:
                    writer.writeframesraw(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def interleave(left: bytes, right: bytes) -> bytes:
    """
    @param left: 16-bit mono samples for the left channel.
    @param right: 16-bit mono samples for the right channel.
    @return: stereo frames; the shorter channel is padded with silence.
    """
    size = max(len(left), len(right))
    out = bytearray(2 * size)
    out[0:2 * len(left):4] = left[0::2]
    out[1:2 * len(left):4] = left[1::2]
    out[2:2 * len(right):4] = right[0::2]
    out[3:2 * len(right):4] = right[1::2]
    return bytes(out)


def toMono(frames: bytes) -> bytes:
    """@return: stereo C{frames} mixed down to mono (average of the channels)."""
    samples = array("h", frames)
    return array("h", [(left + right) >> 1 for left, right
                       in zip(samples[0::2], samples[1::2])]).tobytes()


def pureMix(a: bytes, b: bytes) -> bytes:
    """@return: L{mix} computed without C{audioop}."""
    if len(a) < len(b):
        a, b = b, a
    x, y = array("h", a), array("h", b)
    mixed = [max(-32768, min(32767, s + t)) for s, t in zip(x, y)]
    return array("h", mixed).tobytes() + a[len(b):]


def _audioopMix(a: bytes, b: bytes) -> bytes:
    """@return: L{mix} computed by C{audioop.add}."""
    if len(a) < len(b):
        a, b = b, a
    return audioop.add(a[:len(b)], b, 2) + a[len(b):]


#: Sum two 16-bit mono signals sample by sample, clipping at full scale; the
#: longer one goes on alone past the end of the shorter.
mix = _audioopMix if audioop is not None else pureMix
