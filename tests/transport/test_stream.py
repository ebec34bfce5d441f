# -*- test-case-name: tests.transport.test_stream -*-
"""
SIP over TCP/TLS connections: framing, keep-alives, flows, limits, idleness.
"""

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import ssl
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.python.failure import Failure

from tpbx.sip.parser import parseMessage
from tpbx.testing import FakeAccessGuard, FakeMessageSink
from tpbx.transport.common import TransportLimits
from tpbx.transport.stream import (
    ConnectionTable, SIPStreamFactory, SIPStreamProtocol, SIPTLSServerFactory,
)

from .support import connectStream, loggedFailures, options, response

TCP_VIA = "SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bKt1;rport"


def close(protocol, transport):
    """Finish a connection as the reactor would."""
    transport.loseConnection()
    protocol.connectionLost(Failure(ConnectionError("closed")))


def test_messageDeliveredWithFlow():
    """A request on a connection reaches the sink with Via stamped and a
    Peer carrying the connection's flow id and local address."""
    protocol, transport, sink, _, table = connectStream()
    protocol.dataReceived(options(via=TCP_VIA))
    [(message, peer)] = sink.received
    assert "rport=40001;received=10.0.0.5" in message.headers.get("Via")
    assert (peer.transport, peer.host, peer.port) == ("tcp", "10.0.0.5", 40001)
    assert peer.flow == protocol.flow and table.get(peer.flow) is protocol
    assert peer.local == ("192.0.2.10", 5060)
    close(protocol, transport)


def test_splitMessagesReassembled():
    """Messages fed one byte at a time are delivered whole, in order."""
    protocol, transport, sink, _, _ = connectStream()
    data = options(via=TCP_VIA, body=b"hello") + response()
    for i in range(len(data)):
        protocol.dataReceived(data[i:i + 1])
    assert [m.body for m, _ in sink.received] == [b"hello", b""]
    close(protocol, transport)


def test_coalescedMessagesSplit():
    """Several messages in one read are each delivered."""
    protocol, transport, sink, _, _ = connectStream()
    protocol.dataReceived(options(via=TCP_VIA, callId="a") + options(via=TCP_VIA, callId="b"))
    assert [m.callId for m, _ in sink.received] == ["a", "b"]
    close(protocol, transport)


def test_pingAnsweredWithPong():
    """A CRLFCRLF ping is answered with one CRLF (RFC 5626 sec. 3.5.1)."""
    protocol, transport, sink, _, _ = connectStream()
    protocol.dataReceived(b"\r\n\r\n")
    assert transport.value() == b"\r\n" and sink.received == []
    close(protocol, transport)


def test_badRequestAnsweredOnConnection():
    """An unparseable but answerable request is answered on the same
    connection, which stays open."""
    protocol, transport, sink, _, _ = connectStream()
    protocol.dataReceived(options(via=TCP_VIA, extra="Max-Forwards: 900\r\n"))
    assert parseMessage(transport.value()).status == 400
    assert not transport.disconnecting and sink.received == []
    protocol.dataReceived(options(via=TCP_VIA))
    assert len(sink.received) == 1
    close(protocol, transport)


def test_framingErrorCloses():
    """A message without Content-Length cannot be framed: the connection
    is closed and nothing after it is read."""
    protocol, transport, sink, _, table = connectStream()
    protocol.dataReceived(b"OPTIONS sip:a SIP/2.0\r\nVia: x\r\n\r\n" + options(via=TCP_VIA))
    assert transport.disconnecting and sink.received == []
    protocol.dataReceived(options(via=TCP_VIA))
    assert sink.received == []
    close(protocol, transport)
    assert len(table) == 0


def test_oversizedHeaderCloses():
    """A header section over the limit closes the connection before the
    whole of it is buffered."""
    limits = TransportLimits(maxHeaderBytes=256)
    protocol, transport, _, _, _ = connectStream(limits)
    protocol.dataReceived(b"OPTIONS sip:a SIP/2.0\r\n" + b"X-Pad: y\r\n" * 40)
    assert transport.disconnecting
    close(protocol, transport)


def test_garbageClosesQuietly():
    """Binary garbage closes the connection without an unexpected error."""
    protocol, transport, _, _, _ = connectStream()
    with loggedFailures() as failures:
        protocol.dataReceived(bytes(range(256)) * 4 + b"\r\n\r\n")
    assert transport.disconnecting and failures == []
    close(protocol, transport)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=200), max_size=5))
def test_randomStreamsHandled(chunks):
    """Random chunks on a connection never cause an unexpected error."""
    protocol, transport, _, _, _ = connectStream()
    with loggedFailures() as failures:
        for chunk in chunks:
            protocol.dataReceived(chunk)
    assert failures == []
    close(protocol, transport)


def test_sinkFailureClosesWithoutRaising():
    """An exception from the sink is logged and closes the connection."""
    protocol, transport, sink, _, _ = connectStream()

    def explode(message, peer):
        raise RuntimeError("boom")

    sink.messageReceived = explode
    with loggedFailures() as failures:
        protocol.dataReceived(options(via=TCP_VIA))
    assert transport.disconnecting and len(failures) == 1
    close(protocol, transport)


def test_guardClosesBlacklistedConnection():
    """Once its source is blacklisted, a connection is closed at its next
    read and nothing is delivered."""
    guard = FakeAccessGuard()
    protocol, transport, sink, _, _ = connectStream(guard=guard)
    guard.blocked.add("10.0.0.5")
    protocol.dataReceived(options(via=TCP_VIA))
    assert transport.disconnecting and sink.received == []
    close(protocol, transport)


def test_idleConnectionClosed():
    """A connection without traffic for idleTimeout seconds is closed;
    traffic pushes the deadline back."""
    limits = TransportLimits(idleTimeout=300)
    protocol, transport, _, clock, _ = connectStream(limits)
    clock.advance(200)
    protocol.dataReceived(b"\r\n\r\n")
    clock.advance(200)
    assert not transport.disconnecting
    clock.advance(100)
    assert transport.disconnecting
    close(protocol, transport)
    assert clock.getDelayedCalls() == []


def test_keepOpenDefersIdleClose():
    """keepOpen(seconds) keeps an idle flow open that long (a registered
    phone's flow)."""
    limits = TransportLimits(idleTimeout=300)
    protocol, transport, _, clock, _ = connectStream(limits)
    protocol.keepOpen(3600)
    clock.advance(3599)
    assert not transport.disconnecting
    clock.advance(1)
    assert transport.disconnecting
    close(protocol, transport)
    assert clock.getDelayedCalls() == []


def test_connectionLostCancelsTimerAndForgetsFlow():
    """Closing a connection cancels its idle timer and removes it from the
    table."""
    protocol, transport, _, clock, table = connectStream()
    close(protocol, transport)
    assert clock.getDelayedCalls() == [] and table.get(protocol.flow) is None
    assert table.find("tcp", "10.0.0.5", 40001) is None
    assert table.countFrom("10.0.0.5") == 0


def test_tableFindsByAddressAndFlow():
    """Flows get distinct ids; each is found by flow and by address."""
    table = ConnectionTable()
    a = connectStream(table=table, peer=("10.0.0.5", 1))[0]
    b = connectStream(table=table, peer=("10.0.0.5", 2), name="tls")[0]
    assert a.flow != b.flow
    assert table.find("tcp", "10.0.0.5", 1) is a
    assert table.find("tls", "10.0.0.5", 2) is b
    assert table.countFrom("10.0.0.5") == 2 and len(table) == 2
    table.closeAll()
    assert a.transport.disconnecting and b.transport.disconnecting
    for p in (a, b):
        close(p, p.transport)


def test_factoryLimitsConnectionsPerHost():
    """The factory refuses a source over its connection quota and a
    blacklisted source; others are accepted."""
    table, clock, sink = ConnectionTable(), Clock(), FakeMessageSink()
    guard = FakeAccessGuard({"10.6.6.6"})
    factory = SIPStreamFactory("tcp", sink, clock, table,
                               TransportLimits(maxConnectionsPerHost=1), guard)
    first = connectStream(table=table, clock=clock, sink=sink)[0]
    assert factory.buildProtocol(IPv4Address("TCP", "10.0.0.5", 2)) is None
    assert factory.buildProtocol(IPv4Address("TCP", "10.6.6.6", 2)) is None
    assert factory.buildProtocol(IPv4Address("TCP", "10.0.0.7", 2)) is not None
    close(first, first.transport)


def test_factoryLimitsTotalConnections():
    """The factory refuses any source once maxConnections are open."""
    table, clock = ConnectionTable(), Clock()
    factory = SIPStreamFactory("tcp", FakeMessageSink(), clock, table,
                               TransportLimits(maxConnections=1))
    first = connectStream(table=table, clock=clock)[0]
    assert factory.buildProtocol(IPv4Address("TCP", "10.0.0.8", 2)) is None
    close(first, first.transport)


def test_tlsFactoryRefusesBeforeHandshake():
    """The TLS server factory asks the SIP factory first: a refused source
    gets no protocol at all (no TLS wrapper around nothing)."""
    table, clock = ConnectionTable(), Clock()
    guard = FakeAccessGuard({"10.6.6.6"})
    factory = SIPTLSServerFactory(ssl.CertificateOptions(), SIPStreamFactory(
        "tls", FakeMessageSink(), clock, table, TransportLimits(), guard))
    assert factory.buildProtocol(IPv4Address("TCP", "10.6.6.6", 2)) is None
    wrapper = factory.buildProtocol(IPv4Address("TCP", "10.0.0.7", 2))
    assert isinstance(wrapper.wrappedProtocol, SIPStreamProtocol)
