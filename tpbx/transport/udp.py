# -*- test-case-name: tests.transport.test_udp -*-
"""
SIP over UDP (RFC 3261 sec. 18): one datagram, one message.

Everything a peer sends arrives through L{SIPDatagramProtocol.datagramReceived},
so it is the first line of defence: keep-alives are ignored, blacklisted
sources get nothing at all (checked before any parsing), bad requests get a
precise 4xx, and nothing raises out of it.  Whether a response's top Via
names this host (sec. 18.1.2) is left to the engine, which knows the
addresses tpbx advertises (they may differ from the socket's behind NAT).
"""

from __future__ import annotations

import ipaddress
import socket
from functools import lru_cache

from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger
from zope.interface import implementer

from tpbx.errors import ProtocolError, SIPParseError
from tpbx.interfaces import IMessageSender
from tpbx.sip.framing import isKeepAlive
from tpbx.sip.message import Request, Response
from tpbx.sip.parser import parseMessage, splitHead
from tpbx.sip.peer import Peer
from tpbx.transport.common import (
    TransportLimits, rejection, responseAddress, stampTopVia,
)

__all__ = ["SIPDatagramProtocol", "RECEIVE_BUFFER"]

_EMPTY_LINE = b"\r\n\r\n"

RECEIVE_BUFFER = 4 * 1024 * 1024
"""
SO_RCVBUF asked for the SIP socket (bytes).  Phones and SIPp send in
bursts, and the kernel's default (~200 KiB, charged ~1 KiB per queued
datagram) overflowed at a few hundred calls/s while the reactor was busy
with one message: every drop costs a 500 ms retransmission.  Linux grants
at most C{net.core.rmem_max}; what was granted is logged at start.
"""


@lru_cache(maxsize=4096)
def _isIPAddress(host: str) -> bool:
    """Whether C{host} is an IP literal (a name would be resolved, blocking, by sendto)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


#: Source addresses whose L{Peer} is kept for reuse (cleared when full).
_MAX_PEERS = 4096


@implementer(IMessageSender)
class SIPDatagramProtocol(DatagramProtocol):
    """
    The SIP/UDP socket: parses what arrives for the sink, writes what the
    stack sends.

    @ivar sink: the L{IMessageSink} messages and send failures go to.
    @ivar local: C{(host, port)} of the socket once it listens.
    """

    log = Logger()

    def __init__(self, sink, clock, guard=None,
                 maxMessageBytes: int = TransportLimits.maxDatagramBytes):
        """
        @param sink: an L{IMessageSink}.
        @param clock: an L{IReactorTime}, for the guard's C{now}.
        @param guard: an optional L{IAccessGuard} asked about every datagram
            before it is parsed.
        @param maxMessageBytes: larger datagrams are refused with 513.
        """
        self.sink = sink
        self._clock = clock
        self._guard = guard
        self._maxMessageBytes = maxMessageBytes
        self.local: tuple | None = None
        self._peers: dict[tuple, Peer] = {}

    def startProtocol(self):
        address = self.transport.getHost()
        self.local = (address.host, address.port)
        self._peers.clear()
        # The socket's own sendto: Twisted's Port.write checks the address
        # family of every datagram again; L{send} checks it once per host.
        sock = getattr(self.transport, "socket", None)
        self._sendto = sock.sendto if sock is not None else self.transport.write
        if sock is not None:
            self._growReceiveBuffer(sock)

    def _growReceiveBuffer(self, sock) -> None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
            granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        except OSError as e:
            self.log.warn("could not grow the SIP UDP receive buffer: {error}", error=e)
            return
        # Linux reports twice what it grants (the other half is its overhead).
        self.log.info("SIP UDP receive buffer: {granted} bytes (asked {asked}; the "
                      "kernel's limit is net.core.rmem_max)",
                      granted=granted // 2, asked=RECEIVE_BUFFER)

    def datagramReceived(self, data, addr):
        """
        Handle one datagram; log and drop whatever goes wrong.

        @param data: the datagram.
        @param addr: the source C{(host, port)}.
        """
        host, port = addr[0], addr[1]
        try:
            self._handle(data, host, port)
        except Exception:
            self.log.failure("Dropped datagram from {host}:{port}",
                             host=host, port=port)

    def _handle(self, data: bytes, host: str, port: int) -> None:
        if isKeepAlive(data):
            return  # RFC 5626 sec. 3.5.1 style CRLF keep-alive: no answer
        if self._guard is not None and not self._guard.allowPacket(
                host, self._clock.seconds()):
            return
        if len(data) > self._maxMessageBytes:
            self._tooLarge(data, host, port)
            return
        try:
            message = parseMessage(data)
        except SIPParseError as e:
            self._reject(e, host, port)
            return
        if isinstance(message, Request):
            try:
                stampTopVia(message, host, port)
            except ProtocolError as e:
                self.log.info("Dropped request from {host}:{port}: {reason}",
                              host=host, port=port, reason=e.reason)
                return
        self.sink.messageReceived(message, self._peer(host, port))

    def _peer(self, host: str, port: int) -> Peer:
        """
        @return: the L{Peer} for a source address, one object per address
            while it keeps sending (phones send every message of a call
            from one address; each transaction and leg holds it).
        """
        key = (host, port)
        peer = self._peers.get(key)
        if peer is None:
            if len(self._peers) >= _MAX_PEERS:
                self._peers.clear()
            peer = self._peers[key] = Peer("udp", host, port, None, self.local)
        return peer

    def _tooLarge(self, data: bytes, host: str, port: int) -> None:
        """
        Answer an oversized request 513 (RFC 3261 sec. 21.5.14) from its
        header section alone; drop anything else.
        """
        head, _ = splitHead(data)
        try:
            message = parseMessage(head + _EMPTY_LINE)
        except SIPParseError as e:
            message = e.partial
        partial = message if isinstance(message, Request) else None
        self._reject(SIPParseError("Message Too Large", 513, partial), host, port)

    def _reject(self, error: SIPParseError, host: str, port: int) -> None:
        self.log.info("Bad message from {host}:{port}: {status} {reason}",
                      host=host, port=port, status=error.statusHint,
                      reason=error.reason)
        response = rejection(error, host, port)
        if response is not None:
            self.send(response, Peer("udp", host, port, None, self.local))

    def send(self, message, peer):
        """
        Send C{message}: a request to C{peer}'s address, a response to the
        address its top Via names (RFC 3261 sec. 18.2.2, RFC 3581 sec. 4),
        C{peer}'s address when the Via is unusable.

        Failures (not listening, unusable address, socket errors) go to
        L{IMessageSink.transportError} with a short text reason.
        """
        if self.transport is None:
            self.sink.transportError(peer, "UDP transport not listening")
            return
        if isinstance(message, Response):
            address = responseAddress(message, "udp", (peer.host, peer.port))
        else:
            address = (peer.host, peer.port)
        try:
            if not _isIPAddress(address[0]):
                raise ValueError(f"{address[0]!r} is not an IP address")
            self._sendto(message.toBytes(), address)
        except Exception as e:
            self.log.info("UDP send to {address} failed: {error!r}",
                          address=address, error=e)
            self.sink.transportError(peer, f"UDP send failed: {e}")
