# -*- test-case-name: tests.media.test_relay -*-
"""
Helpers for the relay tests: RTP/RTCP packets, and a relay on fake time
and fake sockets.
"""

import errno
import socket
import struct

from twisted.internet.testing import MemoryReactorClock

from tpbx.config import PortRange
from tpbx.media.readers import ReactorReaders
from tpbx.media.relay import RTPRelay

__all__ = ["rtp", "rtcp", "FakeSocket", "FakeNetwork", "makeRelay", "INTERNAL", "EXTERNAL",
           "A_SDP", "B_SDP"]

A_SDP, B_SDP = ("10.0.0.5", 4000), ("192.0.2.7", 5000)

INTERNAL, EXTERNAL = PortRange(7000, 7011), PortRange(8000, 8011)


def rtp(seq=1, ssrc=0x11223344, payload=b"\xff" * 160):
    """@return: a PCMU RTP packet (RFC 3550 sec. 5.1, PT 0)."""
    return struct.pack("!BBHII", 0x80, 0, seq, seq * 160, ssrc) + payload


def rtcp(ssrc=0x11223344):
    """@return: an empty receiver report (RFC 3550 sec. 6.4.2)."""
    return struct.pack("!BBHI", 0x80, 201, 1, ssrc)


class FakeSocket:
    """
    A bound UDP socket that records what is sent on it.

    @ivar sent: C{(packet, addr)} for every C{sendto}, in order.
    @ivar failure: an errno every C{sendto} fails with, or None.
    """

    def __init__(self, host, port, family=socket.AF_INET):
        self.host, self.port, self.family = host, port, family
        self.sent, self.failure, self.closed = [], None, False

    def sendto(self, data, addr):
        if self.failure is not None:
            raise OSError(self.failure, "send failed")
        self.sent.append((data, addr))

    def fileno(self):
        return -1 if self.closed else self.port

    def close(self):
        self.closed = True


class FakeNetwork:
    """
    The relay's C{openSocket}: hands out L{FakeSocket}s by port.

    @ivar sockets: the last socket bound on each port.
    @ivar busy: ports another program holds (C{EADDRINUSE}).
    @ivar failure: an errno every bind fails with (C{EMFILE}...), or None.
    @ivar bursts: port -> the C{burst} it was opened with.
    """

    def __init__(self, busy=(), family=socket.AF_INET):
        self.sockets, self.busy, self.failure, self.family = {}, set(busy), None, family
        self.bursts = {}

    def open(self, host, port, burst=True):
        self.bursts[port] = burst
        if self.failure is not None:
            raise OSError(self.failure, "cannot bind")
        if port in self.busy:
            raise OSError(errno.EADDRINUSE, "Address already in use")
        sock = self.sockets[port] = FakeSocket(host, port, self.family)
        return sock

    def sent(self, port):
        """@return: what was sent on the socket bound to C{port}."""
        return self.sockets[port].sent


def makeRelay(timeout=60.0, busy=(), family=socket.AF_INET, **kw):
    """
    @return: C{(reactor, net, relay)} on 127.0.0.1 with small port ranges;
        the fake sockets register with the memory reactor itself.
    """
    reactor, net = MemoryReactorClock(), FakeNetwork(busy, family)
    return reactor, net, RTPRelay(reactor, "127.0.0.1", INTERNAL, EXTERNAL, timeout,
                                  openSocket=net.open, readers=ReactorReaders(reactor), **kw)
