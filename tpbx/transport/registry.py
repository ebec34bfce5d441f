# -*- test-case-name: tests.transport.test_registry -*-
"""
The one L{IMessageSender} the SIP stack talks to: it picks the transport a
L{Peer} names and, for TCP and TLS, the connection.

A stream message goes, in order of preference (RFC 3261 sec. 18.2.2,
RFC 5626 sec. 5.3): on the peer's flow when it is still open; on any open
connection to the destination; on a new connection, the message waiting
in a bounded queue until it is made.  When a connection cannot be made,
the sink hears about it through L{IMessageSink.transportError}, once per
distinct peer that had messages waiting.
"""

from __future__ import annotations

from twisted.internet.protocol import ClientFactory
from twisted.logger import Logger
from zope.interface import implementer

from tpbx.interfaces import IMessageSender
from tpbx.sip.message import Response
from tpbx.transport.common import TransportLimits, responseAddress
from tpbx.transport.stream import ConnectionTable, SIPStreamProtocol

__all__ = ["TransportRegistry"]


class _Pending:
    """
    An outbound connection being made and what waits for it.

    @ivar queue: C{(message, peer)} pairs, in order.
    """

    __slots__ = ("queue", "connector")

    def __init__(self):
        self.queue: list[tuple] = []
        self.connector = None


class _OutboundFactory(ClientFactory):
    """
    Builds the protocol of one outbound connection and reports its fate to
    the registry.
    """

    def __init__(self, registry: "TransportRegistry", key: tuple):
        self._registry = registry
        self._key = key

    def buildProtocol(self, addr):
        return self._registry._buildOutbound(self._key)

    def clientConnectionFailed(self, connector, reason):
        self._registry._connectFailed(self._key, reason)


@implementer(IMessageSender)
class TransportRegistry:
    """
    Routes each message to UDP or to a TCP/TLS connection.

    @ivar connections: the L{ConnectionTable} shared with the listeners.
    """

    log = Logger()

    def __init__(self, reactor, sink, connections: ConnectionTable, udp=None,
                 limits: TransportLimits = TransportLimits(),
                 clientTLS=None, guard=None):
        """
        @param reactor: provides L{IReactorTCP}, L{IReactorSSL} and
            L{IReactorTime}.
        @param sink: the L{IMessageSink} for messages arriving on outbound
            connections and for send failures.
        @param connections: the open stream connections.
        @param udp: the L{SIPDatagramProtocol} UDP messages are sent
            through, or L{None} when there is no UDP.
        @param limits: the L{TransportLimits}.
        @param clientTLS: a L{tpbx.transport.tls.ClientTLSPolicy}, or
            L{None} when outbound TLS is not offered.
        @param guard: the L{IAccessGuard} outbound connections obey too.
        """
        self.connections = connections
        self._reactor = reactor
        self._sink = sink
        self._udp = udp
        self._limits = limits
        self._clientTLS = clientTLS
        self._guard = guard
        self._pending: dict[tuple, _Pending] = {}
        self._senders = {"udp": self._sendDatagram, "tcp": self._sendStream,
                         "tls": self._sendStream}

    def send(self, message, peer):
        """
        Send C{message} to C{peer} (see the module docstring); never raises.
        """
        sender = self._senders.get(peer.transport)
        if sender is None:
            self._sink.transportError(peer, f"unsupported transport {peer.transport!r}")
            return
        try:
            sender(message, peer)
        except Exception as e:
            self.log.failure("Sending to {peer} failed", peer=peer.hostport())
            self._sink.transportError(peer, f"send failed: {e}")

    def keepOpen(self, flow, seconds: float) -> bool:
        """
        Keep a flow open for at least C{seconds} more although it is idle:
        the registrar calls this when a binding arrives over it, with the
        binding's expiry (RFC 5626 sec. 4.2).

        @return: whether the flow is open.
        """
        connection = self.connections.get(flow)
        if connection is None:
            return False
        connection.keepOpen(seconds)
        return True

    def _sendDatagram(self, message, peer) -> None:
        if self._udp is None:
            self._sink.transportError(peer, "UDP is not enabled")
            return
        self._udp.send(message, peer)

    def _sendStream(self, message, peer) -> None:
        connection = None
        if peer.flow is not None:
            connection = self.connections.get(peer.flow)
        if connection is None:
            host, port = peer.host, peer.port
            if isinstance(message, Response):
                # The flow is gone: the received address, sent-by port.
                host, port = responseAddress(message, peer.transport, (host, port))
            key = (peer.transport, host, port)
            connection = self.connections.find(*key)
            if connection is None:
                self._queue(key, message, peer)
                return
        connection.sendMessage(message)

    def _queue(self, key: tuple, message, peer) -> None:
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = _Pending()
            pending.queue.append((message, peer))
            self._connect(key, pending)
        elif len(pending.queue) >= self._limits.maxQueuedMessages:
            self._sink.transportError(peer, "too many messages waiting for a connection")
        else:
            pending.queue.append((message, peer))

    def _connect(self, key: tuple, pending: _Pending) -> None:
        transport, host, port = key
        factory = _OutboundFactory(self, key)
        timeout = self._limits.connectTimeout
        try:
            if transport == "tcp":
                pending.connector = self._reactor.connectTCP(
                    host, port, factory, timeout)
            elif self._clientTLS is None:
                raise ValueError("TLS is not enabled")
            else:
                pending.connector = self._reactor.connectSSL(
                    host, port, factory, self._clientTLS.optionsFor(host), timeout)
        except Exception as e:
            self._connectFailed(key, str(e))

    def _buildOutbound(self, key: tuple) -> SIPStreamProtocol:
        return SIPStreamProtocol(key[0], self._sink, self._reactor,
                                 self.connections, self._limits, self._guard,
                                 aliases=[key],
                                 onConnected=lambda p: self._connected(key, p))

    def _connected(self, key: tuple, connection: SIPStreamProtocol) -> None:
        pending = self._pending.pop(key, None)
        if pending is not None:
            for message, _ in pending.queue:
                connection.sendMessage(message)

    def _connectFailed(self, key: tuple, reason) -> None:
        pending = self._pending.pop(key, None)
        if pending is None:
            return
        text = reason if isinstance(reason, str) else reason.getErrorMessage()
        self.log.info("Connecting to {transport}:{host}:{port} failed: {reason}",
                      transport=key[0], host=key[1], port=key[2], reason=text)
        for peer in dict.fromkeys(peer for _, peer in pending.queue):
            self._sink.transportError(peer, text)

    def stop(self) -> None:
        """Abandon connection attempts in progress (the service stops)."""
        abandoned = list(self._pending.values())
        self._pending.clear()  # so the failures that follow are not reported
        for pending in abandoned:
            if pending.connector is not None:
                pending.connector.stopConnecting()
