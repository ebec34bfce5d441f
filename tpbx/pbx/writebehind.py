# -*- test-case-name: tests.pbx.test_writebehind -*-
"""
Store writes that must not stall the reactor.

Why: the store is synchronous (SQLAlchemy Core), and a commit on SQLite or
a round trip to PostgreSQL takes from a fraction of a millisecond to many
milliseconds.  Done on the reactor thread as each call ends, the CDR
insert was the largest single cost of a call (about a quarter of the
server's time at 150 calls/s, most of it in the commit), and every SIP
message waiting behind it was delayed as long.  Records that only have to
reach the store soon (CDRs; binding changes, see L{tpbx.pbx.journal}) are
queued here instead and written in batches, one transaction per batch, by
a worker thread, one batch at a time.

The cost of the choice: on a crash the last fraction of a second of
records is lost (never on a clean stop: L{WriteBehind.stop} writes what
is queued).
"""

from __future__ import annotations

from typing import Callable

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger

__all__ = ["WriteBehind", "inThreads", "inline", "afterWrite", "DEFAULT_DELAY", "MAX_PENDING"]

DEFAULT_DELAY = 0.25
"""Seconds an item may wait so that the items of a burst share a batch."""

MAX_PENDING = 100_000
"""Items kept while the store fails; beyond, the oldest are dropped (logged)."""


def inThreads(reactor) -> Callable[..., Deferred]:
    """
    @return: a runner calling C{f(*args)} in C{reactor}'s thread pool.
    """
    return lambda f, *args: deferToThreadPool(reactor, reactor.getThreadPool(), f, *args)


def inline(f, *args) -> Deferred:
    """A runner calling C{f(*args)} at once (tests, tools without a reactor)."""
    return maybeDeferred(f, *args)


def afterWrite(busy: Deferred, flush: Callable[[], Deferred]) -> Deferred:
    """
    Call C{flush} once the write in flight, C{busy}, is over (however it
    ended; its own result is left as it was): what a writer that keeps one
    write at a time does with what was queued meanwhile.

    @return: fires as the Deferred C{flush} returns does.
    """
    done = Deferred()

    def thenFlush(result):
        flush().chainDeferred(done)
        return result
    busy.addBoth(thenFlush)
    return done


class WriteBehind:
    """
    A queue of items written by C{write(batch)} off the reactor thread.

    @ivar pending: items not yet handed to C{write}.
    """

    _log = Logger()

    def __init__(self, clock, write: Callable[[list], None], run: Callable[..., Deferred],
                 what: str, delay: float = DEFAULT_DELAY):
        """
        @param clock: schedules the batch (C{callLater}).
        @param write: stores a list of items in one transaction; called in
            the thread C{run} chooses.
        @param run: L{inThreads} or L{inline}.
        @param what: what the items are, for log lines.
        """
        self._clock = clock
        self._write = write
        self._run = run
        self._what = what
        self._delay = delay
        self.pending: list = []
        self._timer = None
        self._busy: Deferred | None = None
        self._stopped = False

    def add(self, item) -> None:
        """Queue C{item}; it is written within about C{delay} seconds."""
        self.pending.append(item)
        if self._timer is None and self._busy is None:
            self._timer = self._clock.callLater(self._delay, self._due)

    def _due(self) -> None:
        self._timer = None
        self.flush()

    def flush(self) -> Deferred:
        """
        Write what is queued (after the batch in flight, if any).

        @return: fires with L{None} once the batch holding what was queued
            has been written or failed (never fails: write errors are
            logged and the items kept for the next try).
        """
        if self._busy is not None:
            return afterWrite(self._busy, self.flush)
        done = Deferred()
        if not self.pending:
            done.callback(None)
        else:
            batch, self.pending = self.pending, []
            self._busy = busy = self._run(self._write, batch)
            busy.addErrback(self._failed, batch)
            busy.addBoth(self._done)
            busy.addBoth(self._thenFire, done)
        return done

    @staticmethod
    def _thenFire(result, done: Deferred):
        done.callback(None)
        return result

    def _failed(self, failure, batch: list) -> None:
        self._log.failure("could not store {n} {what}; kept for the next try",
                          failure, n=len(batch), what=self._what)
        self.pending[:0] = batch
        excess = len(self.pending) - MAX_PENDING
        if excess > 0:
            self._log.error("dropped the {n} oldest unstored {what}", n=excess, what=self._what)
            del self.pending[:excess]

    def _done(self, _) -> None:
        self._busy = None
        if self.pending and self._timer is None and not self._stopped:
            self._timer = self._clock.callLater(self._delay, self._due)

    def stop(self) -> Deferred:
        """Cancel the timer and write everything queued; schedule no more."""
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        return self.flush()
