# -*- test-case-name: tests.pbx.test_scheduler -*-
"""
One DelayedCall for many deadlines.

Calls have timers (2xx retransmissions, glare retries, session timers,
ring timeouts); rather than one DelayedCall per timer, each owner keeps a
single deadline here and the scheduler keeps one DelayedCall armed for the
earliest, the way the engine does for transactions.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Callable, Hashable

__all__ = ["Scheduler"]

# Below this many heap entries, stale ones are left to surface by themselves.
_MIN_COMPACT = 64


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
        self._heap: list[tuple[float, int, Hashable]] = []
        self._sequence = itertools.count()
        self._call = None
        self._callAt: float | None = None

    def set(self, owner: Hashable, deadline: float | None) -> None:
        """Make C{deadline} the owner's only one (L{None}: none)."""
        if deadline is None:
            if self.pending.pop(owner, None) is not None:
                self._tidy()
            return
        if self.pending.get(owner) == deadline:
            return
        self.pending[owner] = deadline
        heapq.heappush(self._heap, (deadline, next(self._sequence), owner))
        self._tidy()
        self._arm()

    def _tidy(self) -> None:
        """
        Drop stale heap entries once they outnumber the live ones, and the
        DelayedCall when nothing is pending: an ended call's owners must
        not stay referenced, nor a timer armed for them.
        """
        if not self.pending:
            self.stop()
        elif len(self._heap) > max(_MIN_COMPACT, 2 * len(self.pending)):
            # In place: L{_run} may be walking this very list.
            self._heap[:] = [(at, next(self._sequence), owner)
                             for owner, at in self.pending.items()]
            heapq.heapify(self._heap)

    def _arm(self) -> None:
        while self._heap and self.pending.get(self._heap[0][2]) != self._heap[0][0]:
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
        while self._heap and self._heap[0][0] <= now:
            at, _, owner = heapq.heappop(self._heap)
            if self.pending.get(owner) != at:
                continue
            del self.pending[owner]
            self._fire(owner, now)
        self._arm()

    def stop(self) -> None:
        """Forget everything and cancel the DelayedCall."""
        self.pending.clear()
        self._heap.clear()
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
