# -*- test-case-name: tests.media.test_relay -*-
"""
The media seams (DESIGN.md "Seams": C{IMediaEndpoint} / C{IMediaRelay}).

Why here for now: they are a proposal from the relay's author; the lead
moves them into L{tpbx.interfaces} (and the providers into
C{tests/test_interfaces.py}) once the call code has used them.  The call
code depends on these, never on L{tpbx.media.relay} classes, so a player,
a recorder, a mixer port or a kernel-forwarding relay can stand in.
"""

from __future__ import annotations

from zope.interface import Attribute, Interface

__all__ = ["IMediaEndpoint", "IMediaRelay", "IRelaySession"]


class IMediaEndpoint(Interface):
    """
    One party's end of a media stream on the PBX: a local RTP port (RTCP on
    the next port, RFC 3550 sec. 11) that the party sends to, and the
    address the PBX sends to that party.
    """

    port = Attribute("The local RTP port to put in SDP (m= line); RTCP is port + 1.")
    address = Attribute("The local address to put in SDP (c= line).")
    tap = Attribute(
        "L{None}, or a callable(packet: bytes, now: float) called for every RTP "
        "packet accepted from this party (recording, RFC 4733 DTMF detection).")

    def setTarget(host, port, rtcpPort=None):
        """
        Where the party's SDP says it receives RTP (RFC 3264 sec. 5): the
        destination until packets from the party are latched.  An
        unspecified host (C{0.0.0.0}, RFC 3264 sec. 8.4 hold) or port 0
        (rejected stream) clears it.  A different target than before drops
        the latch (the party changed, e.g. after a transfer).

        @param host: an IP address literal (names are resolved by the caller).
        @param rtcpPort: the RTCP port when SDP gives one (RFC 3605), else
            C{port + 1}.
        @raise ValueError: when C{host} is not an IP address.
        """

    def mute(muted=True):
        """Stop (or resume) sending the other party's packets to this party."""

    def inject(packet):
        """
        Send one packet to this party from this endpoint's RTP port (music on
        hold, prompts), muted or not.

        @return: whether it was sent (L{False} when no destination is known).
        """


class IRelaySession(Interface):
    """Two L{IMediaEndpoint}s of one call that forward to each other."""

    callId = Attribute("A label: the Call-ID or call identifier it serves.")
    a = Attribute("The L{IMediaEndpoint} facing one party.")
    b = Attribute("The L{IMediaEndpoint} facing the other party.")
    onInactive = Attribute(
        "L{None}, or a callable(session) called once when no RTP arrived on "
        "either side for the relay's inactivity timeout.")
    stats = Attribute("Counters per side: packets and bytes in, forwarded, dropped, rejected.")


class IMediaRelay(Interface):
    """Hands out relay sessions on ports of the configured ranges."""

    sessions = Attribute("How many sessions are allocated and not released.")

    def allocate(callId, external=False):
        """
        Bind the RTP/RTCP port pairs of a new session.

        @param external: take the ports from the external range (trunks,
            remote and NATed phones) instead of the internal one.
        @return: an L{IRelaySession}.
        @raise tpbx.media.relay.PortsExhausted: when no pair can be bound.
        """

    def release(session):
        """
        Close the session's sockets and return its ports; idempotent.

        @return: a L{Deferred} that fires once the ports are back in the pool.
        """

    def stats():
        """@return: a dict of counts (sessions, ports per range) for leak checks."""
