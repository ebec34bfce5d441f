# -*- test-case-name: tests.media.test_tone -*-
"""
Tests for L{tests.tools.tone}, the pure-Python tone maker and detector the
end-to-end tests rely on: it must find the tone that is there, and only it.
"""

import math
import wave
from array import array

import pytest

from tests.tools import tone


@pytest.mark.parametrize("freq", [400.0, 1000.0, 1237.0, 2000.0, 3300.0])
def test_dominantFrequency(freq):
    """The strongest frequency of a pure tone is found within 2 Hz."""
    samples = [v / 32768 for v in array("h", tone.makeTone([freq], 0.1, level=-20))]
    assert abs(tone.dominantFrequency(samples, 8000) - freq) <= 2


def test_goertzelNormalised():
    """A full-scale sine measures about 1 at its frequency and about 0 elsewhere."""
    samples = [math.sin(2 * math.pi * 1000 * i / 8000) for i in range(800)]
    assert tone.goertzel(samples, 8000, 1000) == pytest.approx(1.0, rel=0.01)
    assert tone.goertzel(samples, 8000, 1500) < 0.001
    assert tone.goertzel([], 8000, 1000) == 0.0


def test_analyseFindsTheTone(tmp_path):
    """
    In silence + 1 kHz tone + silence the tone is found for its duration
    and from when it starts; a 2 kHz tone is not found there.
    """
    path = str(tmp_path / "t.wav")
    pcm = tone.makeTone([], 0.5) + tone.makeTone([1000], 2.0) + tone.makeTone([], 0.5)
    with wave.open(path, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(8000)
        writer.writeframes(pcm)
    report = tone.analyse(path, 1000)
    assert (report.seconds, report.loudSeconds, report.toneSeconds) == (3.0, 2.0, 2.0)
    assert report.firstToneAt == 0.5 and report.dominant == pytest.approx(1000, abs=2)
    assert report.has(1.5) and not report.has(2.5)
    assert not tone.analyse(path, 2000).has(0.1)


def test_analyseWithinTolerance(tmp_path):
    """A tone 15 Hz off is found with the default 20 Hz tolerance, not with 5 Hz."""
    path = str(tmp_path / "t.wav")
    tone.writeTone(path, [1015], 1.0)
    assert tone.analyse(path, 1000).has(1.0)
    assert not tone.analyse(path, 1000, tol=5).has(0.1)


def test_stereoAndMixtures(tmp_path):
    """Channels are averaged; in a two-tone mix neither tone dominates alone."""
    path = str(tmp_path / "s.wav")
    tone.writeTone(path, [2000], 1.0, channels=2, level=-30)
    assert tone.analyse(path, 2000).has(1.0)
    tone.writeTone(path, tone.DTMF["5"], 1.0, level=-12)
    assert not tone.analyse(path, 770).has(0.1)
    assert tone.analyse(path, 770, share=0.4).has(1.0)


def test_quietIsSilence(tmp_path):
    """Windows below the silence level count as neither loud nor tone."""
    path = str(tmp_path / "q.wav")
    tone.writeTone(path, [1000], 1.0, level=-60)
    report = tone.analyse(path, 1000)
    assert (report.loudSeconds, report.toneSeconds, report.dominant) == (0.0, 0.0, None)


def test_mainExitStatus(tmp_path, capsys):
    """The command line exits 0 when the tone is there, 1 when not, 2 for a bad file."""
    path = str(tmp_path / "m.wav")
    tone.writeTone(path, [1000], 1.0)
    assert tone.main([path, "1000"]) == 0
    assert tone.main([path, "1000", "2"]) == 1
    (tmp_path / "bad.wav").write_bytes(b"junk")
    assert tone.main([str(tmp_path / "bad.wav"), "1000"]) == 2
    assert "toneSeconds=1.0" in capsys.readouterr().out
