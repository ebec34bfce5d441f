# -*- test-case-name: tests.transport.test_udp -*-
"""
SIP over UDP: what reaches the sink, what is answered, what is dropped.
"""

import socket

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import reactor
from twisted.internet.task import Clock
from zope.interface.verify import verifyObject

from tpbx.interfaces import IMessageSender
from tpbx.sip.message import Request, Response
from tpbx.sip.parser import parseMessage
from tpbx.sip.peer import Peer
from tpbx.testing import FakeAccessGuard, FakeMessageSink, MemoryDatagramTransport
from tpbx.sip.via import topViaOf
from tpbx.transport import udp
from tpbx.transport.udp import RECEIVE_BUFFER, SIPDatagramProtocol

from .support import SOURCE, ack, loggedFailures, makeProtocol, options, response

def test_providesSender():
    """The UDP protocol is an IMessageSender."""
    assert verifyObject(IMessageSender, makeProtocol()[0])


def test_requestDeliveredWithReceivedAndRport():
    """A request reaches the sink with received/rport stamped in its top
    Via (RFC 3581) and a UDP Peer naming source and local address."""
    protocol, transport, sink, _ = makeProtocol()
    protocol.datagramReceived(options(), SOURCE)
    [(message, peer)] = sink.received
    assert isinstance(message, Request) and message.method == "OPTIONS"
    assert message.headers.get("Via") == (
        "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKa1;rport=5062;received=10.0.0.5")
    assert peer == Peer("udp", "10.0.0.5", 5062, None, ("192.0.2.10", 5060))
    assert transport.written == []


def test_onePeerPerSourceAddress():
    """
    Datagrams from one source address reach the sink with one and the same
    L{Peer} (every transaction and leg of a call holds it); another address
    gets its own; the stamped top Via is what the message's memo holds.
    """
    protocol, _, sink, _ = makeProtocol()
    protocol.datagramReceived(options(), SOURCE)
    protocol.datagramReceived(options(), SOURCE)
    protocol.datagramReceived(options(), ("10.0.0.6", 5062))
    (first, a), (_, b), (_, c) = sink.received
    assert a is b and c == Peer("udp", "10.0.0.6", 5062, None, ("192.0.2.10", 5060))
    assert (topViaOf(first.headers).received, topViaOf(first.headers).rport) == (
        "10.0.0.5", 5062)


def test_peerCacheBounded(monkeypatch):
    """The kept peers are forgotten when there are too many (a scan of
    many source ports cannot grow it without bound)."""
    monkeypatch.setattr(udp, "_MAX_PEERS", 3)
    protocol, _, sink, _ = makeProtocol()
    for port in range(5000, 5010):
        protocol.datagramReceived(options(), ("10.0.0.5", port))
    assert len(protocol._peers) <= 3
    assert [p.port for _, p in sink.received] == list(range(5000, 5010))


def test_onlyTopViaOfSeveralIsStamped():
    """With several Via values on the top line, only the first changes and
    the order of all Via values is kept."""
    protocol, _, sink, _ = makeProtocol()
    data = options(via="SIP/2.0/UDP 10.0.0.7;branch=z9hG4bKx, "
                       "SIP/2.0/UDP 10.0.0.8;branch=z9hG4bKy",
                   extra="Via: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKz\r\n")
    protocol.datagramReceived(data, SOURCE)
    [(message, _)] = sink.received
    assert message.headers.getList("Via") == [
        "SIP/2.0/UDP 10.0.0.7;branch=z9hG4bKx;received=10.0.0.5",
        "SIP/2.0/UDP 10.0.0.8;branch=z9hG4bKy",
        "SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKz"]


def test_responseDelivered():
    """A response reaches the sink untouched (the sent-by check is the
    engine's)."""
    protocol, _, sink, _ = makeProtocol()
    protocol.datagramReceived(response(180), SOURCE)
    [(message, peer)] = sink.received
    assert isinstance(message, Response) and message.status == 180
    assert message.headers.get("Via") == "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKb1"
    assert peer.transport == "udp" and peer.flow is None


def test_keepAlivesIgnored():
    """CRLF and CRLFCRLF datagrams are keep-alives: no delivery, no answer."""
    protocol, transport, sink, _ = makeProtocol()
    protocol.datagramReceived(b"\r\n", SOURCE)
    protocol.datagramReceived(b"\r\n\r\n", SOURCE)
    assert sink.received == [] and transport.written == []


def test_garbageDroppedQuietly():
    """Garbage of every kind is dropped: no exception, none logged, no
    answer."""
    protocol, transport, sink, _ = makeProtocol()
    with loggedFailures() as failures:
        for data in (b"", b"\x00\xff" * 40, b"INVITE", b"SIP/2.0 200\r\n\r\n",
                     b"OPTIONS sip:a SIP/2.0\r\nVia\r\n\r\n", bytes(range(256))):
            protocol.datagramReceived(data, SOURCE)
    assert failures == [] and sink.received == [] and transport.written == []


def test_everyPrefixHandled():
    """Every truncation of a valid request is handled without an
    unexpected error."""
    protocol, _, _, _ = makeProtocol()
    data = options()
    with loggedFailures() as failures:
        for end in range(len(data)):
            protocol.datagramReceived(data[:end], SOURCE)
    assert failures == []


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300) | st.builds(
    lambda a, b: options()[:a] + b + options()[a:], st.integers(0, 250),
    st.binary(max_size=20)))
def test_randomDatagramsHandled(data):
    """Random and corrupted datagrams never cause an unexpected error."""
    protocol, _, _, _ = makeProtocol()
    with loggedFailures() as failures:
        protocol.datagramReceived(data, SOURCE)
    assert failures == []


def test_badRequestAnsweredToSource():
    """A request that does not parse but can be answered gets the
    parser's status, sent to the received/rport address (sec. 18.2.2)."""
    protocol, transport, sink, _ = makeProtocol()
    protocol.datagramReceived(options(extra="Max-Forwards: 900\r\n"), SOURCE)
    assert sink.received == []
    [(data, address)] = transport.written
    answer = parseMessage(data)
    assert answer.status == 400 and answer.reason == "Repeated Max-Forwards"
    assert address == SOURCE
    assert "received=10.0.0.5" in answer.headers.get("Via")


def test_badRequestWithoutRportAnsweredToSentByPort():
    """Without rport the answer goes to the source address and the Via
    sent-by port (RFC 3261 sec. 18.2.2)."""
    protocol, transport, _, _ = makeProtocol()
    data = options(via="SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bKq",
                   extra="Max-Forwards: 900\r\n")
    protocol.datagramReceived(data, SOURCE)
    [(_, address)] = transport.written
    assert address == ("10.0.0.5", 5070)


def test_badAckAndResponseNeverAnswered():
    """A malformed ACK or response is dropped, never answered."""
    protocol, transport, sink, _ = makeProtocol()
    protocol.datagramReceived(ack(), SOURCE)
    protocol.datagramReceived(response(cseq="CSeq: x OPTIONS"), SOURCE)
    assert sink.received == [] and transport.written == []


def test_blacklistedSourceGetsNothing():
    """A source the guard refuses gets no delivery and no answer, even for
    a bad request; the guard is asked with the clock's time."""
    guard = FakeAccessGuard({"10.0.0.5"})
    protocol, transport, sink, _ = makeProtocol(guard)
    protocol.datagramReceived(options(), SOURCE)
    protocol.datagramReceived(options(extra="Max-Forwards: 900\r\n"), SOURCE)
    assert sink.received == [] and transport.written == []
    assert guard.checks == [("10.0.0.5", 100.0)] * 2


def test_guardNotAskedForKeepAlives():
    """Keep-alives are dropped before the guard is consulted."""
    guard = FakeAccessGuard()
    protocol, _, _, _ = makeProtocol(guard)
    protocol.datagramReceived(b"\r\n\r\n", SOURCE)
    assert guard.checks == []


def test_oversizedRequestAnswered513():
    """A request over the datagram limit is answered 513 from its header
    section, and not delivered."""
    protocol, transport, sink, _ = makeProtocol(maxMessageBytes=600)
    protocol.datagramReceived(options(body=b"v=0\r\n" * 200), SOURCE)
    assert sink.received == []
    [(data, address)] = transport.written
    assert parseMessage(data).status == 513 and address == SOURCE


def test_oversizedResponseDropped():
    """A response over the limit is dropped silently."""
    protocol, transport, sink, _ = makeProtocol(maxMessageBytes=100)
    protocol.datagramReceived(response(), SOURCE)
    assert sink.received == [] and transport.written == []


def test_sinkFailureDoesNotEscape():
    """An exception raised by the sink is logged, not propagated."""
    protocol, _, sink, _ = makeProtocol()

    def explode(message, peer):
        raise RuntimeError("boom")

    sink.messageReceived = explode
    with loggedFailures() as failures:
        protocol.datagramReceived(options(), SOURCE)
    assert len(failures) == 1


def test_sendRequestToPeer():
    """A request goes to the peer's address, serialized with toBytes."""
    protocol, transport, _, _ = makeProtocol()
    request = parseMessage(options())
    protocol.send(request, Peer("udp", "10.0.0.9", 5080))
    assert transport.written == [(request.toBytes(), ("10.0.0.9", 5080))]


def test_sendResponseFollowsVia():
    """A response goes to received + rport, else received + sent-by port,
    else the sent-by host and port (RFC 3261 sec. 18.2.2, RFC 3581)."""
    protocol, transport, _, _ = makeProtocol()
    peer = Peer("udp", "10.0.0.5", 5062)
    vias = {
        "SIP/2.0/UDP a.example:5070;branch=z9hG4bK1;received=10.0.0.6;rport=6000":
            ("10.0.0.6", 6000),
        "SIP/2.0/UDP a.example:5070;branch=z9hG4bK1;received=10.0.0.6": ("10.0.0.6", 5070),
        "SIP/2.0/UDP 10.0.0.7;branch=z9hG4bK1": ("10.0.0.7", 5060),
        "garbage": ("10.0.0.5", 5062),
    }
    for via, expected in vias.items():
        message = Response(200)
        message.headers.add("Via", via)
        protocol.send(message, peer)
        assert transport.written[-1][1] == expected


def test_sendFailureReported():
    """A socket error on send becomes transportError, not an exception."""
    sink = FakeMessageSink()
    protocol = SIPDatagramProtocol(sink, Clock())
    transport = MemoryDatagramTransport("192.0.2.10", 5060)

    def refuse(packet, addr=None):
        raise OSError("no route")

    transport.write = refuse
    protocol.makeConnection(transport)
    peer = Peer("udp", "10.0.0.9", 5080)
    protocol.send(parseMessage(options()), peer)
    assert sink.errors == [(peer, "UDP send failed: no route")]


def test_sendToANameRefused():
    """
    A response whose Via names a host without received= (not an IP) is not
    resolved by a blocking sendto: it is a transport error.
    """
    protocol, transport, sink, _ = makeProtocol()
    peer = Peer("udp", "phone.example.com", 5080)
    protocol.send(parseMessage(options()), peer)
    assert transport.written == []
    assert sink.errors == [(peer, "UDP send failed: 'phone.example.com' is not an IP address")]


def test_sendBeforeListeningReported():
    """Sending before the port is bound is a transport error."""
    sink = FakeMessageSink()
    protocol = SIPDatagramProtocol(sink, Clock())
    peer = Peer("udp", "10.0.0.9", 5080)
    protocol.send(parseMessage(options()), peer)
    assert sink.errors == [(peer, "UDP transport not listening")]


def test_receiveBufferGrown():
    """
    On a real socket the protocol asks the kernel for a large receive
    buffer, so bursts of requests are queued rather than dropped.
    """
    before = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    default = before.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    before.close()
    port = reactor.listenUDP(0, SIPDatagramProtocol(FakeMessageSink(), Clock()),
                             interface="127.0.0.1")
    try:
        granted = port.socket.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    finally:
        port.stopListening()
    with open("/proc/sys/net/core/rmem_max") as f:
        limit = int(f.read())
    assert granted > default or limit <= default // 2
    assert granted <= 2 * max(RECEIVE_BUFFER, limit)
