# -*- test-case-name: tests.media.test_relay -*-
"""
Helpers for the relay tests: RTP/RTCP packets and a relay on the memory
reactor of L{tpbx.testing} (fake time, fake sockets).
"""

import struct

from twisted.internet.error import CannotListenError

from tpbx.config import PortRange
from tpbx.media.relay import RTPRelay
from tpbx.testing import MemoryUDPReactor

__all__ = ["rtp", "rtcp", "BusyPortsReactor", "makeRelay", "sent"]

INTERNAL, EXTERNAL = PortRange(7000, 7011), PortRange(8000, 8011)


def rtp(seq=1, ssrc=0x11223344, payload=b"\xff" * 160):
    """@return: a PCMU RTP packet (RFC 3550 sec. 5.1, PT 0)."""
    return struct.pack("!BBHII", 0x80, 0, seq, seq * 160, ssrc) + payload


def rtcp(ssrc=0x11223344):
    """@return: an empty receiver report (RFC 3550 sec. 6.4.2)."""
    return struct.pack("!BBHI", 0x80, 201, 1, ssrc)


class BusyPortsReactor(MemoryUDPReactor):
    """A memory reactor on which some ports are held by another program."""

    def __init__(self, busy=()):
        super().__init__()
        self.busy = set(busy)

    def listenUDP(self, port, protocol, interface="", maxPacketSize=8192):
        if port in self.busy:
            raise CannotListenError(interface, port, OSError(98, "Address already in use"))
        return super().listenUDP(port, protocol, interface, maxPacketSize)


def makeRelay(timeout=60.0, busy=(), **kw):
    """@return: C{(reactor, relay)} on 127.0.0.1 with small port ranges."""
    reactor = BusyPortsReactor(busy)
    return reactor, RTPRelay(reactor, "127.0.0.1", INTERNAL, EXTERNAL, timeout, **kw)


def sent(reactor, port):
    """@return: what was written on the memory socket bound to C{port}."""
    return reactor.udpPorts[port][1].written
