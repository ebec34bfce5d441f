# -*- test-case-name: tests.test_testing -*-
"""
The shipped fakes provide the interfaces they stand in for.
"""

from twisted.internet.interfaces import IReactorUDP, IUDPTransport
from twisted.internet.protocol import DatagramProtocol
from zope.interface.verify import verifyObject

from tpbx.interfaces import IAccessGuard, IMessageSender, IMessageSink
from tpbx.testing import (
    FakeAccessGuard, FakeMessageSender, FakeMessageSink,
    MemoryDatagramTransport, MemoryUDPReactor,
)


def test_fakesProvideTheirInterfaces():
    """Every fake passes verifyObject against its interface."""
    assert verifyObject(IUDPTransport, MemoryDatagramTransport())
    assert verifyObject(IReactorUDP, MemoryUDPReactor())
    assert verifyObject(IMessageSink, FakeMessageSink())
    assert verifyObject(IMessageSender, FakeMessageSender())
    assert verifyObject(IAccessGuard, FakeAccessGuard())


def test_memoryDatagramTransportRecordsWrites():
    """Writes are recorded with their address, or the connected one."""
    transport = MemoryDatagramTransport("192.0.2.1", 5070)
    transport.write(b"a", ("10.0.0.1", 1))
    transport.connect("10.0.0.2", 2)
    transport.write(b"b")
    transport.stopListening()
    assert transport.written == [(b"a", ("10.0.0.1", 1)), (b"b", ("10.0.0.2", 2))]
    assert (transport.getHost().host, transport.getHost().port) == ("192.0.2.1", 5070)
    assert transport.stopped


def test_memoryUDPReactorConnectsProtocol():
    """listenUDP connects the protocol to a memory transport; port 0 is
    replaced by a fake ephemeral port."""
    reactor = MemoryUDPReactor()
    protocol = DatagramProtocol()
    port = reactor.listenUDP(0, protocol, interface="127.0.0.1")
    assert protocol.transport is port
    assert port.getHost().port != 0
    assert reactor.udpPorts[port.getHost().port][0] is protocol


def test_fakeSinkSenderAndGuardRecord():
    """The sink, sender and guard record every call; the guard refuses
    exactly its blocked hosts, for packets and for requests."""
    sink, sender, guard = FakeMessageSink(), FakeMessageSender(), FakeAccessGuard({"10.6.6.6"})
    sink.messageReceived("m", "p")
    sink.transportError("p", "r")
    sender.send("m", "p")
    guard.authFailed("10.0.0.1", 5.0, "100")
    assert guard.requestSeen("10.0.0.1", 6.0) and not guard.requestSeen("10.6.6.6", 7.0)
    assert sink.received == [("m", "p")] and sink.errors == [("p", "r")]
    assert sender.sent == [("m", "p")]
    assert guard.allowPacket("10.0.0.1", 1.0) and not guard.allowPacket("10.6.6.6", 2.0)
    assert guard.checks == [("10.0.0.1", 1.0), ("10.6.6.6", 2.0)]
    assert guard.failures == [("10.0.0.1", 5.0, "100")]
    assert guard.requests == [("10.0.0.1", 6.0), ("10.6.6.6", 7.0)]
