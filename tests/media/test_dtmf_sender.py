# -*- test-case-name: tests.media.test_dtmf_sender -*-
"""
L{DigitSender}: key presses sent as paced RFC 4733 packets on an injected
clock, each press readable again by L{DTMFDetector}, and nothing left
scheduled once it is done or stopped.
"""

from __future__ import annotations

import pytest
from twisted.internet.task import Clock

from tpbx.media.dtmf import DTMFDetector, DigitSender, parseEvent
from tpbx.media.rtp import parseRTP


def _sender(clock, sent):
    return DigitSender(clock, lambda packet: sent.append((clock.seconds(), packet)),
                       payloadType=101, ssrc=0x1234)


def test_onePressPaced():
    """
    One digit: the first packet (marker bit) goes out at once, updates
    every 50 ms, the three end packets at 160 ms; all share one RTP
    timestamp, sequence numbers follow each other, and no call is left.
    """
    clock, sent = Clock(), []
    sender = _sender(clock, sent)
    sender.sendDigit("5")
    assert len(sent) == 1 and sender.pending
    clock.pump([0.05] * 4)
    times = [round(t, 2) for t, _ in sent]
    assert times == [0.0, 0.05, 0.1, 0.15, 0.15, 0.15]
    rtps = [parseRTP(p) for _, p in sent]
    assert [r.marker for r in rtps] == [True] + [False] * 5
    assert len({r.timestamp for r in rtps}) == 1
    assert [(r.sequence - rtps[0].sequence) & 0xFFFF for r in rtps] == list(range(6))
    events = [parseEvent(p[r.payloadOffset:r.payloadEnd]) for (_, p), r in zip(sent, rtps)]
    assert [e.end for e in events] == [False] * 3 + [True] * 3
    assert {e.event for e in events} == {5} and events[-1].duration == 1280
    assert not sender.pending and clock.getDelayedCalls() == []


def test_queuedPressesFollowAfterGap():
    """Digits sent during a press follow it, after the gap, each with its
    own timestamp; a detector reads them back as three presses."""
    clock, sent = Clock(), []
    sender = _sender(clock, sent)
    for digit in "1#A":
        sender.sendDigit(digit)
    clock.pump([0.01] * 100)
    detector = DTMFDetector(101)
    digits = [d.digit for d in (detector.feed(p, t) for t, p in sent) if d is not None]
    assert digits == ["1", "#", "A"]
    starts = [t for t, p in sent if parseRTP(p).marker]
    assert starts[1] - starts[0] == pytest.approx(0.2, abs=0.02)
    assert clock.getDelayedCalls() == []


def test_stopCancels():
    """Stopping during a press drops the rest and leaves no DelayedCall."""
    clock, sent = Clock(), []
    sender = _sender(clock, sent)
    sender.sendDigit("1")
    sender.sendDigit("2")
    sender.stop()
    assert clock.getDelayedCalls() == [] and not sender.pending
    clock.advance(1)
    assert len(sent) == 1


def test_badDigit():
    """Something that is not a DTMF digit is refused with ValueError and
    nothing is scheduled."""
    clock = Clock()
    sender = _sender(clock, [])
    for bad in ("x", "12", ""):
        with pytest.raises(ValueError):
            sender.sendDigit(bad)
    assert clock.getDelayedCalls() == []
