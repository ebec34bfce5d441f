# -*- test-case-name: tests.test_testing -*-
"""
Test doubles shipped with tpbx, for its own tests and for anyone plugging
into its seams.

Twisted's L{MemoryReactor} has no UDP, so, as Twisted's own DNS tests do
(C{twisted/names/test/test_util.py}), a memory datagram transport and a
reactor that hands it out are defined here and pinned to their interfaces
when this module is imported.  Every fake is also checked with
C{verifyObject} in C{tests/test_testing.py}.
"""

from __future__ import annotations

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorUDP, IUDPTransport
from twisted.internet.testing import MemoryReactorClock
from zope.interface import implementer
from zope.interface.verify import verifyClass

from tpbx.interfaces import IAccessGuard, IMessageSender, IMessageSink

__all__ = [
    "MemoryDatagramTransport", "MemoryUDPReactor", "FakeMessageSink",
    "FakeMessageSender", "FakeAccessGuard", "ManualRunner",
]


@implementer(IUDPTransport)
class MemoryDatagramTransport:
    """
    A UDP port that records what is written to it.

    @ivar written: C{(packet, (host, port))} for every C{write}, in order.
    @ivar stopped: whether C{stopListening} was called.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 5060):
        """
        @param host: the local address C{getHost} reports.
        @param port: the local port C{getHost} reports.
        """
        family = IPv6Address if ":" in host else IPv4Address
        self._address = family("UDP", host, port)
        self.written: list[tuple[bytes, tuple]] = []
        self.connectedTo: tuple | None = None
        self.stopped = False
        self._broadcast = False

    def write(self, packet, addr=None):
        """Record C{packet} sent to C{addr} (or the connected address)."""
        self.written.append((packet, addr if addr is not None else self.connectedTo))

    def connect(self, host, port):
        """Remember the address later writes without one go to."""
        self.connectedTo = (host, port)

    def getHost(self):
        """@return: the local address given to the constructor."""
        return self._address

    def stopListening(self):
        """Record that the port was closed."""
        self.stopped = True

    def setBroadcastAllowed(self, enabled):
        self._broadcast = enabled

    def getBroadcastAllowed(self):
        return self._broadcast


verifyClass(IUDPTransport, MemoryDatagramTransport)


@implementer(IReactorUDP)
class MemoryUDPReactor(MemoryReactorClock):
    """
    L{MemoryReactorClock} (TCP, SSL, time) plus C{listenUDP}, which
    connects the protocol to a L{MemoryDatagramTransport}.

    @ivar udpPorts: C{port -> (protocol, transport, interface,
        maxPacketSize)} for every C{listenUDP}.
    """

    def __init__(self):
        super().__init__()
        self.udpPorts: dict[int, tuple] = {}

    def listenUDP(self, port, protocol, interface="", maxPacketSize=8192):
        """
        Bind C{protocol} to a memory transport; port 0 gets the next free
        fake number from 40000 up.
        """
        if port == 0:
            port = 40000 + len(self.udpPorts)
        transport = MemoryDatagramTransport(interface or "0.0.0.0", port)
        self.udpPorts[port] = (protocol, transport, interface, maxPacketSize)
        protocol.makeConnection(transport)
        return transport


verifyClass(IReactorUDP, MemoryUDPReactor)


@implementer(IMessageSink)
class FakeMessageSink:
    """
    Records what a transport delivers.

    @ivar received: C{(message, peer)} pairs.
    @ivar errors: C{(peer, reason)} pairs.
    """

    def __init__(self):
        self.received: list[tuple] = []
        self.errors: list[tuple] = []

    def messageReceived(self, message, peer):
        self.received.append((message, peer))

    def transportError(self, peer, reason):
        self.errors.append((peer, reason))


@implementer(IMessageSender)
class FakeMessageSender:
    """
    Records what the stack sends.

    @ivar sent: C{(message, peer)} pairs.
    """

    def __init__(self):
        self.sent: list[tuple] = []

    def send(self, message, peer):
        self.sent.append((message, peer))


@implementer(IAccessGuard)
class FakeAccessGuard:
    """
    Refuses a fixed set of hosts.

    @ivar blocked: hosts C{allowPacket} says no to.
    @ivar checks: C{(host, now)} for every C{allowPacket}.
    @ivar failures: C{(host, now, user)} for every C{authFailed}.
    @ivar requests: C{(host, now)} for every C{requestSeen}.
    """

    def __init__(self, blocked=()):
        self.blocked = set(blocked)
        self.checks: list[tuple] = []
        self.failures: list[tuple] = []
        self.requests: list[tuple] = []

    def allowPacket(self, host, now):
        self.checks.append((host, now))
        return host not in self.blocked

    def authFailed(self, host, now, user):
        self.failures.append((host, now, user))

    def requestSeen(self, host, now):
        self.requests.append((host, now))
        return host not in self.blocked


class ManualRunner:
    """
    Stands for L{tpbx.pbx.writebehind.inThreads}: each call C{f(*args)}
    waits until the test says its thread finished (L{finish}).

    @ivar running: one Deferred per call not finished yet, in order.
    """

    def __init__(self):
        self.running: list[Deferred] = []

    def __call__(self, f, *args) -> Deferred:
        self.running.append(Deferred().addCallback(lambda _: f(*args)))
        return self.running[-1]

    def finish(self) -> None:
        """Run the oldest waiting call now."""
        self.running.pop(0).callback(None)
