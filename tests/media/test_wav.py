# -*- test-case-name: tests.media.test_wav -*-
"""
Tests for L{tpbx.media.wav}: reading 8 kHz 16-bit WAV only, atomic writes,
and the channel helpers.
"""

import os
import wave
from array import array

import pytest

from tpbx.media import wav


def pcm(*samples):
    """@return: 16-bit PCM of C{samples}."""
    return array("h", samples).tobytes()


def rawWav(path, channels=1, width=2, rate=8000, frames=b"\x00\x00" * 8):
    """Write a WAV with the stdlib, in any format."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)


def test_writeThenRead(tmp_path):
    """A written mono WAV reads back with the same samples, rate and length."""
    path = tmp_path / "a.wav"
    wav.writeWav(path, pcm(1, -2, 3, 32767))
    read = wav.readWav(path)
    assert (read.channels, read.rate, read.frames) == (1, 8000, pcm(1, -2, 3, 32767))
    assert read.seconds == 4 / 8000
    assert read.mono() == read.frames


def test_writeChunks(tmp_path):
    """Chunks are written one after the other; the header counts them all."""
    path = tmp_path / "c.wav"
    wav.writeWav(path, iter([pcm(1, 2), pcm(3, 4)]), channels=2)
    read = wav.readWav(path)
    assert (read.channels, read.frames) == (2, pcm(1, 2, 3, 4))
    assert read.mono() == pcm(1, 3)


def test_writeIsAtomic(tmp_path):
    """
    The old file stays whole until the new one is complete; a failure while
    writing leaves the old file and no temporary file behind.
    """
    path = tmp_path / "r.wav"
    wav.writeWav(path, pcm(7))

    def failing():
        yield pcm(1)
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        wav.writeWav(path, failing())
    assert wav.readWav(path).frames == pcm(7)
    assert os.listdir(tmp_path) == ["r.wav"]


def test_writeMode(tmp_path):
    """The file gets the permission bits asked for (0644 by default)."""
    wav.writeWav(tmp_path / "p.wav", pcm(0))
    wav.writeWav(tmp_path / "q.wav", pcm(0), mode=0o600)
    assert os.stat(tmp_path / "p.wav").st_mode & 0o777 == 0o644
    assert os.stat(tmp_path / "q.wav").st_mode & 0o777 == 0o600


@pytest.mark.parametrize("kwargs, named", [
    ({"rate": 44100}, "44100 Hz 16-bit 1-channel"),
    ({"width": 1}, "8000 Hz 8-bit 1-channel"),
    ({"channels": 3, "frames": b"\x00" * 12}, "8000 Hz 16-bit 3-channel"),
])
def test_otherFormatsRefused(tmp_path, kwargs, named):
    """Other formats are refused with an error naming the file's format."""
    path = tmp_path / "x.wav"
    rawWav(path, **kwargs)
    with pytest.raises(wav.WavFormatError, match=named) as caught:
        wav.readWav(path)
    assert "only 8000 Hz 16-bit" in str(caught.value)


@pytest.mark.parametrize("content", [b"", b"RIFF", b"not a wav file at all" * 3])
def test_notWavRefused(tmp_path, content):
    """A file that is not a WAV is a WavFormatError, not a crash."""
    path = tmp_path / "x.wav"
    path.write_bytes(content)
    with pytest.raises(wav.WavFormatError, match="not a PCM WAV"):
        wav.readWav(path)


def test_interleave():
    """Left and right alternate; the shorter channel is padded with silence."""
    assert wav.interleave(pcm(1, 2, 3), pcm(-1)) == pcm(1, -1, 2, 0, 3, 0)
    assert wav.interleave(pcm(), pcm(5, 6)) == pcm(0, 5, 0, 6)


@pytest.mark.parametrize("mix", [wav.mix, wav.pureMix])
def test_mixClipsAndExtends(mix):
    """Mixing sums, clips at full scale, and carries on with the longer input."""
    assert mix(pcm(30000, -30000, 5, 9), pcm(30000, -30000, 7)) == pcm(32767, -32768, 12, 9)
    assert mix(pcm(1), pcm(2, 3)) == pcm(3, 3)


def test_toMono():
    """Stereo frames become the average of both channels."""
    assert wav.toMono(pcm(100, 300, -5, -7)) == pcm(200, -6)
