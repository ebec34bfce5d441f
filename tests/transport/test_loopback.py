# -*- test-case-name: tests.transport.test_loopback -*-
"""
One real round trip per transport on 127.0.0.1, ephemeral ports: an
OPTIONS sent by one tpbx transport stack reaches another's sink, and the
answer comes back (on the same connection for TCP and TLS).
"""

import shutil
import tempfile

from twisted.internet.defer import Deferred, inlineCallbacks, succeed
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from tpbx.interfaces import IMessageSink
from tpbx.sip.message import Request, Response
from tpbx.sip.parser import parseMessage
from tpbx.sip.peer import Peer
from tpbx.sip.reply import makeResponse
from tpbx.transport.listen import SIPListeners
from tpbx.transport.tls import ClientTLSPolicy, loadOrCreateCertificate, serverOptions

from .support import options


@implementer(IMessageSink)
class WaitingSink:
    """A sink whose L{next} fires with the next C{(message, peer)}."""

    def __init__(self):
        self._waiting: list[Deferred] = []
        self._ready: list[tuple] = []

    def next(self) -> Deferred:
        if self._ready:
            return succeed(self._ready.pop(0))
        waiter = Deferred()
        self._waiting.append(waiter)
        return waiter

    def _deliver(self, item):
        if self._waiting:
            self._waiting.pop(0).callback(item)
        else:
            self._ready.append(item)

    def messageReceived(self, message, peer):
        self._deliver((message, peer))

    def transportError(self, peer, reason):
        self._deliver((reason, peer))


class LoopbackTests(TestCase):
    """
    A client stack (UDP only, dialling out over TCP/TLS) and a server
    stack (UDP, TCP, TLS) on the real reactor.
    """

    timeout = 20

    def setUp(self):
        from twisted.internet import reactor  # trial runs the real reactor

        dataDir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, dataDir)
        self.serverSink, self.clientSink = WaitingSink(), WaitingSink()
        tlsOptions = serverOptions(loadOrCreateCertificate(dataDir))
        self.server = SIPListeners(reactor, "127.0.0.1", 0, 0, 0, self.serverSink,
                                   certificateOptions=tlsOptions)
        self.client = SIPListeners(reactor, "127.0.0.1", 0, None, None,
                                   self.clientSink, clientTLS=ClientTLSPolicy())
        self.server.startService()
        self.addCleanup(self.server.stopService)
        self.client.startService()
        self.addCleanup(self.client.stopService)

    @inlineCallbacks
    def roundTrip(self, transport: str):
        """
        Send an OPTIONS from the client to the server over C{transport},
        answer it 200, and return both sides' peers.
        """
        host, port = self.server.localHostPort(transport)
        via = (f"SIP/2.0/{transport.upper()} 127.0.0.1:{self.client.ports['udp']}"
               f";branch=z9hG4bK{transport};rport")
        self.client.sender.send(parseMessage(options(via=via)),
                                Peer(transport, host, port))
        request, peer = yield self.serverSink.next()
        self.assertIsInstance(request, Request)
        self.assertEqual((request.method, peer.transport, peer.host),
                         ("OPTIONS", transport, "127.0.0.1"))
        self.server.sender.send(makeResponse(request, 200), peer)
        response, back = yield self.clientSink.next()
        self.assertIsInstance(response, Response)
        self.assertEqual(response.status, 200)
        return peer, back

    @inlineCallbacks
    def test_udp(self):
        """An OPTIONS over UDP arrives with rport stamped; the 200 returns
        to the source port."""
        peer, back = yield self.roundTrip("udp")
        self.assertEqual(peer.port, self.client.ports["udp"])
        self.assertIsNone(peer.flow)

    @inlineCallbacks
    def test_tcp(self):
        """An OPTIONS over a new TCP connection arrives on a flow; the 200
        returns on that same connection."""
        peer, back = yield self.roundTrip("tcp")
        self.assertIsNotNone(peer.flow)
        self.assertEqual(back.port, self.server.ports["tcp"])
        self.assertEqual(len(self.client.connections), 1)

    @inlineCallbacks
    def test_tls(self):
        """An OPTIONS over TLS (self-signed server certificate, unverified
        client) arrives; the 200 returns on the same connection."""
        peer, back = yield self.roundTrip("tls")
        self.assertEqual((peer.transport, back.transport), ("tls", "tls"))
        self.assertEqual(back.port, self.server.ports["tls"])
