# -*- test-case-name: tests.media.test_player -*-
"""
Tests for L{tpbx.media.player} and the shipped music on hold
(L{tpbx.media.mohgen}): pacing, RTP fields, looping and catching up, on a
fake clock.
"""

from array import array

import pytest
from twisted.internet.task import Clock

from tpbx.media import g711, mohgen
from tpbx.media.player import PTIME, SAMPLES, MusicOnHold, RTPPlayer
from tpbx.media.rtp import parseRTP
from tpbx.media.wav import readWav, writeWav

# Ten frames of distinct audio: frame k holds the sample value 1000 * k.
AUDIO = array("h", [1000 * (i // SAMPLES) for i in range(10 * SAMPLES)]).tobytes()


def tick(clock, count=1):
    """
    Advance C{clock} by C{count} packet times, each a microsecond late as
    a reactor's are (sums of 0.02 in floating point may fall a hair short
    of the interval, which would only move that packet to the next tick).
    """
    clock.pump([PTIME + 1e-6] * count)


def makePlayer(pcm=AUDIO, **kwargs):
    """@return: C{(clock, sent packets, player)} with fixed SSRC, seq and ts."""
    clock, sent = Clock(), []
    kwargs = {"ssrc": 0x1234, "sequence": 65534, "timestamp": 2**32 - 160, **kwargs}
    return clock, sent, RTPPlayer(clock, sent.append, pcm, **kwargs)


def payloadOf(packet):
    """@return: the RTP payload of C{packet}."""
    header = parseRTP(packet)
    return packet[header.payloadOffset:header.payloadEnd]


def level(k, codec="PCMU"):
    """@return: the sample value 1000 * k after G.711 quantisation."""
    return array("h", g711.decode(codec, g711.encode(codec, array("h", [1000 * k]).tobytes())))[0]


def frames(sent, codec="PCMU"):
    """@return: the frame number k of each packet's payload (see L{AUDIO})."""
    levels = {level(k, codec): k for k in range(10)}
    values = []
    for packet in sent:
        payload = payloadOf(packet)
        assert len(payload) == SAMPLES
        values.append(levels[array("h", g711.decode(codec, payload))[0]])
    return values


def test_pacingAndHeaders():
    """
    One packet now and one every 20 ms; sequence numbers and timestamps
    (160 per packet) count up and wrap; the marker is on the first only.
    """
    clock, sent, player = makePlayer()
    player.start()
    assert len(sent) == 1
    tick(clock, 3)
    headers = [parseRTP(p) for p in sent]
    assert [h.sequence for h in headers] == [65534, 65535, 0, 1]
    assert [h.timestamp for h in headers] == [2**32 - 160, 0, 160, 320]
    assert [h.marker for h in headers] == [True, False, False, False]
    assert {(h.payloadType, h.ssrc, h.version) for h in headers} == {(0, 0x1234, 2)}
    player.stop()
    assert clock.getDelayedCalls() == []


def test_payloadIsTheAudioInOrderAndLoops():
    """Packets carry the audio frame by frame, from the start again at the end."""
    clock, sent, player = makePlayer()
    player.start()
    tick(clock, 11)
    assert frames(sent) == list(range(10)) + [0, 1]
    player.stop()


def test_loopWrapsInsideAFrame():
    """Audio that is not whole frames loops seamlessly across the frame edge."""
    pcm = array("h", range(1, 241)).tobytes()    # a frame and a half
    clock, sent, player = makePlayer(pcm, codec="PCMA")
    player.start()
    tick(clock, 2)
    player.stop()
    decoded = array("h", b"".join(g711.decode("PCMA", payloadOf(p)) for p in sent))
    expected = array("h", g711.decode("PCMA", g711.encode("PCMA", pcm * 2)))
    assert decoded == expected[:3 * SAMPLES]
    assert parseRTP(sent[0]).payloadType == 8


def test_playOnceStopsAtTheEnd():
    """
    Without looping, the last partial frame is padded with silence, then
    the player stops by itself and the start() Deferred fires with it.
    """
    pcm = AUDIO[:int(1.5 * SAMPLES) * 2]
    clock, sent, player = makePlayer(pcm, loop=False)
    done = []
    player.start().addCallback(done.append)
    tick(clock, 5)
    assert frames(sent) == [0, 1]
    last = array("h", g711.decode("PCMU", payloadOf(sent[1])))
    assert set(last[:80]) == {level(1)} and set(last[80:]) == {0}
    assert done == [player] and not player.running
    assert clock.getDelayedCalls() == []


def test_catchUpAfterClockJump():
    """
    When the clock jumps, the missed packets are sent at once up to the
    cap, the older ones skipped; timestamps and audio keep real time while
    sequence numbers stay consecutive.
    """
    clock, sent, player = makePlayer(maxCatchUp=3)
    player.start()
    clock.advance(2 * PTIME + 1e-6)         # two intervals: both sent
    assert len(sent) == 3
    clock.advance(6 * PTIME + 1e-6)         # six intervals: three skipped, three sent
    headers = [parseRTP(p) for p in sent]
    assert len(sent) == 6 and player.skipped == 3 and player.sent == 6
    assert [h.sequence & 0xFFFF for h in headers] == [65534, 65535, 0, 1, 2, 3]
    assert [(h.timestamp + 160) % 2**32 // 160 for h in headers] == [0, 1, 2, 6, 7, 8]
    assert frames(sent) == [0, 1, 2, 6, 7, 8]
    player.stop()


def test_restartMarksNewTalkspurt():
    """After stop() and start() the first packet has the marker again."""
    clock, sent, player = makePlayer()
    player.start()
    tick(clock)
    player.stop()
    player.start()
    player.stop()
    assert [parseRTP(p).marker for p in sent] == [True, False, True]
    assert [parseRTP(p).sequence for p in sent] == [65534, 65535, 0]


def test_randomIdentifiers():
    """SSRC, first sequence number and timestamp are random by default."""
    players = [RTPPlayer(Clock(), list.append, AUDIO) for _ in range(4)]
    assert len({p.ssrc for p in players}) > 1
    assert len({(p.sequence, p.timestamp) for p in players}) > 1


def test_payloadTypeOverride():
    """A payload type given by SDP replaces the static one."""
    clock, sent, player = makePlayer(payloadType=96)
    player.start()
    player.stop()
    assert parseRTP(sent[0]).payloadType == 96


@pytest.mark.parametrize("kwargs, message", [
    ({"pcm": b""}, "no audio"), ({"codec": "G722"}, "only PCMU, PCMA")])
def test_badArguments(kwargs, message):
    """No audio or a codec that is not G.711 is refused."""
    with pytest.raises(ValueError, match=message):
        makePlayer(**kwargs)


def test_shippedMusicOnHold():
    """
    The default music loads from the package: 8 kHz mono, about 30 s,
    audible, and its file stays under 600 KB.
    """
    moh = MusicOnHold.load()
    samples = array("h", moh.pcm)
    assert 25 <= len(samples) / 8000 <= 35
    assert 4000 < max(samples) < 32767
    assert mohgen.DEFAULT_PATH.stat().st_size < 600 * 1024
    assert readWav(mohgen.DEFAULT_PATH).channels == 1


def test_musicOnHoldFromFileSharesEncoding(tmp_path):
    """
    A configured WAV (stereo allowed) is loaded as mono; each codec is
    encoded once and shared by every player made from it.
    """
    path = tmp_path / "moh.wav"
    writeWav(path, array("h", [2000, 0] * SAMPLES).tobytes(), channels=2)
    moh = MusicOnHold.load(path)
    assert moh.pcm == array("h", [1000] * SAMPLES).tobytes()
    assert moh.encoded("PCMA") is moh.encoded("PCMA")
    clock, sent = Clock(), []
    player = moh.player(clock, sent.append, codec="PCMA", payloadType=8, ssrc=9)
    player.start()
    player.stop()
    assert payloadOf(sent[0]) == moh.encoded("PCMA")
    assert parseRTP(sent[0]).ssrc == 9


def test_mohgenWritesTheMusic(tmp_path):
    """The generator writes an 8 kHz mono WAV of the progression; it is quiet at the loop point."""
    path = tmp_path / "m.wav"
    assert mohgen.main([str(path)]) == 0
    read = readWav(path)
    assert (read.channels, read.rate, read.seconds) == (1, 8000, 30.0)
    samples = array("h", read.frames)
    assert abs(samples[0]) < 100 and abs(samples[-1]) < 100
    assert read.frames == readWav(mohgen.DEFAULT_PATH).frames
