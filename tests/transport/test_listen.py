# -*- test-case-name: tests.transport.test_listen -*-
"""
SIPListeners binds what it is told to with the reactor it is given.
"""

import pytest
from twisted.internet import ssl
from twisted.internet.error import CannotListenError

from tpbx.sip.parser import parseMessage
from tpbx.testing import FakeAccessGuard, FakeMessageSink, MemoryUDPReactor
from tpbx.transport.common import TransportLimits
from tpbx.transport.listen import SIPListeners, guessLocalAddress
from tpbx.transport.stream import SIPTLSServerFactory

from .support import options


def test_bindsEveryTransport():
    """UDP, TCP and TLS are bound on the bind address with the injected
    reactor; bound ports are exposed; stopService closes them."""
    reactor, sink = MemoryUDPReactor(), FakeMessageSink()
    tlsOptions = ssl.CertificateOptions()
    listeners = SIPListeners(reactor, "127.0.0.1", 0, 5070, 5071, sink,
                             certificateOptions=tlsOptions)
    listeners.startService()
    assert listeners.running
    udpPort = listeners.ports["udp"]
    assert reactor.udpPorts[udpPort][2:] == ("127.0.0.1", 65535)
    [tcp, tls] = reactor.tcpServers
    assert (tcp[0], tcp[3], tls[0], tls[3]) == (5070, "127.0.0.1", 5071, "127.0.0.1")
    assert isinstance(tls[1], SIPTLSServerFactory)
    assert listeners.ports == {"udp": udpPort, "tcp": 5070, "tls": 5071}
    assert listeners.localHostPort("tcp") == ("127.0.0.1", 5070)
    udpTransport = reactor.udpPorts[udpPort][1]
    listeners.stopService()
    assert udpTransport.stopped and not listeners.running


def test_disabledTransportsNotBound():
    """A port of None leaves that transport off."""
    reactor = MemoryUDPReactor()
    listeners = SIPListeners(reactor, "127.0.0.1", None, 5070, None, FakeMessageSink())
    listeners.startService()
    assert reactor.udpPorts == {} and len(reactor.tcpServers) == 1
    with pytest.raises(KeyError):
        listeners.localHostPort("udp")
    listeners.stopService()


def test_tlsNeedsCertificate():
    """Asking for TLS without certificate options is refused at once."""
    with pytest.raises(ValueError):
        SIPListeners(MemoryUDPReactor(), "127.0.0.1", None, None, 5071, FakeMessageSink())


def test_bindFailureClosesTheOthers():
    """When one listener cannot be bound, those bound already are closed
    and the error is raised."""
    reactor = MemoryUDPReactor()

    def refuse(*args, **kwargs):
        raise CannotListenError("127.0.0.1", 5070, OSError("in use"))

    reactor.listenTCP = refuse
    listeners = SIPListeners(reactor, "127.0.0.1", 0, 5070, None, FakeMessageSink())
    with pytest.raises(CannotListenError):
        listeners.startService()
    [(_, udpTransport, _, _)] = reactor.udpPorts.values()
    assert udpTransport.stopped and not listeners.running


def test_sharedSinkAndGuard():
    """The UDP listener delivers to the sink, guarded by the guard, and
    the sender writes through the same port."""
    reactor, sink = MemoryUDPReactor(), FakeMessageSink()
    guard = FakeAccessGuard({"10.6.6.6"})
    listeners = SIPListeners(reactor, "127.0.0.1", 0, None, None, sink, guard,
                             limits=TransportLimits(maxDatagramBytes=4000))
    listeners.startService()
    protocol, transport, _, _ = reactor.udpPorts[listeners.ports["udp"]]
    protocol.datagramReceived(options(), ("10.6.6.6", 5060))
    protocol.datagramReceived(options(), ("10.0.0.5", 5060))
    [(message, peer)] = sink.received
    listeners.sender.send(message, peer)
    assert parseMessage(transport.written[0][0]).method == "OPTIONS"
    listeners.stopService()


def test_advertisedAddress():
    """Via/Contact use the advertised host, else the bind address, else
    (wildcard) a local interface address."""
    reactor = MemoryUDPReactor()
    listeners = SIPListeners(reactor, "0.0.0.0", 5080, None, None, FakeMessageSink(),
                             advertisedHost="203.0.113.7")
    listeners.startService()
    assert listeners.localHostPort("udp") == ("203.0.113.7", 5080)
    listeners.stopService()
    wildcard = SIPListeners(reactor, "0.0.0.0", 5082, None, None, FakeMessageSink())
    wildcard.startService()
    host, port = wildcard.localHostPort("udp")
    assert port == 5082 and host == guessLocalAddress() and host not in ("", "0.0.0.0")
    wildcard.stopService()
