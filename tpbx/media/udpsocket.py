# -*- test-case-name: tests.media.test_relay_udpsocket -*-
"""
A bare UDP socket for the RTP relay, read when the event loop says so.

Why not C{reactor.listenUDP}: a call holds four sockets, and a Twisted
C{udp.Port} with its protocol, log context and instance dicts weighs
about a kilobyte each; the relay needs none of it.  L{DatagramReader} is
one slotted object around a non-blocking socket; it provides
L{IReadDescriptor} and registers with a registry of
L{tpbx.media.readers} (one epoll of the relay's own, or the reactor
itself).  Each wake-up drains up to L{READS_PER_WAKEUP} datagrams, so a
burst costs one wake-up instead of one per packet, yet one busy socket
cannot starve the others.  Errors of a single datagram (ICMP port
unreachable reported as C{ECONNREFUSED} after a C{sendto}, C{EINTR},
C{ENOBUFS}) are skipped; nothing raises into the reactor.

The receive buffer of RTP sockets is raised to L{RECEIVE_BUFFER} so that
the kernel absorbs bursts (a 200-call load saw drops at the default).  Linux caps
the request at C{net.core.rmem_max} and reports twice what it granted;
the grant is read back from the first socket only, and a cap logged then,
at debug, once per L{UDPSocketOpener}.
"""

from __future__ import annotations

import errno
import socket
import sys

from twisted.internet.interfaces import IReadDescriptor
from twisted.logger import Logger
from zope.interface import implementer

__all__ = ["DatagramReader", "UDPSocketOpener", "RECEIVE_BUFFER", "READS_PER_WAKEUP",
           "MAX_DATAGRAM"]

# SO_RCVBUF asked for every socket (bytes).  The kernel charges a queued
# datagram at its buffer's size (about 1 KiB for a 172-byte RTP packet):
# room for a few hundred packets, seconds of one 50 pps stream while the
# process is busy elsewhere.
RECEIVE_BUFFER = 256 * 1024
# Datagrams read per reactor wake-up at most (fairness between sockets).
READS_PER_WAKEUP = 32
# Largest datagram read whole; RTP stays under the path MTU (RFC 3550 sec. 11).
MAX_DATAGRAM = 8192

# Errors of one datagram, not of the socket: the next one may be fine.
_TRANSIENT = frozenset({
    errno.EINTR, errno.ECONNREFUSED, errno.ECONNRESET, errno.EHOSTUNREACH,
    errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN, errno.ENOBUFS, errno.ENOMEM,
    errno.EMSGSIZE, errno.EPROTO, errno.ETIMEDOUT,
})
# Made non-blocking by socket() itself where the platform can (Linux):
# one system call less per socket, four per call.
_NONBLOCK = getattr(socket, "SOCK_NONBLOCK", 0)
# What getsockopt(SO_RCVBUF) reports for a granted request, relative to it.
_REPORTED = 2 if sys.platform.startswith("linux") else 1

_log = Logger()


class UDPSocketOpener:
    """
    Opens the relay's sockets: bound, non-blocking, with the receive buffer
    raised; notes (once, at debug) when the kernel caps that buffer.

    @ivar receiveBuffer: the C{SO_RCVBUF} asked for.
    @ivar capped: what the kernel granted when it capped the buffer, or
        L{None} while it granted the request.
    @ivar checked: whether the grant was read back already: once is
        enough (the cap, C{net.core.rmem_max}, is the same for every
        socket), and a call opens four sockets.
    """

    def __init__(self, receiveBuffer: int = RECEIVE_BUFFER):
        self.receiveBuffer = receiveBuffer
        self.capped: int | None = None
        self.checked = False

    def __call__(self, host: str, port: int, burst: bool = True) -> socket.SocketType:
        """
        @param host: the local address; an IPv6 one (with C{":"}) makes an
            C{AF_INET6} socket, anything else C{AF_INET}.
        @param burst: whether bursts must be absorbed (RTP): the receive
            buffer is raised.  RTCP, a packet every few seconds, keeps the
            kernel's default, and its socket costs two system calls less.
        @return: the bound socket.
        @raise OSError: when the socket cannot be made or bound
            (C{EADDRINUSE} when another program holds the port); nothing
            stays open.
        """
        # The bare C{socket.SocketType} (48 bytes), not the C{socket.socket}
        # subclass (88): what the subclass adds (makefile, the enum-typed
        # family, context managers) the relay never uses, and a call
        # holds four of these.
        sock = socket.SocketType(socket.AF_INET6 if ":" in host else socket.AF_INET,
                                 socket.SOCK_DGRAM | _NONBLOCK)
        try:
            if not _NONBLOCK:
                sock.setblocking(False)
            if burst:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receiveBuffer)
                if not self.checked:
                    self._noteCapped(
                        sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // _REPORTED)
            sock.bind((host, port))
        except BaseException:
            sock.close()
            raise
        return sock

    def _noteCapped(self, granted: int) -> None:
        """Log when the kernel grants less than asked."""
        self.checked = True
        if granted >= self.receiveBuffer:
            return
        self.capped = granted
        _log.debug("UDP receive buffer capped at {granted} bytes (asked {asked}); "
                   "raise net.core.rmem_max to absorb bursts",
                   granted=granted, asked=self.receiveBuffer)


@implementer(IReadDescriptor)
class DatagramReader:
    """
    One bound UDP socket, read when its registry says datagrams wait.
    Subclasses define C{datagramReceived(data, addr)}, called for every
    datagram read; it should not raise (a failure is logged and the next
    datagram read).

    @ivar sock: the socket (non-blocking, bound).
    """

    __slots__ = ("sock", "_readers")

    def __init__(self, readers, sock: socket.SocketType):
        """
        @param readers: where this reader registers, a registry of
            L{tpbx.media.readers} (C{add}, C{remove}, C{closing}, and
            C{seconds} for subclasses that keep time).
        @param sock: a bound non-blocking socket, e.g. from L{UDPSocketOpener};
            this reader owns it from now on.
        """
        self._readers, self.sock = readers, sock

    def startReading(self) -> None:
        """Register with the registry: L{doRead} runs when datagrams wait."""
        self._readers.add(self)

    def close(self) -> None:
        """Stop reading and close the socket; idempotent."""
        self._readers.closing(self)
        self.sock.close()

    def sendto(self, data: bytes, addr) -> bool:
        """
        Send one datagram.  A full buffer (C{EAGAIN}, C{ENOBUFS}), an ICMP
        error of an earlier packet (C{ECONNREFUSED}) or an unroutable
        address loses this datagram, as UDP may, and nothing else.

        @return: whether the kernel took it.
        """
        try:
            self.sock.sendto(data, addr)
        except OSError:
            return False
        return True

    def fileno(self) -> int:
        """@return: the socket's descriptor (-1 once closed)."""
        return self.sock.fileno()

    def logPrefix(self) -> str:
        """@return: the log system of callbacks on this socket."""
        return "udp"

    def doRead(self) -> None:
        """
        Read and dispatch up to L{READS_PER_WAKEUP} datagrams; stop early
        when the socket is drained.  The registry calls again while more
        wait (level-triggered).  Never raises.
        """
        recvfrom, received = self.sock.recvfrom, self.datagramReceived
        for _ in range(READS_PER_WAKEUP):
            try:
                data, addr = recvfrom(MAX_DATAGRAM)
            except BlockingIOError:   # EAGAIN/EWOULDBLOCK: drained
                return
            except OSError as e:
                if e.errno in _TRANSIENT:
                    continue
                _log.warn("UDP receive failed: {error}", error=e)
                return
            try:
                received(data, addr)
            except Exception:
                _log.failure("datagram handler failed")

    def connectionLost(self, reason) -> None:
        """The registry dropped this reader (reactor shutdown): close the socket."""
        self.sock.close()
