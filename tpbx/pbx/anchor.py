# -*- test-case-name: tests.pbx.test_calls -*-
"""
Small SDP helpers of the call: which stream the relay carries (the first
live audio one), pointing a relay side at where a party wants RTP, and
the telephone-event type of that stream (RFC 4733 DTMF).
"""

from __future__ import annotations

from tpbx.sip.offeranswer import mediaTargets

__all__ = ["codecNames", "eventType", "firstAudio", "relayPorts", "aim"]


def codecNames(sdp) -> set:
    """The codec names of C{sdp}'s first live audio stream."""
    index = firstAudio(sdp)
    if index is None:
        return set()
    return {codec.name for codec in sdp.media[index].rtpmap().values()}


def firstAudio(sdp) -> int | None:
    """L{SessionDescription.firstAudio}: the stream the relay carries."""
    return sdp.firstAudio()


def eventType(sdp) -> int | None:
    """
    @return: the payload type of telephone-event at 8000 Hz (RFC 4733
        sec. 7.1.1) in C{sdp}'s first live audio stream, or L{None}
        (L{SessionDescription.eventType}; L{None} for no C{sdp}).
    """
    return None if sdp is None else sdp.eventType()


def relayPorts(sdp, port: int) -> list:
    """Relay C{port} for the first live audio stream, none for the rest."""
    first = firstAudio(sdp)
    return [port if index == first else None for index in range(len(sdp.media))]


def aim(side, sdp) -> None:
    """Point a relay side at where C{sdp}'s first audio stream wants RTP."""
    index = firstAudio(sdp)
    targets = mediaTargets(sdp)
    if side is None or index is None or targets[index] is None:
        return
    host, port = targets[index]
    try:
        side.setTarget(host, port)
    except ValueError:
        pass  # a host name: latching on the first packet will find it
