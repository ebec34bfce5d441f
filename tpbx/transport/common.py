# -*- test-case-name: tests.transport.test_common -*-
"""
What every SIP transport does the same way, whatever the socket.

A received request gets its top Via stamped with where it really came from
(RFC 3261 sec. 18.2.1, RFC 3581); a message that does not parse is answered
from the parser's partial request, or dropped (sec. 18.1.2: responses and
ACKs are never answered); a response goes back to the address its top Via
names (sec. 18.2.2).  Keeping these rules here means UDP, TCP and TLS cannot
drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from tpbx.errors import ProtocolError, SIPParseError
from tpbx.sip.headers import splitCommas
from tpbx.sip.message import Request, Response
from tpbx.sip.reply import makeResponse
from tpbx.sip.via import Via, stampReceived, topViaOf

__all__ = [
    "TransportLimits", "DEFAULT_PORTS", "stampTopVia", "rejection",
    "responseAddress", "topVia",
]

#: RFC 3261 sec. 18.2.2 / 19.1.2: the port a sent-by without one means.
DEFAULT_PORTS = {"udp": 5060, "tcp": 5060, "tls": 5061}


@dataclass(frozen=True)
class TransportLimits:
    """
    Size, time and count limits of the transports (DoS protection).

    @ivar maxDatagramBytes: largest UDP datagram processed; larger ones
        are answered 513 when they are requests, else dropped.
    @ivar maxHeaderBytes: largest header section on a stream.
    @ivar maxMessageBytes: largest message (headers and body) on a stream.
    @ivar idleTimeout: seconds without traffic before a stream connection
        is closed, unless L{keepOpen<tpbx.transport.registry.TransportRegistry
        .keepOpen>} extended it (RFC 5626 flows of registered phones).
    @ivar maxConnectionsPerHost: concurrent stream connections accepted
        from one source address.
    @ivar maxConnections: concurrent stream connections in all.
    @ivar connectTimeout: seconds an outbound connection attempt may take.
    @ivar maxQueuedMessages: messages held for one destination while its
        connection is being set up.
    """

    maxDatagramBytes: int = 65535
    maxHeaderBytes: int = 16 * 1024
    maxMessageBytes: int = 80 * 1024
    idleTimeout: float = 300.0
    maxConnectionsPerHost: int = 32
    maxConnections: int = 10000
    connectTimeout: float = 10.0
    maxQueuedMessages: int = 64


def topVia(message) -> Via:
    """
    @return: the parsed top Via of C{message}.
    @raise ProtocolError: when there is none or it is malformed.
    """
    return topViaOf(message.headers)


def stampTopVia(request: Request, host: str, port: int) -> None:
    """
    Add C{received}/C{rport} to the top Via of C{request} (RFC 3261 sec.
    18.2.1, RFC 3581 sec. 4), in place.

    @param host: the source IP address.
    @param port: the source port.
    @raise ProtocolError: when the top Via is missing or malformed.
    """
    headers = request.headers
    stamped = stampReceived(topViaOf(headers), host, port)
    first = headers.get("Via")
    if "," in first:
        items = splitCommas(first)
        items[0] = str(stamped)
        first = ", ".join(items)
    else:
        first = str(stamped)
    headers.replaceFirst("Via", first)
    headers.remember("Via", stamped)


def rejection(error: SIPParseError, host: str, port: int) -> Response | None:
    """
    The response to a message that did not parse, if any is due.

    @param error: what L{tpbx.sip.parser.parseMessage} raised.
    @param host: the source address, stamped into the partial request's
        top Via so the answer is routed like any response (sec. 18.2.2).
    @param port: the source port.
    @return: a response built from C{error.statusHint} and C{error.reason},
        or L{None} when the data was a response, an ACK (sec. 17.1.1.3: an
        ACK is never answered) or unanswerable.
    """
    partial = error.partial
    if partial is None or partial.method == "ACK":
        return None
    try:
        stampTopVia(partial, host, port)
    except ProtocolError:
        pass  # routed to the source address instead, see responseAddress
    return makeResponse(partial, error.statusHint, error.reason)


def responseAddress(response: Response, transport: str,
                    fallback: tuple[str, int]) -> tuple[str, int]:
    """
    Where a response goes when it cannot use a connection (RFC 3261 sec.
    18.2.2, RFC 3581 sec. 4): the C{received} address (else the sent-by
    host) and the C{rport} port (else the sent-by port, else the default
    port of the transport).

    @param transport: C{"udp"}, C{"tcp"} or C{"tls"}.
    @param fallback: C{(host, port)} used when the top Via is unusable
        (the address the request came from).
    @return: C{(host, port)}.
    """
    try:
        via = topVia(response)
    except ProtocolError:
        return fallback
    host = via.received or via.host
    port = via.rport or via.port or DEFAULT_PORTS.get(transport, 5060)
    return host, port
