# -*- test-case-name: tests.transport.test_listen -*-
"""
The SIP listening sockets as one Twisted service.

L{SIPListeners} binds UDP, TCP and TLS on one address with the reactor it
is given (never the global one; TLS is C{listenTCP} with a TLS-wrapping
factory that refuses sources before handshaking), shares one sink, guard and connection
table among them, and builds the L{TransportRegistry} the stack sends
through.  Port 0 binds an ephemeral port; the ports actually bound are in
L{SIPListeners.ports} once the service runs, and L{SIPListeners.localHostPort}
says what to put in Via and Contact.
"""

from __future__ import annotations

import socket

from twisted.application.service import Service
from twisted.internet import defer
from twisted.logger import Logger

from tpbx.transport.common import TransportLimits
from tpbx.transport.registry import TransportRegistry
from tpbx.transport.stream import ConnectionTable, SIPStreamFactory, SIPTLSServerFactory
from tpbx.transport.udp import SIPDatagramProtocol

__all__ = ["SIPListeners", "guessLocalAddress", "WILDCARDS"]

WILDCARDS = frozenset({"", "0.0.0.0", "::"})
#: Documentation addresses (RFC 5737, RFC 3849): routed, never contacted.
_PROBES = {socket.AF_INET: "192.0.2.1", socket.AF_INET6: "2001:db8::1"}
#: The UDP socket buffer must hold any datagram so that oversized ones are
#: seen whole and answered 513 rather than silently truncated.
_MAX_UDP_PACKET = 65535


def guessLocalAddress(ipv6: bool = False) -> str:
    """
    The address of the interface the default route leaves by, for Via and
    Contact when listening on a wildcard address.  A UDP socket is
    "connected" to a documentation address; nothing is sent.

    @param ipv6: whether to look for an IPv6 address.
    @return: the address, or the loopback one when there is no route.
    """
    family = socket.AF_INET6 if ipv6 else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.connect((_PROBES[family], 9))
            return probe.getsockname()[0]
    except OSError:
        return "::1" if ipv6 else "127.0.0.1"


class SIPListeners(Service):
    """
    Listens for SIP on UDP, TCP and TLS.

    @ivar sender: the L{TransportRegistry} (an L{IMessageSender}).
    @ivar connections: the L{ConnectionTable} of open TCP/TLS flows.
    @ivar ports: C{{"udp": 5060, ...}}, the ports bound, once running.
    """

    log = Logger()

    def __init__(self, reactor, bindHost: str, udpPort: int | None,
                 tcpPort: int | None, tlsPort: int | None, sink, guard=None,
                 certificateOptions=None, limits: TransportLimits = TransportLimits(),
                 clientTLS=None, advertisedHost: str | None = None):
        """
        @param reactor: provides L{IReactorUDP}, L{IReactorTCP},
            L{IReactorSSL} and L{IReactorTime}.
        @param bindHost: the address to bind (C{"0.0.0.0"} or C{"::"} for all).
        @param udpPort: the UDP port, 0 for any, L{None} for no UDP.
        @param tcpPort: the TCP port, 0 for any, L{None} for no TCP.
        @param tlsPort: the TLS port, 0 for any, L{None} for no TLS.
        @param sink: the L{IMessageSink} (the engine).
        @param guard: an optional L{IAccessGuard}.
        @param certificateOptions: the server context factory for TLS (see
            L{tpbx.transport.tls.serverOptions}); needed when C{tlsPort} is
            given.
        @param limits: the L{TransportLimits}.
        @param clientTLS: the L{tpbx.transport.tls.ClientTLSPolicy} for
            outbound TLS, L{None} for none.
        @param advertisedHost: the address for Via and Contact; defaults to
            C{bindHost}, or L{guessLocalAddress} for a wildcard.
        @raise ValueError: TLS is asked for without certificate options.
        """
        if tlsPort is not None and certificateOptions is None:
            raise ValueError("a TLS port needs certificate options")
        self._reactor = reactor
        self._bindHost = bindHost
        self._wanted = {"udp": udpPort, "tcp": tcpPort, "tls": tlsPort}
        self._certificateOptions = certificateOptions
        self._advertisedHost = advertisedHost
        self.connections = ConnectionTable()
        self._udp = SIPDatagramProtocol(sink, reactor, guard, limits.maxDatagramBytes)
        self._factories = {
            name: SIPStreamFactory(name, sink, reactor, self.connections, limits, guard)
            for name in ("tcp", "tls")
        }
        self.sender = TransportRegistry(
            reactor, sink, self.connections,
            udp=self._udp if udpPort is not None else None,
            limits=limits, clientTLS=clientTLS, guard=guard)
        self._listening: dict[str, object] = {}
        self.ports: dict[str, int] = {}

    def startService(self):
        """
        Bind every enabled listener.

        @raise CannotListenError: when one cannot be bound; those already
            bound are closed again.
        """
        try:
            for name, port in self._wanted.items():
                if port is not None:
                    self._listening[name] = self._listen(name, port)
                    self.ports[name] = self._listening[name].getHost().port
        except Exception:
            self._closeListeners()
            raise
        for name, port in self.ports.items():
            self.log.info("SIP listening on {transport} {host}:{port}",
                          transport=name, host=self._bindHost, port=port)
        Service.startService(self)

    def _listen(self, name: str, port: int):
        """@return: the listening port of one transport."""
        interface = self._bindHost
        if name == "udp":
            return self._reactor.listenUDP(port, self._udp, interface=interface,
                                           maxPacketSize=_MAX_UDP_PACKET)
        if name == "tcp":
            return self._reactor.listenTCP(port, self._factories["tcp"],
                                           interface=interface)
        return self._reactor.listenTCP(
            port, SIPTLSServerFactory(self._certificateOptions, self._factories["tls"]),
            interface=interface)

    def _closeListeners(self) -> list:
        """@return: the Deferreds of the closing ports."""
        closing = [defer.maybeDeferred(port.stopListening)
                   for port in self._listening.values()]
        self._listening.clear()
        return closing

    def stopService(self):
        """
        Close the listeners, abandon connection attempts and close every
        connection.

        @return: a L{Deferred} that fires once the ports and connections
            are closed.
        """
        Service.stopService(self)
        self.sender.stop()
        closing = self._closeListeners() + [self.connections.closeAll()]
        return defer.gatherResults(closing, consumeErrors=True)

    def localHostPort(self, transport: str) -> tuple[str, int]:
        """
        The address to advertise in Via (sent-by) and Contact.

        @param transport: C{"udp"}, C{"tcp"} or C{"tls"}.
        @return: C{(host, port)}.
        @raise KeyError: when that transport is not listening.
        """
        port = self.ports[transport]
        host = self._advertisedHost or self._bindHost
        if host in WILDCARDS:
            host = guessLocalAddress(ipv6=host == "::")
        return host, port
