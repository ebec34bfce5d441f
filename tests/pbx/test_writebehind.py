# -*- test-case-name: tests.pbx.test_writebehind -*-
"""
Tests for L{tpbx.pbx.writebehind}: items are written in batches after a
short delay, one batch at a time, kept on a store error, and all written
on stop.
"""

from __future__ import annotations

from twisted.internet.task import Clock
from twisted.logger import capturedLogs

from tpbx.pbx import writebehind
from tpbx.pbx.writebehind import DEFAULT_DELAY, WriteBehind, inline
from tpbx.testing import ManualRunner


class Store:
    """A C{write} recording its batches; raises while C{failing}."""

    def __init__(self):
        self.batches: list[list] = []
        self.failing = False

    def __call__(self, batch):
        if self.failing:
            raise OSError("database is locked")
        self.batches.append(list(batch))


def test_burstIsOneBatch():
    """Items added within the delay are written together, once, after it."""
    clock, store = Clock(), Store()
    queue = WriteBehind(clock, store, inline, "records")
    for n in range(3):
        queue.add(n)
    assert store.batches == []
    clock.advance(DEFAULT_DELAY)
    assert store.batches == [[0, 1, 2]] and queue.pending == []
    assert clock.getDelayedCalls() == []


def test_oneBatchInFlight():
    """
    While a batch is being written no other starts; what arrived meanwhile
    is written after it, by a timer started when the first ended.
    """
    clock, store, threads = Clock(), Store(), ManualRunner()
    queue = WriteBehind(clock, store, threads, "records")
    queue.add("a")
    clock.advance(DEFAULT_DELAY)
    queue.add("b")
    clock.advance(DEFAULT_DELAY)
    assert len(threads.running) == 1
    threads.finish()
    clock.advance(DEFAULT_DELAY)
    threads.finish()
    assert store.batches == [["a"], ["b"]]


def test_failedBatchKept():
    """A store error is logged and the batch is written on the next try, first."""
    clock, store = Clock(), Store()
    queue = WriteBehind(clock, store, inline, "records")
    store.failing = True
    queue.add(1)
    with capturedLogs() as events:
        clock.advance(DEFAULT_DELAY)
    assert any(e.get("log_failure") is not None for e in events)
    queue.add(2)
    store.failing = False
    clock.advance(DEFAULT_DELAY)
    assert store.batches == [[1, 2]]


def test_pendingBounded(monkeypatch):
    """While the store keeps failing, only the newest items are kept."""
    monkeypatch.setattr(writebehind, "MAX_PENDING", 2)
    clock, store = Clock(), Store()
    queue = WriteBehind(clock, store, inline, "records")
    store.failing = True
    for n in range(3):
        queue.add(n)
    with capturedLogs():
        clock.advance(DEFAULT_DELAY)
    assert queue.pending == [1, 2]


def test_stopWritesEverythingAndWaits():
    """
    Stop writes what is queued, after the batch in flight, fires when both
    are written, and leaves no timer.
    """
    clock, store, threads = Clock(), Store(), ManualRunner()
    queue = WriteBehind(clock, store, threads, "records")
    queue.add("a")
    clock.advance(DEFAULT_DELAY)
    queue.add("b")
    stopped = queue.stop()
    assert not stopped.called
    threads.finish()
    threads.finish()
    assert stopped.called and store.batches == [["a"], ["b"]]
    assert clock.getDelayedCalls() == []
