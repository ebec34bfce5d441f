# -*- test-case-name: tests.media.test_recorder -*-
"""
Tests for L{tpbx.media.recorder}: both sides of a call land in one WAV,
aligned on arrival time, with silence for losses and gaps, whatever the
jitter, reordering, SSRC changes or stray packets.
"""

import os
from array import array

import pytest

from tests.tools.tone import analyse, makeTone
from tpbx.media import g711, recorder
from tpbx.media.dtmf import digitPackets, packRTP
from tpbx.media.recorder import CallRecorder
from tpbx.media.wav import readWav

FRAME = 160


def samples(path):
    """@return: the samples of the recorded WAV, as a list."""
    return array("h", readWav(path).frames).tolist()


def packets(pcm, codec="PCMU", ssrc=1, sequence=0, timestamp=0):
    """@return: the RTP packets of 20 ms frames of C{pcm}."""
    data = g711.encode(codec, pcm)
    return [packRTP(g711.CODECS[codec], sequence + k, timestamp + k * FRAME, ssrc,
                    data[k * FRAME:(k + 1) * FRAME]) for k in range(len(data) // FRAME)]


def constant(value, frames=1):
    """@return: C{frames} frames of one sample value (exact in G.711)."""
    return array("h", [value] * FRAME * frames).tobytes()


@pytest.fixture
def path(tmp_path):
    """The recording's destination."""
    return tmp_path / "call.wav"


def test_stereoSidesAlignedOnArrival(path):
    """
    In stereo, side a is left and side b right; b's stream, starting 100 ms
    after a's, starts 800 samples in, with silence before it.
    """
    rec = CallRecorder(path, "stereo")
    for k, packet in enumerate(packets(constant(1000, 5))):
        rec.feed("a", packet, 10.0 + 0.02 * k)
    for k, packet in enumerate(packets(constant(-1000, 5), "PCMA", ssrc=2, timestamp=7777)):
        rec.feed("b", packet, 10.1 + 0.02 * k)
    assert rec.close() == os.fspath(path)
    wav = readWav(path)
    assert wav.channels == 2 and wav.seconds == pytest.approx(0.2)
    left, right = samples(path)[0::2], samples(path)[1::2]
    a = array("h", g711.decode("PCMU", g711.encode("PCMU", constant(1000))))[0]
    b = array("h", g711.decode("PCMA", g711.encode("PCMA", constant(-1000))))[0]
    assert set(left[:800]) == {a} and set(left[800:]) == {0}
    assert set(right[:800]) == {0} and set(right[800:]) == {b}


def test_mixedSumsWithClipping(path):
    """In mixed mode both sides are summed into one channel, clipped at full scale."""
    rec = CallRecorder(path)
    for side in "ab":
        for packet in packets(constant(30000, 2)):
            rec.feed(side, packet, 0.0)
    rec.close()
    assert readWav(path).channels == 1
    assert set(samples(path)) == {32767}


def test_jitterDoesNotStretchAudio(path):
    """
    Packets arriving early or late by up to tens of ms are placed by their
    RTP timestamps: the audio is continuous and as long as what was sent.
    """
    rec = CallRecorder(path)
    pcm = makeTone([1000], 1.0)
    for k, packet in enumerate(packets(pcm)):
        rec.feed("a", packet, 0.02 * k + (0.03 if k % 3 else 0.0))
    rec.close()
    assert samples(path) == array("h", g711.decode("PCMU", g711.encode("PCMU", pcm))).tolist()


def test_lossLeavesSilenceAndReorderLandsInPlace(path):
    """
    A reordered packet fills its own slot; a packet whose timestamp is
    seconds away from its arrival is placed by arrival, leaving silence
    where the lost audio was.
    """
    rec = CallRecorder(path)
    sent = packets(constant(1000, 4), ssrc=5)
    for packet, now in [(sent[0], 0.0), (sent[2], 0.04), (sent[1], 0.05), (sent[3], 5.0)]:
        rec.feed("a", packet, now)
    rec.close()
    recorded = samples(path)
    frames = [set(recorded[k:k + FRAME]) for k in range(0, len(recorded), FRAME)]
    level = array("h", g711.decode("PCMU", g711.encode("PCMU", constant(1000))))[0]
    assert len(frames) == 5 * 50 + 1
    assert frames[:3] == [{level}] * 3 and frames[-1] == {level}
    assert set().union(*frames[3:-1]) == {0}


def test_ssrcChangeReanchors(path):
    """A new SSRC (a transfer, a re-INVITE) is placed by its arrival time."""
    rec = CallRecorder(path)
    for packet in packets(constant(1000), ssrc=1, timestamp=0):
        rec.feed("a", packet, 0.0)
    for packet in packets(constant(1000), ssrc=2, timestamp=0):
        rec.feed("a", packet, 0.1)
    rec.close()
    recorded = samples(path)
    assert len(recorded) == 800 + FRAME
    assert set(recorded[FRAME:800]) == {0} and 0 not in recorded[800:]


def test_otherPayloadsIgnored(path):
    """Telephone-events, comfort noise, unknown types and garbage are not recorded."""
    rec = CallRecorder(path)
    for _, packet in digitPackets("5", 1, 0, 0):
        rec.feed("a", packet, 0.0)
    rec.feed("a", packRTP(13, 0, 0, 1, b"\x40"), 0.0)
    rec.feed("a", packRTP(96, 0, 0, 1, b"\x00" * 40), 0.0)
    rec.feed("b", b"\x80\x00garbage", 0.0)
    rec.feed("b", b"", 0.0)
    rec.feed("b", b"\x00\x00" + bytes(20), 0.0)
    assert rec.dropped == 2
    rec.close()
    assert readWav(path).frames == b""


def test_longRecordingStreamsToDisk(path, monkeypatch):
    """Only a short window stays in memory; the rest goes to the temporary file."""
    monkeypatch.setattr(recorder, "_WINDOW", 2 * FRAME)
    rec = CallRecorder(path)
    tone = makeTone([1000], 3.0)
    for k, packet in enumerate(packets(tone)):
        rec.feed("a", packet, 0.02 * k)
        assert len(rec._sides["a"]._buffer) <= 2 * (2 * FRAME + FRAME)
    for k, packet in enumerate(packets(makeTone([2000], 3.0), ssrc=9)):
        rec.feed("b", packet, 0.02 * k)
    rec.tap("b")(packets(constant(0))[0], 0.0)      # too late: dropped, harmless
    rec.close()
    assert readWav(path).seconds == pytest.approx(3.0)
    report = analyse(os.fspath(path), 1000, share=0.3)
    assert report.has(2.5)


def test_stereoToneSeparation(path):
    """A 1 kHz tone on side a and a 2 kHz tone on side b are found in their channels."""
    rec = CallRecorder(path, "stereo")
    tap = {side: rec.tap(side) for side in "ab"}
    for k, (x, y) in enumerate(zip(packets(makeTone([1000], 1.0)),
                                   packets(makeTone([2000], 1.0), ssrc=3))):
        tap["a"](x, 0.02 * k)
        tap["b"](y, 0.02 * k)
    rec.close()
    left = array("h", samples(path)[0::2]).tobytes()
    assert left == g711.decode("PCMU", g711.encode("PCMU", makeTone([1000], 1.0)))


def test_closeWritesAtomicallyAndOnce(path):
    """Until close() nothing is at the path; afterwards no temporary file is left; closing twice is harmless."""
    rec = CallRecorder(path)
    rec.feed("a", packets(constant(1000))[0], 0.0)
    assert not path.exists()
    rec.close()
    rec.close()
    rec.feed("a", packets(constant(1000))[0], 1.0)
    assert os.listdir(path.parent) == ["call.wav"]
    assert os.stat(path).st_mode & 0o777 == 0o640


def test_abortWritesNothing(path):
    """An aborted recording writes no file."""
    rec = CallRecorder(path)
    rec.feed("a", packets(constant(1000))[0], 0.0)
    rec.abort()
    assert os.listdir(path.parent) == []


def test_badArguments(path):
    """An unknown mode or side is a programming error."""
    with pytest.raises(ValueError, match="not one of"):
        CallRecorder(path, "surround")
    rec = CallRecorder(path)
    with pytest.raises(KeyError):
        rec.feed("c", b"", 0.0)
    with pytest.raises(KeyError):
        rec.tap("c")
    rec.abort()
