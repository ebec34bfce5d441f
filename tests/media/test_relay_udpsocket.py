# -*- test-case-name: tests.media.test_relay_udpsocket -*-
"""
Tests for L{tpbx.media.udpsocket}, the relay's bare sockets: draining a
bounded number of datagrams per wake-up, surviving ICMP errors and failing
handlers, the raised receive buffer, and closing.  Real sockets bind
127.0.0.1 port 0; the reactor is a memory one (C{doRead} is called by the
test, as the registry would when the socket is readable).
"""

import contextlib
import errno
import os
import select
import socket
import sys

import pytest
from twisted.internet.interfaces import IReadDescriptor
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import capturedLogs
from zope.interface.verify import verifyObject

from tpbx.config import PortRange
from tpbx.media.readers import EpollReaders, ReactorReaders
from tpbx.media.relay import RTPRelay
from tpbx.media.udpsocket import (
    READS_PER_WAKEUP, RECEIVE_BUFFER, DatagramReader, UDPSocketOpener,
)

from .support import rtp

LINUX = sys.platform.startswith("linux")
WAIT_MS = 5000


class Recorder(DatagramReader):
    """A reader that keeps what it receives."""

    __slots__ = ("got",)

    def __init__(self, readers, sock):
        DatagramReader.__init__(self, readers, sock)
        self.got = []

    def datagramReceived(self, data, addr):
        self.got.append((data, addr))


class QueueSocket:
    """A socket whose C{recvfrom} returns, or raises, queued items in turn."""

    def __init__(self, items):
        self.items = list(items)

    def recvfrom(self, size):
        if not self.items:
            raise BlockingIOError(errno.EAGAIN, "drained")
        item = self.items.pop(0)
        if isinstance(item, Exception):
            raise item
        return item, ("127.0.0.1", 9)


@pytest.fixture
def reactor():
    """A memory reactor the readers register with."""
    return MemoryReactorClock()


@pytest.fixture
def reader(reactor):
    """A started L{Recorder} on a real socket at 127.0.0.1 port 0, on the
    memory reactor itself."""
    recorder = Recorder(ReactorReaders(reactor), UDPSocketOpener()("127.0.0.1", 0))
    recorder.startReading()
    yield recorder
    recorder.close()


@pytest.fixture
def client():
    """A plain client socket on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock


def waitFor(sock, events=select.POLLIN):
    """Wait (bounded) until C{sock} shows C{events}; fail if it never does."""
    poller = select.poll()
    poller.register(sock, events)
    assert poller.poll(WAIT_MS), "socket never became ready"


def readUntil(reader, count):
    """Call doRead as the reactor would until C{count} datagrams arrived.

    @return: how many wake-ups it took."""
    wakeups = 0
    while len(reader.got) < count:
        waitFor(reader.sock)
        reader.doRead()
        wakeups += 1
    return wakeups


def test_providesReadDescriptor(reactor, reader):
    """The reader is an IReadDescriptor, registered with its registry."""
    assert verifyObject(IReadDescriptor, reader)
    assert reactor.readers == {reader}
    assert reader.fileno() == reader.sock.fileno() > 0
    assert isinstance(reader.logPrefix(), str)


def test_readsDatagramsInOrder(reader, client):
    """Datagrams sent to the socket reach datagramReceived whole, in order,
    with their source."""
    packets = [rtp(seq) for seq in range(5)]
    for packet in packets:
        client.sendto(packet, reader.sock.getsockname())
    assert readUntil(reader, 5) <= 5
    assert reader.got == [(p, client.getsockname()) for p in packets]


def test_drainsBoundedNumberPerWakeup():
    """One wake-up reads every waiting datagram up to READS_PER_WAKEUP; the
    rest wait for the next (fairness between sockets)."""
    queued = [b"%d" % i for i in range(READS_PER_WAKEUP + 8)]
    recorder = Recorder(ReactorReaders(MemoryReactorClock()), QueueSocket(queued))
    recorder.doRead()
    assert [data for data, _ in recorder.got] == queued[:READS_PER_WAKEUP]
    recorder.doRead()
    assert [data for data, _ in recorder.got] == queued
    recorder.doRead()
    assert len(recorder.got) == len(queued)


def test_transientErrorsSkipped():
    """ICMP errors reported on receive (ECONNREFUSED...), EINTR and the like
    lose nothing but themselves; the datagrams after them are read in the
    same wake-up."""
    items = [b"1", ConnectionRefusedError(errno.ECONNREFUSED, "refused"), b"2",
             InterruptedError(errno.EINTR, "interrupted"),
             OSError(errno.ENOBUFS, "no buffers"), b"3"]
    recorder = Recorder(ReactorReaders(MemoryReactorClock()), QueueSocket(items))
    recorder.doRead()
    assert [data for data, _ in recorder.got] == [b"1", b"2", b"3"]


def test_otherReceiveErrorEndsWakeupWithoutRaising():
    """An unexpected receive error is logged and ends this wake-up; it does
    not reach the reactor."""
    recorder = Recorder(ReactorReaders(MemoryReactorClock()), QueueSocket([OSError(errno.EBADF, "bad"), b"x"]))
    with capturedLogs() as logged:
        recorder.doRead()
    assert recorder.got == [] and logged
    recorder.doRead()
    assert [data for data, _ in recorder.got] == [b"x"]


def test_failingHandlerDoesNotStopReading():
    """A handler that raises is logged; the next datagrams are still read."""

    class Failing(Recorder):
        __slots__ = ()

        def datagramReceived(self, data, addr):
            Recorder.datagramReceived(self, data, addr)
            raise ZeroDivisionError()

    failing = Failing(ReactorReaders(MemoryReactorClock()), QueueSocket([b"1", b"2"]))
    with capturedLogs() as logged:
        failing.doRead()
    assert [data for data, _ in failing.got] == [b"1", b"2"]
    assert len([e for e in logged if e.get("log_failure")]) == 2


@pytest.mark.skipif(not LINUX, reason="IP_RECVERR is Linux's")
def test_icmpUnreachableAfterSendDoesNotBreakReader(reader, client):
    """After a send to a closed port, the ICMP port unreachable (reported as
    ECONNREFUSED on the next receive or send) neither raises nor stops the
    reader: the next datagram is still read.  IP_RECVERR makes Linux report
    it on this unconnected socket, as other systems do."""
    reader.sock.setsockopt(socket.IPPROTO_IP, getattr(socket, "IP_RECVERR", 11), 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as gone:
        gone.bind(("127.0.0.1", 0))
        closed = gone.getsockname()
    assert reader.sendto(b"to nobody", closed) is True
    waitFor(reader.sock, select.POLLERR)
    client.sendto(rtp(1), reader.sock.getsockname())
    readUntil(reader, 1)
    assert reader.got == [(rtp(1), client.getsockname())]
    reader.sendto(b"again", closed)   # may report the error: never raises


def test_sendtoReportsFailure(reader):
    """sendto says whether the kernel took the datagram, and never raises."""
    assert reader.sendto(b"x", ("127.0.0.1", 9)) is True
    assert reader.sendto(b"x", ("::1", 9)) is False   # wrong family for this socket
    assert reader.sendto(b"x" * 70000, ("127.0.0.1", 9)) is False   # EMSGSIZE


def test_receiveBufferRaised():
    """Each socket asks for RECEIVE_BUFFER (Linux reports double what it grants)."""
    with contextlib.closing(UDPSocketOpener(65536)("127.0.0.1", 0)) as sock:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) in (65536, 131072)
        assert sock.getblocking() is False and sock.family == socket.AF_INET
        # The bare type: 48 bytes where socket.socket is 88, four a call.
        assert type(sock) is socket.SocketType
    with contextlib.closing(UDPSocketOpener()("127.0.0.1", 0)) as sock:
        granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        limit = _rmemMax()
        assert granted >= min(RECEIVE_BUFFER, limit if limit is not None else RECEIVE_BUFFER)


def test_receiveBufferLeftForRTCP():
    """A socket opened without C{burst} (RTCP) keeps the kernel's default
    receive buffer, and its grant is not what the opener checks."""
    opener = UDPSocketOpener(RECEIVE_BUFFER * 2)
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)) as plain:
        default = plain.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
    with contextlib.closing(opener("127.0.0.1", 0, burst=False)) as sock:
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) == default
        assert sock.getblocking() is False
    assert not opener.checked


def _rmemMax():
    """@return: Linux's net.core.rmem_max, or None elsewhere."""
    try:
        with open("/proc/sys/net/core/rmem_max") as f:
            return int(f.read())
    except OSError:
        return None


@pytest.mark.skipif(_rmemMax() is None, reason="needs Linux's rmem_max")
def test_cappedReceiveBufferLoggedOnce():
    """When the kernel grants less than asked, that is logged once, at
    debug, and the granted size kept; an uncapped opener notes nothing.
    Either reads the grant back once (C{checked}), not per socket."""
    asked = max(_rmemMax() * 4, RECEIVE_BUFFER)
    opener = UDPSocketOpener(asked)
    with capturedLogs() as logged:
        for _ in range(3):
            opener("127.0.0.1", 0).close()
    capped = [e for e in logged if e.get("asked") == asked]
    assert len(capped) == 1 and capped[0]["log_level"].name == "debug"
    assert opener.capped == capped[0]["granted"] < asked
    uncapped = UDPSocketOpener(65536)
    uncapped("127.0.0.1", 0).close()
    assert uncapped.capped is None and uncapped.checked and opener.checked


def test_ipv6HostMakesIPv6Socket():
    """A bind host with a colon gets an AF_INET6 socket."""
    try:
        sock = UDPSocketOpener()("::1", 0)
    except OSError:
        pytest.skip("no IPv6 loopback")
    with contextlib.closing(sock):
        assert sock.family == socket.AF_INET6


def test_bindFailureClosesSocket(client):
    """A port held by another socket fails with EADDRINUSE; nothing stays open."""
    before = _openDescriptors()
    with pytest.raises(OSError) as raised:
        UDPSocketOpener()("127.0.0.1", client.getsockname()[1])
    assert raised.value.errno == errno.EADDRINUSE
    assert _openDescriptors() == before


def test_closeRemovesReader(reactor, reader):
    """close unregisters from the registry and closes the socket; twice is fine."""
    reader.close()
    assert reactor.readers == set() and reader.fileno() == -1
    reader.close()


def test_connectionLostClosesSocket(reader):
    """When the reactor drops the reader (shutdown), the socket is closed."""
    reader.connectionLost(None)
    assert reader.fileno() == -1


def _openDescriptors():
    """@return: how many file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else 0


def _freeRange(size=40):
    """@return: a L{PortRange} starting at a port the kernel just handed out."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        first = min(s.getsockname()[1], 65535 - size)
    return PortRange(first, first + size - 1)


def test_relayOnRealSocketsLeaksNothing(reactor):
    """Allocating and releasing sessions on real sockets files four readers
    a session in the relay's epoll, itself the reactor's one reader while
    sessions are up; it leaves no reader, descriptor or port behind."""
    ports = _freeRange()
    relay = RTPRelay(reactor, "127.0.0.1", ports, ports)
    readers = relay._readers
    assert isinstance(readers, EpollReaders)
    before = _openDescriptors()
    for _ in range(3):
        sessions = [relay.allocate("c%d" % i) for i in range(4)]
        assert readers.count == 16 and reactor.readers == {readers}
        for session in sessions:
            relay.release(session)
        assert readers.count == 0 and reactor.readers == set()
    counts = relay.stats()["internal"]
    assert (counts["inUse"], counts["free"] + counts["bad"]) == (0, counts["size"])
    assert _openDescriptors() == before


def test_relayForwardsOnRealSockets(reactor, client):
    """A packet read from side a's socket (the relay's registry calls it, as
    the reactor would call the registry) leaves side b's socket for b's
    target."""
    ports = _freeRange()
    relay = RTPRelay(reactor, "127.0.0.1", ports, ports)
    session = relay.allocate("c")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b:
        b.bind(("127.0.0.1", 0))
        session.b.setTarget(*b.getsockname())
        client.sendto(rtp(1), ("127.0.0.1", session.a.port))
        waitFor(session.a.rtp.sock)
        relay._readers.doRead()
        waitFor(b)
        assert b.recvfrom(2048) == (rtp(1), ("127.0.0.1", session.b.port))
    assert session.a.latched == client.getsockname()
    relay.release(session)
