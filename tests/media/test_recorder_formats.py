# -*- test-case-name: tests.media.test_recorder_formats -*-
"""
Tests for L{tpbx.media.recorder} beyond G.711 mono: G.722 calls recorded
at 16 kHz (decoded when the recording is written, in the background when
a runner is given), and L{RecorderFactory} taking the mode from the
C{recordingFormat} setting at each new recording.
"""

import os
import wave
from array import array

import pytest
from twisted.logger import capturedLogs

from tests.media.test_g722 import TONE_1K
from tests.media.test_recorder import FRAME, constant, packets
from tpbx.media import g711
from tpbx.media.dtmf import packRTP
from tpbx.media.g722 import decode as g722decode
from tpbx.media.recorder import CallRecorder, RecorderFactory
from tpbx.testing_directory import FakeDirectory


def g722Packets(stream=TONE_1K, ssrc=7, skip=()):
    """@return: C{stream} as 20 ms RTP packets (160 bytes, timestamps +160:
    RFC 3551 sec. 4.5.2), less the ones numbered in C{skip}."""
    return [packRTP(9, k, k * FRAME, ssrc, stream[k * FRAME:(k + 1) * FRAME])
            for k in range(len(stream) // FRAME) if k not in skip]


def readWave(path):
    """@return: C{(rate, channels, samples)} of a 16-bit WAV."""
    with wave.open(os.fspath(path), "rb") as reader:
        return (reader.getframerate(), reader.getnchannels(),
                array("h", reader.readframes(reader.getnframes())).tolist())


class Runner:
    """A background runner that keeps the work until told to run it."""

    def __init__(self):
        self.work = []

    def __call__(self, work):
        self.work.append(work)

    def runAll(self):
        while self.work:
            self.work.pop(0)()


@pytest.fixture
def path(tmp_path):
    """The recording's destination."""
    return tmp_path / "call.wav"


def test_g722RecordedAt16kHz(path):
    """
    A G.722 stream is recorded as its decoded 16 kHz audio, two samples
    per byte, placed by its RTP timestamps (8 kHz clock).
    """
    rec = CallRecorder(path)
    for k, packet in enumerate(g722Packets()):
        rec.feed("a", packet, 0.02 * k + (0.01 if k % 2 else 0.0))
    assert rec.wide
    rec.close()
    assert readWave(path) == (16000, 1, array("h", g722decode(TONE_1K)).tolist())


def test_g722StereoLostPacketIsSilence(path):
    """In stereo, side b's lost G.722 packet is 320 silent samples on the right."""
    rec = CallRecorder(path, "stereo")
    for k, packet in enumerate(g722Packets(skip={2})):
        rec.feed("b", packet, 0.02 * (k + (k >= 2)))
    rec.close()
    rate, channels, samples = readWave(path)
    left, right = samples[0::2], samples[1::2]
    assert (rate, channels, len(right)) == (16000, 2, 1600)
    assert set(left) == {0} and set(right[640:960]) == {0}
    assert right[:640] == array("h", g722decode(TONE_1K[:320])).tolist()


def test_g722WrittenByTheBackgroundRunner(path):
    """
    With a background runner, close() hands the decoding and writing to
    it and returns the path at once; the file appears, atomically, when
    the work runs; temporary files are gone after.
    """
    runner = Runner()
    rec = CallRecorder(path, background=runner)
    for k, packet in enumerate(g722Packets()):
        rec.feed("a", packet, 0.02 * k)
    assert rec.close() == os.fspath(path)
    assert len(runner.work) == 1 and not path.exists()
    assert rec.close() == os.fspath(path) and len(runner.work) == 1
    rec.abort()                                   # too late: harmless
    runner.runAll()
    assert readWave(path)[0] == 16000
    assert os.listdir(path.parent) == ["call.wav"]


def test_backgroundFailureIsLogged(path):
    """
    A background write that fails (a directory is in the way) is logged;
    no temporary file is left behind.
    """
    runner = Runner()
    rec = CallRecorder(path, background=runner)
    rec.feed("a", g722Packets()[0], 0.0)
    rec.close()
    path.mkdir()
    with capturedLogs() as events:
        runner.runAll()
    assert [e["log_format"] for e in events] == ["recording {path} not written"]
    assert os.listdir(path.parent) == ["call.wav"] and path.is_dir()


def test_g711OnlyIsWrittenAtOnceAt8kHz(path):
    """A G.711 recording needs no background: close() writes it, at 8 kHz."""
    runner = Runner()
    rec = CallRecorder(path, background=runner)
    for packet in packets(constant(1000, 2)):
        rec.feed("a", packet, 0.0)
    rec.close()
    assert runner.work == [] and readWave(path)[:2] == (8000, 1)


def test_g711BeforeG722IsUpsampled(path):
    """
    A call that moves from G.711 to G.722 is recorded at 16 kHz; the G.711
    part has each sample twice.
    """
    rec = CallRecorder(path)
    for k, packet in enumerate(packets(constant(1000, 2), "PCMA", ssrc=1)):
        rec.feed("a", packet, 0.02 * k)
    for k, packet in enumerate(g722Packets(ssrc=2)):
        rec.feed("a", packet, 0.04 + 0.02 * k)
    rec.close()
    rate, _, samples = readWave(path)
    level = array("h", g711.decode("PCMA", g711.encode("PCMA", constant(1000))))[0]
    assert rate == 16000 and len(samples) == 2 * 2 * FRAME + 1600
    assert set(samples[:4 * FRAME]) == {level}
    assert samples[4 * FRAME:] == array("h", g722decode(TONE_1K)).tolist()


def test_factoryReadsTheFormatAtEachRecording(tmp_path):
    """
    The factory makes each recorder in the mode C{recordingFormat} says at
    that moment (mixed by default), with the background runner it was given.
    """
    directory = FakeDirectory()
    runner = Runner()
    factory = RecorderFactory(directory, runner)
    first = factory(tmp_path / "1.wav")
    directory._settings["recordingFormat"] = "stereo"
    second = factory(tmp_path / "2.wav")
    assert (first.mode, second.mode) == ("mixed", "stereo")
    assert second._background is runner
    for rec in (first, second):
        rec.abort()


@pytest.mark.parametrize("bad", ["surround", 3, None])
def test_factoryToleratesABadStoredFormat(tmp_path, bad):
    """A bad stored format is logged and the recording is mixed."""
    factory = RecorderFactory(FakeDirectory(settings={"recordingFormat": bad}))
    with capturedLogs() as events:
        rec = factory(tmp_path / "call.wav")
    rec.abort()
    assert rec.mode == "mixed"
    assert [e["value"] for e in events] == [bad]
