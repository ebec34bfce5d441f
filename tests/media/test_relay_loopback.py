# -*- test-case-name: tests.media.test_relay_loopback -*-
"""
The relay on the real reactor and real sockets on 127.0.0.1: two client
sockets talk through it, one of them changing its source port as a NAT
would, and every socket is closed and every port given back at the end.
"""

import socket

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.protocol import DatagramProtocol
from twisted.trial.unittest import TestCase

from tpbx.config import PortRange
from tpbx.media.relay import RTPRelay

from .support import rtcp, rtp


def freeRange(size=40):
    """@return: a L{PortRange} starting at a port the kernel just handed out
    (a collision later is survived: the relay retires ports it cannot bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        first = s.getsockname()[1]
    first = min(first, 65535 - size)
    return PortRange(first, first + size - 1)


class Party(DatagramProtocol):
    """A client socket whose L{next} fires with the next packet it receives."""

    def __init__(self):
        self.waiting, self.ready = [], []

    def datagramReceived(self, data, addr):
        if self.waiting:
            self.waiting.pop(0).callback((data, addr))
        else:
            self.ready.append((data, addr))

    def next(self):
        d = Deferred()
        if self.ready:
            d.callback(self.ready.pop(0))
        else:
            self.waiting.append(d)
        return d


class RelayLoopbackTests(TestCase):
    """Two parties, one relay session, all on 127.0.0.1."""

    timeout = 10

    def setUp(self):
        # One range for both: two ranges from freeRange() may overlap, which
        # the relay refuses (only equal ranges may share ports).
        ports = freeRange()
        self.relay = RTPRelay(reactor, "127.0.0.1", ports, ports, 30.0)
        self.session = self.relay.allocate("loopback")
        self.parties = {}
        for name in ("a", "b", "a2", "aRtcp", "bRtcp"):
            party = Party()
            port = reactor.listenUDP(0, party, interface="127.0.0.1")
            self.addCleanup(port.stopListening)
            self.parties[name] = (party, port.getHost().port)
        self.session.a.setTarget("127.0.0.1", self.parties["a"][1])
        self.session.b.setTarget("127.0.0.1", self.parties["b"][1])

    def tearDown(self):
        return self.relay.release(self.session)

    def send(self, name, packet, side, rtcpPort=False):
        party = self.parties[name][0]
        port = getattr(self.session, side).port + (1 if rtcpPort else 0)
        party.transport.write(packet, ("127.0.0.1", port))

    @inlineCallbacks
    def test_forwardsBothWays(self):
        """RTP from a reaches b from b's relay port, and b's answer reaches a."""
        self.send("a", rtp(1), "a")
        data, addr = yield self.parties["b"][0].next()
        self.assertEqual((data, addr), (rtp(1), ("127.0.0.1", self.session.b.port)))
        self.send("b", rtp(1, ssrc=9), "b")
        data, addr = yield self.parties["a"][0].next()
        self.assertEqual((data, addr), (rtp(1, ssrc=9), ("127.0.0.1", self.session.a.port)))

    @inlineCallbacks
    def test_latchesToChangedSourcePort(self):
        """When a's packets start coming from another port with a new SSRC
        (a NAT rebinding), b's packets follow them there."""
        self.send("a", rtp(1), "a")
        yield self.parties["b"][0].next()
        self.send("a2", rtp(1, ssrc=2), "a")
        yield self.parties["b"][0].next()
        self.send("b", rtp(2, ssrc=9), "b")
        data, _ = yield self.parties["a2"][0].next()
        self.assertEqual(data, rtp(2, ssrc=9))
        self.assertEqual(self.session.a.latched, ("127.0.0.1", self.parties["a2"][1]))

    @inlineCallbacks
    def test_rtcpRelayed(self):
        """RTCP sent to the +1 ports is latched and relayed the same way."""
        self.send("aRtcp", rtcp(), "a", rtcpPort=True)
        self.send("bRtcp", rtcp(9), "b", rtcpPort=True)
        data, addr = yield self.parties["aRtcp"][0].next()
        self.assertEqual((data, addr), (rtcp(9), ("127.0.0.1", self.session.a.port + 1)))

    @inlineCallbacks
    def test_releaseClosesSockets(self):
        """After release the four ports can be bound again and the pool is whole."""
        ports = [self.session.a.port, self.session.b.port]
        yield self.relay.release(self.session)
        self.assertEqual(self.relay.stats()["internal"]["inUse"], 0)
        self.assertEqual(self.relay.sessions, 0)
        for port in ports:
            for each in (port, port + 1):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.bind(("127.0.0.1", each))
