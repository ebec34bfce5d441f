# -*- test-case-name: tests.pbx.test_scheduler -*-
"""
Tests for L{tpbx.pbx.scheduler}: one DelayedCall for many owners'
deadlines, and none left once nothing is pending.
"""

from __future__ import annotations

from twisted.internet.task import Clock

from tpbx.pbx.scheduler import Scheduler


def _scheduler():
    clock = Clock()
    fired = []
    scheduler = Scheduler(clock, lambda owner, now: fired.append((owner, now)))
    return clock, scheduler, fired


def test_firesAtDeadline():
    """An owner's deadline fires once, at its time, with the time."""
    clock, scheduler, fired = _scheduler()
    scheduler.set("x", 5.0)
    clock.advance(4.9)
    assert fired == []
    clock.advance(0.1)
    assert fired == [("x", 5.0)]
    clock.advance(10)
    assert fired == [("x", 5.0)]
    assert scheduler.pending == {}
    assert clock.getDelayedCalls() == []


def test_oneDelayedCallForMany():
    """Many owners share one DelayedCall, armed for the earliest."""
    clock, scheduler, fired = _scheduler()
    for index, at in enumerate([7.0, 3.0, 9.0, 3.0]):
        scheduler.set(index, at)
    [call] = clock.getDelayedCalls()
    assert call.getTime() == 3.0
    clock.advance(3)
    assert sorted(owner for owner, _ in fired) == [1, 3]
    clock.advance(6)
    assert [owner for owner, _ in fired] == [1, 3, 0, 2]
    assert clock.getDelayedCalls() == []


def test_newDeadlineReplacesOld():
    """Setting a deadline again replaces the owner's earlier one, sooner
    or later."""
    clock, scheduler, fired = _scheduler()
    scheduler.set("x", 5.0)
    scheduler.set("x", 2.0)
    clock.advance(2)
    assert fired == [("x", 2.0)]
    scheduler.set("y", 3.0)
    scheduler.set("y", 8.0)
    clock.advance(1)
    assert fired == [("x", 2.0)]
    clock.advance(5)
    assert fired == [("x", 2.0), ("y", 8.0)]


def test_sameDeadlineAgainIsNoChange():
    """Setting the deadline an owner already has keeps it as it is."""
    clock, scheduler, fired = _scheduler()
    scheduler.set("x", 5.0)
    scheduler.set("x", 5.0)
    clock.advance(5)
    assert fired == [("x", 5.0)]


def test_clearedOwnerNeverFires():
    """L{None} forgets an owner's deadline; once nothing is pending no
    DelayedCall is left armed (an ended call leaves no timer behind)."""
    clock, scheduler, fired = _scheduler()
    scheduler.set("x", 5.0)
    scheduler.set("y", 900.0)
    scheduler.set("x", None)
    assert len(clock.getDelayedCalls()) == 1
    scheduler.set("y", None)
    assert clock.getDelayedCalls() == []
    clock.advance(1000)
    assert fired == []
    scheduler.set("unknown", None)
    assert scheduler.pending == {}


def test_staleEntriesDoNotPileUp():
    """Owners rescheduled again and again keep the heap about the size of
    what is pending, so ended owners are not kept referenced."""
    clock, scheduler, fired = _scheduler()
    scheduler.set("first", 1.0)   # the head stays live: nothing surfaces
    for step in range(500):
        scheduler.set(step, 100.0 + step)
        scheduler.set(step, 200.0 + step)
        scheduler.set(step, None)
    assert len(scheduler._heap) <= 2 * len(scheduler.pending) + 64
    clock.advance(1)
    assert fired == [("first", 1.0)]
    clock.advance(1000)
    assert fired == [("first", 1.0)]


def test_fireMaySetDeadlines():
    """The fire callback may set a new deadline for its owner or others."""
    clock = Clock()
    fired = []

    def fire(owner, now):
        fired.append((owner, now))
        if len(fired) < 3:
            scheduler.set(owner, now + 1)

    scheduler = Scheduler(clock, fire)
    scheduler.set("x", 1.0)
    clock.advance(1)
    clock.advance(1)
    clock.advance(1)
    clock.advance(1)
    assert fired == [("x", 1.0), ("x", 2.0), ("x", 3.0)]
    assert clock.getDelayedCalls() == []


def test_fireMayClearOthers():
    """An owner's fire clearing the other owner due at the same time
    stops that one from firing."""
    clock = Clock()
    fired = []

    def fire(owner, now):
        fired.append(owner)
        scheduler.set("b" if owner == "a" else "a", None)

    scheduler = Scheduler(clock, fire)
    scheduler.set("a", 1.0)
    scheduler.set("b", 1.0)
    clock.advance(1)
    assert fired == ["a"]
    assert clock.getDelayedCalls() == []


def test_pastDeadlineFiresAtOnce():
    """A deadline already past fires on the next turn of the clock."""
    clock, scheduler, fired = _scheduler()
    clock.advance(10)
    scheduler.set("x", 4.0)
    clock.advance(0)
    assert fired == [("x", 10.0)]


def test_stop():
    """L{Scheduler.stop} forgets everything and cancels the DelayedCall."""
    clock, scheduler, fired = _scheduler()
    scheduler.set("x", 1.0)
    scheduler.stop()
    assert clock.getDelayedCalls() == []
    assert scheduler.pending == {}
    clock.advance(2)
    assert fired == []


def test_farDeadlinesWaitInBuckets():
    """
    Deadlines a second or more away (session timers of held calls) take
    no heap entry of their own, one per second at most, and still fire
    in deadline order as their second comes, none early.
    """
    clock, scheduler, fired = _scheduler()
    for index in range(1000):
        scheduler.set(index, 900.0 + (999 - index) * 0.001)   # all in second 900
    scheduler.set("near", 0.5)
    assert len(scheduler._heap) == 2
    clock.advance(0.5)
    assert fired == [("near", 0.5)]
    clock.advance(899.5)
    clock.pump([0.001] * 1000)
    assert [owner for owner, _ in fired[1:]] == list(range(999, -1, -1))
    assert fired[1] == (999, 900.0) and all(now >= 900.0 for _, now in fired[1:])
    assert scheduler.pending == {} and clock.getDelayedCalls() == []
