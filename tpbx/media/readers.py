# -*- test-case-name: tests.media.test_relay_readers -*-
"""
Where the relay's sockets register: the seam between a L{DatagramReader}
and the loop that tells it datagrams wait.

Why not the reactor itself: a held call keeps four sockets, and Twisted's
epoll reactor files each one twice (a set of fds and a dict of
selectables, keyed by an fd int that is a heap object above 256), about
400 bytes a call; and each wake-up of each socket goes through
C{log.callWithLogger} and a context push.  L{EpollReaders} puts the
relay's sockets on one C{epoll} of its own, itself one reader of the
reactor: a socket costs one slot of a list indexed by fd, and one reactor
wake-up dispatches every ready socket in a plain loop.

L{ReactorReaders} is what was done before (C{reactor.addReader}): for
tests with fake sockets on a memory reactor, and where C{select.epoll} is
missing.  L{defaultReaders} picks.

A registry provides C{add(reader)}, C{remove(reader)}, C{closing(reader)}
(remove one about to close its descriptor) and C{seconds()}
(the reactor's clock: a reader keeps one slot for its registry, not one
more for the reactor).
"""

from __future__ import annotations

import select

from twisted.internet.interfaces import IReadDescriptor
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

__all__ = ["EpollReaders", "ReactorReaders", "defaultReaders", "MAX_EVENTS"]

# Ready sockets taken from the epoll per reactor wake-up at most.  More
# stay ready (level-triggered), so the epoll's own fd stays readable and
# the reactor wakes it again; the kernel hands them out round-robin.
MAX_EVENTS = 1024

_log = Logger()


class _Readers:
    """
    What both registries share: the reactor, and its clock.

    @ivar seconds: the reactor's C{seconds} (L{IReactorTime}), bound once:
        the time, for readers that keep it.
    """

    def __init__(self, reactor):
        """
        @param reactor: L{IReactorFDSet} and L{IReactorTime}.
        """
        self._reactor = reactor
        self.seconds = reactor.seconds


class ReactorReaders(_Readers):
    """Each reader on the reactor itself (C{addReader}/C{removeReader})."""

    def add(self, reader) -> None:
        """Have C{reader}'s C{doRead} called while datagrams wait."""
        self._reactor.addReader(reader)

    def remove(self, reader) -> None:
        """Stop calling C{reader}; one never added, or closed, is fine."""
        self._reactor.removeReader(reader)

    closing = remove


@implementer(IReadDescriptor)
class EpollReaders(_Readers):
    """
    Readers on one level-triggered C{epoll} of their own, which is one
    reader of the reactor.

    Readers are filed in a list indexed by fd (L{None} where there is
    none): no dict, no fd int kept per socket.  The list grows to the
    highest fd seen and never shrinks (a slot is 8 bytes), so an fd
    returned by the epoll is always a valid index.

    The registry is on the reactor only while it has readers: added with
    the first, removed with the last.  An idle relay then leaves nothing on
    the reactor (its shutdown and trial's reactor checks see what they saw
    before), and the cost is one reactor registration per idle-to-busy
    turn, nothing per call on a loaded PBX.

    In one batch of ready fds, a reader removed by an earlier reader's
    callbacks is skipped (its slot is empty).  A reader added meanwhile
    on the fd just freed may be called once with nothing to read: its
    non-blocking socket answers C{EAGAIN}, which costs one system call.
    Errors (C{EPOLLERR}, e.g. a queued ICMP error) are reported as
    readiness: the reader's C{doRead} reads the error and skips it.

    @ivar count: how many readers are filed.
    """

    def __init__(self, reactor):
        """
        @param reactor: L{IReactorFDSet} and L{IReactorTime}.
        """
        _Readers.__init__(self, reactor)
        self._epoll = select.epoll()
        self._slots: list = []
        self.count = 0

    def add(self, reader) -> None:
        """
        Have C{reader}'s C{doRead} called while datagrams wait; adding a
        filed reader again does nothing.

        @param reader: an L{IReadDescriptor} with an open descriptor.
        @raise OSError: when the epoll refuses the descriptor.
        @raise ValueError: once the registry is closed (L{connectionLost}).
        """
        fd, slots = reader.fileno(), self._slots
        if fd >= len(slots):
            slots.extend([None] * (fd + 1 - len(slots)))
        elif slots[fd] is reader:
            return
        self._epoll.register(fd, select.EPOLLIN)
        if slots[fd] is None:   # else a reader whose socket was closed behind our back
            self.count += 1
            if self.count == 1:
                self._reactor.addReader(self)
        slots[fd] = reader

    def remove(self, reader) -> None:
        """
        Stop calling C{reader}.  Never raises: a reader never added, or
        removed already, is ignored; one whose socket is closed already
        (the kernel dropped it from the epoll then) is found by a scan of
        the slots, a rare path.
        """
        fd = reader.fileno()
        if fd < 0:
            fd = next((i for i, filed in enumerate(self._slots) if filed is reader), -1)
        else:
            try:
                self._epoll.unregister(fd)
            except (OSError, ValueError):   # not registered; epoll closed at shutdown
                pass
        self._unfile(reader, fd)

    def closing(self, reader) -> None:
        """
        Stop calling C{reader}, which is about to close its descriptor:
        closing the last reference to a socket takes it out of every epoll
        (the PBX forks no process that could hold another), so the system
        call of L{remove} is saved, four a call.  Any other case is
        L{remove}'s.
        """
        if not self._unfile(reader, reader.fileno()):
            self.remove(reader)

    def _unfile(self, reader, fd: int) -> bool:
        """
        Empty slot C{fd} if C{reader} is filed there; the last reader
        leaves the reactor.  @return: whether it was filed there.
        """
        if not (0 <= fd < len(self._slots) and self._slots[fd] is reader):
            return False
        self._slots[fd] = None
        self.count -= 1
        if not self.count:
            self._reactor.removeReader(self)
        return True

    def doRead(self) -> None:
        """
        Call C{doRead} of every ready reader, up to L{MAX_EVENTS} of them,
        skipping those removed since the batch was taken.  A reader that
        raises is dropped, as the reactor would drop it, and the others go
        on: an exception reaching the reactor would make it drop the
        registry, and every call's sockets with it.
        """
        slots = self._slots
        for fd, _ in self._epoll.poll(0, MAX_EVENTS):
            reader = slots[fd]
            if reader is not None:
                try:
                    reader.doRead()
                except Exception:
                    self._drop(reader)

    def _drop(self, reader) -> None:
        """Remove a reader whose C{doRead} raised, and tell it why."""
        failure = Failure()
        _log.failure("reader {reader!r} failed; dropped", failure, reader=reader)
        self.remove(reader)
        reader.connectionLost(failure)

    def connectionLost(self, reason) -> None:
        """
        The reactor dropped the registry (shutdown): every filed reader
        loses its connection (a L{DatagramReader} closes its socket), then
        the epoll is closed.
        """
        slots, self._slots, self.count = self._slots, [], 0
        for reader in slots:
            if reader is not None:
                reader.connectionLost(reason)
        self._epoll.close()

    def fileno(self) -> int:
        """@return: the epoll's descriptor (-1 once closed)."""
        return -1 if self._epoll.closed else self._epoll.fileno()

    def logPrefix(self) -> str:
        """@return: the log system of reactor callbacks on these sockets."""
        return "udp"


def defaultReaders(reactor) -> EpollReaders | ReactorReaders:
    """
    @param reactor: L{IReactorFDSet} and L{IReactorTime}.
    @return: an L{EpollReaders} where C{select.epoll} exists (Linux), else
        a L{ReactorReaders}.
    """
    if hasattr(select, "epoll"):
        return EpollReaders(reactor)
    return ReactorReaders(reactor)
