# -*- test-case-name: tests.media.test_relay_multicast -*-
"""
A relay side aimed at a multicast group (multicast paging, SPEC E4) on
real sockets: how its packets leave (TTL, interface) and that no source
ever latches it.  Nothing is sent here -- the host's loopback has no
multicast; tests/e2e/test_multicast_paging.py sends a page through one
in a network namespace of its own.
"""

import socket

from twisted.internet import reactor
from twisted.logger import capturedLogs, formatEvent

from tpbx.media.relay import MULTICAST_TTL, RTPRelay

from .support import rtp
from .test_relay_loopback import freeRange


def _session():
    ports = freeRange()
    relay = RTPRelay(reactor, "127.0.0.1", ports, ports, 30.0)
    return relay, relay.allocate("page")


def test_groupTargetSetsSocketOptions():
    """
    Aimed at 239.255.0.1:5004, the side sends RTP there and RTCP to
    5005, both sockets with TTL L{MULTICAST_TTL} (the page stays on the
    subnet) out of the interface of the bound address.
    """
    relay, session = _session()
    try:
        session.b.setTarget("239.255.0.1", 5004)
        assert (session.b.rtp.dest, session.b.rtcp.dest) == (
            ("239.255.0.1", 5004), ("239.255.0.1", 5005))
        for port in (session.b.rtp, session.b.rtcp):
            sock = port.sock
            assert sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL) == MULTICAST_TTL
            assert sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, 4) == (
                socket.inet_aton("127.0.0.1"))
    finally:
        relay.release(session)


def test_groupSideNeverLatches():
    """
    A packet reaching the group-facing side from anywhere is rejected:
    the caller's audio keeps going to the group, and nothing goes back to
    the caller.
    """
    relay, session = _session()
    try:
        session.b.setTarget("239.255.0.1", 5004)
        session.b.rtp.datagramReceived(rtp(1, ssrc=7), ("127.0.0.1", 40000))
        assert session.b.latched is None and session.b.rtp.rejected == 1
        assert session.b.rtp.forwardTo == ("239.255.0.1", 5004)
    finally:
        relay.release(session)


def test_unreachableGroupLoggedNotRaised():
    """
    An IPv6 group on the IPv4 relay cannot be sent to: setting it logs a
    warning naming the group, raises nothing into the call, and the side
    still never latches.
    """
    relay, session = _session()
    try:
        with capturedLogs() as events:
            session.b.setTarget("ff05::1", 5004)
        assert any("ff05::1" in formatEvent(e) for e in events)
        assert session.b.rtp.strict and session.b.rtcp.strict
    finally:
        relay.release(session)
