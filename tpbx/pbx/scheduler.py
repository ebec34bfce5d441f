# -*- test-case-name: tests.pbx.test_scheduler -*-
"""
One DelayedCall for many deadlines.

Calls have timers (2xx retransmissions, glare retries, session timers,
ring timeouts); rather than one DelayedCall per timer, each owner keeps a
single deadline here and the scheduler keeps one DelayedCall armed for the
earliest, the way the engine does for transactions.

Far deadlines (a second or more away: session timers, minutes off, on
every leg of every held call) wait in one-second buckets, a dict entry
each (kept in the order set, which breaks ties as the heap would), and join the heap of exact deadlines when their second begins:
thousands of held calls then cost a table slot per leg, not a heap entry
with its tuple and sequence number.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Callable, Hashable

__all__ = ["Scheduler", "FAR"]

# Below this many heap entries, stale ones are left to surface by themselves.
_MIN_COMPACT = 64

#: Seconds ahead from which a deadline waits in its second's bucket.
FAR = 1.0


class Scheduler:
    """
    @ivar pending: owner -> deadline currently wanted.
    """

    def __init__(self, clock, fire: Callable[[Hashable, float], None]):
        """
        @param clock: provides C{seconds} and C{callLater}.
        @param fire: called with C{(owner, now)} when an owner's deadline
            is reached; it may set a new one.
        """
        self._clock = clock
        self._fire = fire
        self.pending: dict[Hashable, float] = {}
        # (time, sequence, owner): an owner's near deadline, or (owner
        # None) the start of a bucket's second.
        self._heap: list[tuple[float, int, Hashable]] = []
        self._buckets: dict[int, dict] = {}   # second -> owners due in it
        self._sequence = itertools.count()
        self._call = None
        self._callAt: float | None = None

    def set(self, owner: Hashable, deadline: float | None) -> None:
        """Make C{deadline} the owner's only one (L{None}: none)."""
        old = self.pending.get(owner)
        if old == deadline:
            return
        if old is not None:
            self._unbucket(owner, old)
        if deadline is None:
            del self.pending[owner]
            self._tidy()
            return
        self.pending[owner] = deadline
        if deadline - self._clock.seconds() >= FAR:
            self._bucket(owner, deadline)
        else:
            heapq.heappush(self._heap, (deadline, next(self._sequence), owner))
        self._tidy()
        self._arm()

    def _bucket(self, owner: Hashable, deadline: float) -> None:
        second = int(deadline)
        bucket = self._buckets.get(second)
        if bucket is None:
            bucket = self._buckets[second] = {}
            heapq.heappush(self._heap, (float(second), next(self._sequence), None))
        bucket[owner] = None

    def _unbucket(self, owner: Hashable, deadline: float) -> None:
        second = int(deadline)
        bucket = self._buckets.get(second)
        if bucket is not None:
            bucket.pop(owner, None)
            if not bucket:
                del self._buckets[second]   # its heap entry is stale now

    def _live(self, entry) -> bool:
        at, _, owner = entry
        if owner is None:
            return int(at) in self._buckets
        return self.pending.get(owner) == at

    def _tidy(self) -> None:
        """
        Drop stale heap entries once they outnumber the live ones, and the
        DelayedCall when nothing is pending: an ended call's owners must
        not stay referenced, nor a timer armed for them.
        """
        if not self.pending:
            self.stop()
        elif len(self._heap) > max(_MIN_COMPACT, 2 * (len(self.pending) + len(self._buckets))):
            # In place: L{_run} may be walking this very list.
            sequence, buckets = self._sequence, self._buckets
            self._heap[:] = [(at, next(sequence), owner) for owner, at in self.pending.items()
                             if owner not in buckets.get(int(at), ())] + [
                             (float(second), next(sequence), None) for second in buckets]
            heapq.heapify(self._heap)

    def _arm(self) -> None:
        while self._heap and not self._live(self._heap[0]):
            heapq.heappop(self._heap)
        if not self._heap:
            return
        at = self._heap[0][0]
        if self._call is not None and self._call.active():
            if self._callAt <= at:
                return
            self._call.cancel()
        self._callAt = at
        self._call = self._clock.callLater(max(0.0, at - self._clock.seconds()), self._run)

    def _run(self) -> None:
        self._call = None
        now = self._clock.seconds()
        heap = self._heap
        while heap and heap[0][0] <= now:
            at, _, owner = heapq.heappop(heap)
            if owner is None:
                # A bucket's second began: its owners join the heap, so
                # that they fire at their own times and in their order.
                for each in self._buckets.pop(int(at), ()):
                    heapq.heappush(heap, (self.pending[each], next(self._sequence), each))
                continue
            if self.pending.get(owner) != at:
                continue
            del self.pending[owner]
            self._fire(owner, now)
        self._arm()

    def stop(self) -> None:
        """Forget everything and cancel the DelayedCall."""
        self.pending.clear()
        self._heap.clear()
        self._buckets.clear()
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
