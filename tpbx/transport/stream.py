# -*- test-case-name: tests.transport.test_stream -*-
"""
SIP over TCP and TLS (RFC 3261 sec. 18): one protocol instance per
connection, framing by Content-Length through the sans-IO
L{tpbx.sip.framing.StreamFramer}.

Each connection is a flow with a small integer id carried in
L{Peer.flow<tpbx.sip.peer.Peer>}, so responses go back on the connection
the request came on (sec. 18.2.2) and requests to a phone reach it over
the connection it registered on (RFC 5626).  The L{ConnectionTable} is the
one index of open flows, shared by the listeners and the sender.

Idle connections are closed after L{TransportLimits.idleTimeout} seconds
without traffic; a flow that carries a registration is kept open for as
long as the registrar asks (L{SIPStreamProtocol.keepOpen}).  The number of
connections, per source address and in all, is capped.
"""

from __future__ import annotations

import itertools
from collections import Counter

from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.logger import Logger
from twisted.protocols.tls import TLSMemoryBIOFactory

from tpbx.errors import ProtocolError, SIPParseError
from tpbx.sip.framing import FramedMessage, FramingError, KeepAlivePing, StreamFramer
from tpbx.sip.message import Request
from tpbx.sip.parser import parseMessage
from tpbx.sip.peer import Peer
from tpbx.transport.common import TransportLimits, rejection, stampTopVia

__all__ = [
    "ConnectionTable", "SIPStreamProtocol", "SIPStreamFactory",
    "SIPTLSServerFactory", "PONG",
]

#: RFC 5626 sec. 3.5.1: the answer to a CRLFCRLF ping.
PONG = b"\r\n"


class ConnectionTable:
    """
    The open SIP stream connections, by flow id and by remote address.
    """

    def __init__(self):
        self._nextFlow = itertools.count(1)
        self._flows: dict[int, SIPStreamProtocol] = {}
        self._byAddress: dict[tuple, SIPStreamProtocol] = {}
        self._perHost: Counter = Counter()

    def add(self, connection: SIPStreamProtocol, keys: list) -> int:
        """
        Index a new connection.

        @param keys: C{(transport, host, port)} keys to find it by; the
            first is the remote address itself, the others aliases (the
            host name an outbound connection dialled).
        @return: its flow id.
        """
        flow = next(self._nextFlow)
        self._flows[flow] = connection
        connection.addressKeys = keys
        for key in keys:
            self._byAddress[key] = connection
        self._perHost[keys[0][1]] += 1
        return flow

    def remove(self, connection: SIPStreamProtocol) -> None:
        """Forget a closed connection."""
        if self._flows.pop(connection.flow, None) is None:
            return
        for key in connection.addressKeys:
            if self._byAddress.get(key) is connection:
                del self._byAddress[key]
        host = connection.addressKeys[0][1]
        self._perHost[host] -= 1
        if not self._perHost[host]:
            del self._perHost[host]

    def get(self, flow) -> SIPStreamProtocol | None:
        """@return: the open connection of C{flow}, or L{None}."""
        return self._flows.get(flow)

    def find(self, transport: str, host: str, port: int) -> SIPStreamProtocol | None:
        """@return: an open connection to C{host:port} over C{transport}."""
        return self._byAddress.get((transport, host, port))

    def countFrom(self, host: str) -> int:
        """@return: how many connections C{host} has open."""
        return self._perHost.get(host, 0)

    def __len__(self) -> int:
        return len(self._flows)

    def closeAll(self) -> Deferred:
        """
        Close every connection (when the transports stop).

        @return: a L{Deferred} that fires once they are all closed.
        """
        connections = list(self._flows.values())
        closed = [connection.whenLost() for connection in connections]
        for connection in connections:
            connection.transport.loseConnection()
        return gatherResults(closed)


class SIPStreamProtocol(Protocol):
    """
    One SIP connection, accepted or opened by tpbx.

    @ivar peer: the L{Peer} (with C{flow}) messages from here are tagged
        with; set when the connection is made.
    @ivar flow: the flow id.
    """

    log = Logger()

    def __init__(self, transportName: str, sink, clock, table: ConnectionTable,
                 limits: TransportLimits, guard=None, aliases=(),
                 onConnected=None):
        """
        @param transportName: C{"tcp"} or C{"tls"}.
        @param sink: the L{IMessageSink}.
        @param clock: an L{IReactorTime} for idle timeouts and the guard.
        @param table: the L{ConnectionTable} to register in.
        @param limits: the L{TransportLimits}.
        @param guard: an optional L{IAccessGuard}, asked on every read.
        @param aliases: extra C{(transport, host, port)} keys for the table
            (outbound: the address dialled).
        @param onConnected: called with this protocol once connected
            (outbound: sends what was queued).
        """
        self._name = transportName
        self._sink = sink
        self._clock = clock
        self._table = table
        self._limits = limits
        self._guard = guard
        self._aliases = aliases
        self._onConnected = onConnected
        self._framer = StreamFramer(maxHeaderBytes=limits.maxHeaderBytes,
                                    maxMessageBytes=limits.maxMessageBytes)
        self._closing = False
        self._idleCall = None
        self._lastActivity = 0.0
        self._keepUntil = 0.0
        self._lostWaiters: list[Deferred] = []
        self.peer: Peer | None = None
        self.flow = None
        self.addressKeys: list = []

    def connectionMade(self):
        remote, local = self.transport.getPeer(), self.transport.getHost()
        keys = [(self._name, remote.host, remote.port), *self._aliases]
        self.flow = self._table.add(self, keys)
        self.peer = Peer(self._name, remote.host, remote.port, self.flow,
                         (local.host, local.port))
        self._lastActivity = self._clock.seconds()
        self._idleCall = self._clock.callLater(self._limits.idleTimeout,
                                               self._checkIdle)
        if self._onConnected is not None:
            self._onConnected(self)

    def connectionLost(self, reason=None):
        self._closing = True
        self._table.remove(self)
        if self._idleCall is not None and self._idleCall.active():
            self._idleCall.cancel()
        self._idleCall = None
        waiters, self._lostWaiters = self._lostWaiters, []
        for waiter in waiters:
            waiter.callback(None)

    def whenLost(self) -> Deferred:
        """@return: a L{Deferred} that fires when the connection is lost."""
        waiter = Deferred()
        self._lostWaiters.append(waiter)
        return waiter

    def dataReceived(self, data):
        """
        Feed the framer and handle what it cuts out; log and close on any
        unexpected error, never raise.
        """
        if self._closing:
            return
        self._lastActivity = self._clock.seconds()
        try:
            if self._guard is not None and not self._guard.allowPacket(
                    self.peer.host, self._lastActivity):
                self._close("source refused by access guard")
                return
            for event in self._framer.feed(data):
                if self._closing:
                    return
                self._handlers[type(event)](self, event)
        except Exception:
            self.log.failure("Closing {transport} flow {flow} from {peer}",
                             transport=self._name, flow=self.flow,
                             peer=self.peer.hostport())
            self._close("internal error")

    def _framedMessage(self, event: FramedMessage) -> None:
        try:
            message = parseMessage(event.data)
        except SIPParseError as e:
            self.log.info("Bad message on flow {flow} from {peer}: {status} "
                          "{reason}", flow=self.flow, peer=self.peer.hostport(),
                          status=e.statusHint, reason=e.reason)
            response = rejection(e, self.peer.host, self.peer.port)
            if response is not None:
                self.sendMessage(response)
            return
        if isinstance(message, Request):
            try:
                stampTopVia(message, self.peer.host, self.peer.port)
            except ProtocolError as e:
                self.log.info("Dropped request on flow {flow}: {reason}",
                              flow=self.flow, reason=e.reason)
                return
        self._sink.messageReceived(message, self.peer)

    def _keepAlivePing(self, event: KeepAlivePing) -> None:
        self.transport.write(PONG)

    def _framingError(self, event: FramingError) -> None:
        # The message boundary is lost: nothing after it can be trusted,
        # and there is no parsed request to answer (sec. 18.3).
        self._close(f"framing lost: {event.reason}")

    _handlers = {
        FramedMessage: _framedMessage,
        KeepAlivePing: _keepAlivePing,
        FramingError: _framingError,
    }

    def _close(self, why: str) -> None:
        self.log.info("Closing {transport} flow {flow} from {peer}: {why}",
                      transport=self._name, flow=self.flow,
                      peer=self.peer.hostport(), why=why)
        self._closing = True
        self.transport.loseConnection()

    def sendMessage(self, message) -> None:
        """Write C{message} on this connection."""
        self._lastActivity = self._clock.seconds()
        self.transport.write(message.toBytes())

    def keepOpen(self, seconds: float) -> None:
        """
        Do not close this connection as idle for the next C{seconds}
        (the registrar calls this with a binding's expiry, RFC 5626 sec. 4.2).
        """
        self._keepUntil = max(self._keepUntil, self._clock.seconds() + seconds)

    def _checkIdle(self) -> None:
        now = self._clock.seconds()
        deadline = max(self._lastActivity + self._limits.idleTimeout,
                       self._keepUntil)
        if now >= deadline:
            self._idleCall = None
            self._close("idle")
        else:
            self._idleCall = self._clock.callLater(deadline - now, self._checkIdle)


class SIPStreamFactory(ServerFactory):
    """
    Accepts SIP connections on one listening port (TCP or TLS), refusing
    blacklisted sources and sources over their connection quota.
    """

    log = Logger()

    def __init__(self, transportName: str, sink, clock, table: ConnectionTable,
                 limits: TransportLimits, guard=None):
        """
        See L{SIPStreamProtocol.__init__} for the parameters.
        """
        self._args = (transportName, sink, clock, table, limits, guard)
        self._clock = clock
        self._table = table
        self._limits = limits
        self._guard = guard

    def admits(self, addr) -> bool:
        """
        @param addr: the remote address of a new connection.
        @return: whether it may connect: not refused by the guard, and
            under the connection quotas.
        """
        host = addr.host
        if self._guard is not None and not self._guard.allowPacket(
                host, self._clock.seconds()):
            return False
        if (self._table.countFrom(host) >= self._limits.maxConnectionsPerHost
                or len(self._table) >= self._limits.maxConnections):
            self.log.warn("Refused connection from {host}: too many connections",
                          host=host)
            return False
        return True

    def buildProtocol(self, addr):
        """
        @return: a L{SIPStreamProtocol}, or L{None} (the connection is
            closed at once) when C{addr} may not connect.
        """
        return SIPStreamProtocol(*self._args) if self.admits(addr) else None


class SIPTLSServerFactory(TLSMemoryBIOFactory):
    """
    TLS around a L{SIPStreamFactory} that admits a connection before any
    handshake.  (C{listenSSL} wraps whatever the factory returns, even
    L{None}, which breaks on the first event of a refused connection.)
    """

    def __init__(self, contextFactory, wrappedFactory: SIPStreamFactory):
        """
        @param contextFactory: the server TLS options.
        @param wrappedFactory: the SIP factory to admit with and wrap.
        """
        super().__init__(contextFactory, False, wrappedFactory)

    def buildProtocol(self, addr):
        if not self.wrappedFactory.admits(addr):
            return None
        return super().buildProtocol(addr)
