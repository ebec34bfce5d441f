# -*- test-case-name: tests.transport.test_registry -*-
"""
The sender: picks UDP or a TCP/TLS connection for each Peer, reuses
connections, connects and queues when there is none.
"""

from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from zope.interface.verify import verifyObject

from tpbx.interfaces import IMessageSender
from tpbx.sip.message import Response
from tpbx.sip.parser import parseMessage
from tpbx.sip.peer import Peer
from tpbx.testing import FakeMessageSink, MemoryDatagramTransport, MemoryUDPReactor
from tpbx.transport.common import TransportLimits
from tpbx.transport.registry import TransportRegistry
from tpbx.transport.stream import ConnectionTable
from tpbx.transport.tls import ClientTLSPolicy
from tpbx.transport.udp import SIPDatagramProtocol

from .support import connectStream, options

TCP_VIA = "SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bKt1;rport"


def makeRegistry(limits=TransportLimits(), clientTLS=None, udp=True):
    """@return: C{(registry, reactor, sink)}."""
    reactor, sink = MemoryUDPReactor(), FakeMessageSink()
    protocol = None
    if udp:
        protocol = SIPDatagramProtocol(sink, reactor)
        protocol.makeConnection(MemoryDatagramTransport("192.0.2.10", 5060))
    registry = TransportRegistry(reactor, sink, ConnectionTable(), protocol,
                                 limits, clientTLS)
    return registry, reactor, sink


def completeConnection(factory, host="10.0.0.9", port=5060):
    """Make the connection the reactor was asked for succeed."""
    protocol = factory.buildProtocol(IPv4Address("TCP", host, port))
    transport = StringTransport(IPv4Address("TCP", "192.0.2.10", 41000),
                                IPv4Address("TCP", host, port))
    protocol.makeConnection(transport)
    return protocol, transport


def request(callId="c1"):
    return parseMessage(options(via=TCP_VIA, callId=callId))


def test_providesSender():
    """The registry is an IMessageSender."""
    assert verifyObject(IMessageSender, makeRegistry()[0])


def test_udpGoesThroughListeningPort():
    """A UDP peer is written through the UDP protocol's port."""
    reactor, sink = MemoryUDPReactor(), FakeMessageSink()
    udp = SIPDatagramProtocol(sink, reactor)
    port = MemoryDatagramTransport("192.0.2.10", 5060)
    udp.makeConnection(port)
    registry = TransportRegistry(reactor, sink, ConnectionTable(), udp)
    message = request()
    registry.send(message, Peer("udp", "10.0.0.9", 5070))
    assert port.written == [(message.toBytes(), ("10.0.0.9", 5070))]


def test_udpDisabledReported():
    """Without UDP, a UDP peer is a transport error."""
    registry, _, sink = makeRegistry(udp=False)
    peer = Peer("udp", "10.0.0.9", 5070)
    registry.send(request(), peer)
    assert sink.errors == [(peer, "UDP is not enabled")]


def test_unknownTransportReported():
    """A transport nobody provides is a transport error."""
    registry, _, sink = makeRegistry()
    peer = Peer("sctp", "10.0.0.9", 5070)
    registry.send(request(), peer)
    assert sink.errors == [(peer, "unsupported transport 'sctp'")]


def test_responseGoesBackOnSameConnection():
    """A response to a request that came over a connection goes back on
    that connection, whatever its Via says (sec. 18.2.2)."""
    registry, reactor, sink = makeRegistry()
    protocol, transport, _, _, _ = connectStream(table=registry.connections,
                                                 clock=reactor, sink=sink)
    protocol.dataReceived(options(via=TCP_VIA))
    [(message, peer)] = sink.received
    answer = Response(200)
    answer.headers.add("Via", message.headers.get("Via"))
    registry.send(answer, peer)
    assert transport.value() == answer.toBytes()
    assert reactor.tcpClients == []
    transport.loseConnection()
    protocol.connectionLost(None)


def test_requestReusesOpenConnectionToAddress():
    """Without a flow, an open connection to the peer's address is reused."""
    registry, reactor, sink = makeRegistry()
    protocol, transport, _, _, _ = connectStream(
        table=registry.connections, clock=reactor, sink=sink, peer=("10.0.0.9", 5060))
    message = request()
    registry.send(message, Peer("tcp", "10.0.0.9", 5060, flow=12345))
    assert transport.value() == message.toBytes() and reactor.tcpClients == []
    protocol.connectionLost(None)


def test_connectQueueAndReuse():
    """With no connection, one is opened (with the connect timeout);
    messages queue until it is made, then go in order; later messages
    reuse it, also when addressed by its flow."""
    registry, reactor, _ = makeRegistry(TransportLimits(connectTimeout=7))
    peer = Peer("tcp", "10.0.0.9", 5060)
    first, second, third = request("a"), request("b"), request("c")
    registry.send(first, peer)
    registry.send(second, peer)
    [(host, port, factory, timeout, _)] = reactor.tcpClients
    assert (host, port, timeout) == ("10.0.0.9", 5060, 7)
    protocol, transport = completeConnection(factory)
    assert transport.value() == first.toBytes() + second.toBytes()
    registry.send(third, Peer("tcp", "10.0.0.9", 5060, flow=protocol.flow))
    assert transport.value().endswith(third.toBytes())
    assert len(reactor.tcpClients) == 1
    protocol.connectionLost(None)


def test_connectionByHostNameReused():
    """A connection dialled by host name is found again by that name."""
    registry, reactor, _ = makeRegistry()
    peer = Peer("tcp", "pbx.example", 5060)
    registry.send(request("a"), peer)
    protocol, transport = completeConnection(reactor.tcpClients[0][2])
    registry.send(request("b"), peer)
    assert len(reactor.tcpClients) == 1
    assert transport.value().count(b"OPTIONS ") == 2
    protocol.connectionLost(None)


def test_connectFailureReported():
    """A failed connection reports transportError once per waiting peer
    and forgets the queue; the next send tries again."""
    registry, reactor, sink = makeRegistry()
    peer, other = Peer("tcp", "10.0.0.9", 5060), Peer("tcp", "10.0.0.9", 5060, flow=99)
    registry.send(request("a"), peer)
    registry.send(request("b"), peer)
    registry.send(request("c"), other)
    connector = reactor.connectors[0]
    reactor.tcpClients[0][2].clientConnectionFailed(
        connector, Failure(ConnectionRefusedError("refused")))
    assert [p for p, _ in sink.errors] == [peer, other]
    assert "refused" in sink.errors[0][1]
    registry.send(request("d"), peer)
    assert len(reactor.tcpClients) == 2


def test_queueIsBounded():
    """Messages beyond maxQueuedMessages for one destination are refused
    with a transport error."""
    registry, _, sink = makeRegistry(TransportLimits(maxQueuedMessages=2))
    peer = Peer("tcp", "10.0.0.9", 5060)
    for name in "abc":
        registry.send(request(name), peer)
    assert sink.errors == [(peer, "too many messages waiting for a connection")]


def test_tlsConnectsWithClientOptions():
    """A TLS peer without a connection is dialled with connectSSL and the
    client TLS policy's options."""
    policy = ClientTLSPolicy()
    registry, reactor, _ = makeRegistry(clientTLS=policy)
    registry.send(request(), Peer("tls", "10.0.0.9", 5061))
    [(host, port, factory, options_, _, _)] = reactor.sslClients
    assert (host, port) == ("10.0.0.9", 5061)
    assert options_ is policy.optionsFor("10.0.0.9")
    protocol, _ = completeConnection(factory, port=5061)
    assert protocol.peer.transport == "tls"
    protocol.connectionLost(None)


def test_tlsWithoutPolicyReported():
    """Without a client TLS policy, a TLS peer is a transport error."""
    registry, reactor, sink = makeRegistry()
    peer = Peer("tls", "10.0.0.9", 5061)
    registry.send(request(), peer)
    assert sink.errors == [(peer, "TLS is not enabled")] and reactor.sslClients == []


def test_responseWithDeadFlowGoesToViaAddress():
    """A response whose connection is gone is sent on a new connection to
    the received address and sent-by port (sec. 18.2.2)."""
    registry, reactor, _ = makeRegistry()
    answer = Response(200)
    answer.headers.add("Via", "SIP/2.0/TCP ua.example:5080;branch=z9hG4bK1;received=10.0.0.5")
    registry.send(answer, Peer("tcp", "10.0.0.5", 40001, flow=77))
    [(host, port, _, _, _)] = reactor.tcpClients
    assert (host, port) == ("10.0.0.5", 5080)


def test_keepOpen():
    """keepOpen reaches an open flow and says whether it exists."""
    registry, reactor, sink = makeRegistry(TransportLimits(idleTimeout=10))
    protocol, transport, _, _, _ = connectStream(
        TransportLimits(idleTimeout=10), table=registry.connections, clock=reactor, sink=sink)
    assert registry.keepOpen(protocol.flow, 100)
    assert not registry.keepOpen(12345, 100)
    reactor.advance(50)
    assert not transport.disconnecting
    reactor.advance(50)
    assert transport.disconnecting
    protocol.connectionLost(None)


def test_stopAbandonsConnectsSilently():
    """stop() stops pending connection attempts without reporting them."""
    registry, reactor, sink = makeRegistry()
    registry.send(request(), Peer("tcp", "10.0.0.9", 5060))
    registry.stop()
    assert reactor.connectors[0].stoppedConnecting and sink.errors == []
