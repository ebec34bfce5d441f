# -*- test-case-name: tests.media.test_bench_relay_quick -*-
"""
The baseline of the relay benchmark: the least a Twisted program can do to
relay RTP, so the cost of tpbx's own relay logic can be read off against it.

Each call gets two UDP ports; a packet arriving on one is written out of the
other to a fixed destination with C{transport.write}.  No latching, no
counters, no timers, no RTCP ports: nothing but the reactor's read loop and
one write per packet.
"""

from twisted.internet.error import CannotListenError
from twisted.internet.protocol import DatagramProtocol

__all__ = ["BareForward", "BareRelay"]


class BareForward(DatagramProtocol):
    """
    Forward every datagram out of C{other}'s socket to C{dest}.

    @ivar other: the L{BareForward} of the other side.
    @ivar dest: where packets to this side's party go.
    """

    other = None
    dest = None

    def datagramReceived(self, data, addr):
        other = self.other
        other.transport.write(data, other.dest)


class BareRelay:
    """Allocates pairs of L{BareForward} sockets on consecutive ports."""

    def __init__(self, reactor, bindHost, first, last):
        self._reactor, self._bindHost = reactor, bindHost
        self._first, self._next, self._last = first, first, last
        self._ports = []

    def allocate(self, a, b):
        """
        @param a: C{(host, port)} of party a; C{b} likewise.
        @return: C{(aPort, bPort)}: where a and b send their packets.
        """
        sides = []
        for dest in (a, b):
            side = BareForward()
            side.dest = dest
            while True:   # bounded by the range: listenUDP raises past 65535
                port, self._next = self._next, self._next + 2
                if port > self._last:
                    raise RuntimeError("bare relay range exhausted")
                try:
                    self._ports.append(self._reactor.listenUDP(port, side, interface=self._bindHost))
                    break
                except CannotListenError:
                    continue
            sides.append((side, port))
        (sa, pa), (sb, pb) = sides
        sa.other, sb.other = sb, sa
        return pa, pb

    def releaseAll(self):
        """Close every socket; ports are reused from the start of the range."""
        ports, self._ports, self._next = self._ports, [], self._first
        for port in ports:
            port.stopListening()
