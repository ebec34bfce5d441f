# -*- test-case-name: tests.sip.test_peer -*-
"""
Where a message came from or goes to.

A L{Peer} names a transport (udp, tcp, tls), a remote address and, for
connection-oriented transports, the flow (connection) it arrived on, so a
response or a later request can go back on the same connection
(RFC 3261 sec. 18.2.2, RFC 5626).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Peer", "RELIABLE"]

RELIABLE = frozenset({"tcp", "tls", "ws", "wss"})


@dataclass(frozen=True, slots=True)
class Peer:
    """
    @ivar transport: C{"udp"}, C{"tcp"} or C{"tls"} (lower case).
    @ivar host: the remote IP address, as text (IPv6 without brackets).
    @ivar port: the remote port.
    @ivar flow: an opaque identifier of the connection for stream transports
        (L{None} for UDP or when any connection to host:port will do).
    @ivar local: C{(host, port)} of the local socket that saw the message, if
        known.
    """

    transport: str
    host: str
    port: int
    flow: object = None
    local: tuple | None = None

    @property
    def reliable(self) -> bool:
        """@return: whether the transport is reliable (no retransmissions)."""
        return self.transport in RELIABLE

    def hostport(self) -> str:
        """@return: C{host:port}, with IPv6 references bracketed."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"
