# -*- test-case-name: tests.media.test_relay_readers -*-
"""
Tests for L{tpbx.media.readers}, where the relay's sockets register: the
relay's own epoll (one reader of the reactor for any number of sockets,
skipping readers removed in the middle of a batch, tolerant of sockets
closed behind its back, closing every socket at shutdown) and the plain
reactor registry.  Real sockets bind 127.0.0.1 port 0; the registry's
C{doRead} is called by the test once the sockets are readable, as the
reactor would, except in the one test that runs the real reactor for a
bounded number of iterations.
"""

import select
import socket

import pytest
from twisted.internet.error import ConnectionLost
from twisted.internet.interfaces import IReadDescriptor
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import capturedLogs
from twisted.python.failure import Failure
from zope.interface.verify import verifyObject

from tpbx.media import readers as readersModule
from tpbx.media.readers import EpollReaders, ReactorReaders, defaultReaders
from tpbx.media.udpsocket import READS_PER_WAKEUP, UDPSocketOpener

from .test_relay_udpsocket import LINUX, Recorder, waitFor

pytestmark = pytest.mark.skipif(not hasattr(select, "epoll"), reason="needs select.epoll")

WAIT_MS = 5000


@pytest.fixture
def reactor():
    """A memory reactor the registry registers with."""
    return MemoryReactorClock()


@pytest.fixture
def registry(reactor):
    """An L{EpollReaders} on the memory reactor; closed at the end."""
    readers = EpollReaders(reactor)
    yield readers
    readers.connectionLost(Failure(ConnectionLost()))


@pytest.fixture
def client():
    """A plain client socket on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock


def started(readers, count, kind=Recorder):
    """@return: C{count} started readers of C{kind} on fresh sockets."""
    made = [kind(readers, UDPSocketOpener()("127.0.0.1", 0)) for _ in range(count)]
    for reader in made:
        reader.startReading()
    return made


def sendEach(client, recorders, packet=b"x"):
    """Send C{packet} to every recorder and wait until each socket is readable."""
    for recorder in recorders:
        client.sendto(packet, recorder.sock.getsockname())
    for recorder in recorders:
        waitFor(recorder.sock)


def ready(registry) -> bool:
    """@return: whether the registry's epoll fd is readable (some socket waits)."""
    poller = select.poll()
    poller.register(registry.fileno(), select.POLLIN)
    return bool(poller.poll(0))


def test_providesReadDescriptor(registry):
    """The registry is an IReadDescriptor whose descriptor is its epoll's."""
    assert verifyObject(IReadDescriptor, registry)
    assert registry.fileno() == registry._epoll.fileno() > 0
    assert isinstance(registry.logPrefix(), str)


def test_oneWakeupServesEverySocket(registry, client):
    """Datagrams waiting on several sockets of one registry all reach their
    own reader in one wake-up of the registry, with their source."""
    recorders = started(registry, 5)
    sendEach(client, recorders[1:])
    sendEach(client, recorders[:2], b"y")
    registry.doRead()
    assert [r.got for r in recorders] == (
        [[(b"y", client.getsockname())], [(b"x", client.getsockname()), (b"y", client.getsockname())]]
        + [[(b"x", client.getsockname())]] * 3)
    assert not ready(registry)


def test_leftoversWakeAgain(registry, client):
    """Level-triggered: what one wake-up leaves (past READS_PER_WAKEUP on a
    socket) keeps the registry readable, and the next wake-up reads it."""
    recorder, = started(registry, 1)
    for i in range(READS_PER_WAKEUP + 5):
        client.sendto(b"%d" % i, recorder.sock.getsockname())
    waitFor(recorder.sock)
    registry.doRead()
    assert len(recorder.got) == READS_PER_WAKEUP and ready(registry)
    registry.doRead()
    assert len(recorder.got) == READS_PER_WAKEUP + 5 and not ready(registry)


def test_batchBoundedByMaxEvents(registry, client, monkeypatch):
    """One wake-up serves at most MAX_EVENTS sockets; the others stay ready
    and are served by the next wake-ups, none twice."""
    monkeypatch.setattr(readersModule, "MAX_EVENTS", 2)
    recorders = started(registry, 5)
    sendEach(client, recorders)
    wakeups = 0
    while ready(registry):
        registry.doRead()
        wakeups += 1
        assert sum(len(r.got) for r in recorders) == min(2 * wakeups, 5)
    assert wakeups == 3 and all(len(r.got) == 1 for r in recorders)


class Closer(Recorder):
    """A reader that closes the readers of C{victims} when it receives;
    C{opens} may add a new reader then (it takes the freed fd)."""

    __slots__ = ("victims", "opens")

    def __init__(self, readers, sock):
        Recorder.__init__(self, readers, sock)
        self.victims, self.opens = [], None

    def datagramReceived(self, data, addr):
        Recorder.datagramReceived(self, data, addr)
        for victim in self.victims:
            victim.close()
        self.victims = []
        if self.opens is not None:
            self.opens()


def test_readerRemovedInBatchNotCalled(registry, client):
    """A reader closed by another one's callback in the same batch is not
    called afterwards, though its socket was ready when the batch began."""
    first, second = started(registry, 2, Closer)
    first.victims, second.victims = [second], [first]
    sendEach(client, [first, second])
    registry.doRead()
    assert sorted(len(r.got) for r in (first, second)) == [0, 1]
    assert registry.count == 1 and not ready(registry)


def test_newReaderOnFreedFdInBatchHarmless(registry, client):
    """A reader added in a batch on the fd a removed reader just freed may
    be woken with nothing to read: that raises nothing and reads nothing."""
    first, second = started(registry, 2, Closer)
    first.victims, second.victims = [second], [first]
    opened = []
    first.opens = second.opens = lambda: opened.extend(started(registry, 1))
    sendEach(client, [first, second])
    with capturedLogs() as logged:
        registry.doRead()
    assert len(opened) == 1 and opened[0].got == [] and registry.count == 2
    assert not [e for e in logged if e.get("log_failure")]


def test_removeToleratesClosedAndUnknown(registry, reactor):
    """Removing a reader whose socket was closed behind the registry's
    back, one never added, or one removed already raises nothing, and
    leaves no slot filled."""
    filed, never = started(registry, 1)[0], Recorder(registry, UDPSocketOpener()("127.0.0.1", 0))
    filed.sock.close()
    filed.close()
    never.close()
    filed.close()
    assert registry.count == 0 and registry._slots == [None] * len(registry._slots)
    assert reactor.readers == set()


class CountingEpoll:
    """An epoll that counts C{unregister} calls (system calls saved)."""

    def __init__(self, epoll):
        self.epoll, self.unregistered = epoll, 0

    def unregister(self, fd):
        self.unregistered += 1
        self.epoll.unregister(fd)

    def __getattr__(self, name):
        return getattr(self.epoll, name)


def test_closeLeavesUnregisteringToTheKernel(registry, reactor, client):
    """
    A reader that closes its socket is unfiled without an C{unregister}:
    closing the socket took it out of the epoll, which reports it no more
    though a datagram was waiting.  A plain L{remove} still unregisters.
    """
    registry._epoll = counting = CountingEpoll(registry._epoll)
    closed, removed = started(registry, 2)
    sendEach(client, [closed])
    assert ready(registry)
    closed.close()
    assert counting.unregistered == 0 and registry.count == 1
    assert not ready(registry)
    registry.remove(removed)
    assert counting.unregistered == 1 and registry.count == 0
    assert reactor.readers == set()
    removed.sock.close()


def test_oneReactorReaderWhateverTheSockets(registry, reactor):
    """The registry is the reactor's one reader for 1 or 40 sockets; it is
    added with the first reader and removed with the last.  Adding a filed
    reader again changes nothing."""
    assert reactor.readers == set()
    recorders = started(registry, 1)
    assert reactor.readers == {registry}
    recorders += started(registry, 39)
    recorders[0].startReading()
    assert reactor.readers == {registry} and registry.count == 40
    for recorder in recorders:
        recorder.close()
    assert reactor.readers == set() and registry.count == 0
    started(registry, 1)
    assert reactor.readers == {registry}


def test_connectionLostClosesSockets(registry):
    """When the reactor drops the registry (shutdown), every filed socket
    and the epoll are closed; readers closed afterwards raise nothing."""
    recorders = started(registry, 3)
    unfiled = Recorder(registry, UDPSocketOpener()("127.0.0.1", 0))
    registry.connectionLost(Failure(ConnectionLost()))
    assert all(r.fileno() == -1 for r in recorders) and registry.fileno() == -1
    for recorder in recorders + [unfiled]:
        recorder.close()
    assert unfiled.fileno() == -1


def test_failingReaderDropped(registry, client):
    """A reader whose doRead raises is logged, closed and dropped; the other
    readers of the batch are served and the registry stays on the reactor."""

    class Broken(Recorder):
        __slots__ = ()

        def doRead(self):
            raise ZeroDivisionError()

    broken, = started(registry, 1, Broken)
    healthy = started(registry, 2)
    sendEach(client, [broken] + healthy)
    with capturedLogs() as logged:
        registry.doRead()
    assert [len(r.got) for r in healthy] == [1, 1] and broken.fileno() == -1
    assert registry.count == 2 and len([e for e in logged if e.get("log_failure")]) == 1


def test_secondsIsTheReactors(reactor):
    """Both registries tell the reactor's time (readers keep no reactor)."""
    reactor.advance(12.5)
    assert EpollReaders(reactor).seconds() == ReactorReaders(reactor).seconds() == 12.5


def test_reactorReadersUseTheReactor(reactor):
    """ReactorReaders adds and removes each reader with the reactor itself."""
    readers = ReactorReaders(reactor)
    recorders = started(readers, 2)
    assert reactor.readers == set(recorders)
    for recorder in recorders:
        recorder.close()
    assert reactor.readers == set()


@pytest.mark.skipif(not LINUX, reason="epoll is Linux's")
def test_defaultIsEpollOnLinux(reactor):
    """defaultReaders picks the relay's own epoll on Linux."""
    readers = defaultReaders(reactor)
    assert isinstance(readers, EpollReaders)
    readers.connectionLost(None)


def test_defaultWithoutEpoll(reactor, monkeypatch):
    """Where select has no epoll, defaultReaders falls back to the reactor."""
    monkeypatch.delattr(select, "epoll")
    assert isinstance(defaultReaders(reactor), ReactorReaders)


def test_onTheRealReactor(client):
    """On the running reactor, datagrams to several sockets of one registry
    reach their readers, the registry being the reactor's one added reader;
    closing the last socket takes it off the reactor."""
    from twisted.internet import reactor as real
    before = len(real.getReaders())
    registry = EpollReaders(real)
    recorders = started(registry, 6)
    try:
        assert len(real.getReaders()) == before + 1
        sendEach(client, recorders)
        for _ in range(100):
            if all(r.got for r in recorders):
                break
            real.iterate(WAIT_MS / 100 / 1000)
        assert [len(r.got) for r in recorders] == [1] * 6
    finally:
        for recorder in recorders:
            recorder.close()
    assert len(real.getReaders()) == before and registry not in real.getReaders()
    registry.connectionLost(None)
