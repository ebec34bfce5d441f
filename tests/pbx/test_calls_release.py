# -*- test-case-name: tests.pbx.test_calls_release -*-
"""
Tests for L{tpbx.pbx.calls.CallManager}: an ended call lets go of its
legs at once (no timer keeps them, so neither memory nor the collector
carries them for the 32 s of RFC 3261's ACK retransmission window).
"""

from __future__ import annotations

import gc

import pytest

from tests.pbx.callstack import Bench, connect
from tpbx.pbx.call import Call
from tpbx.pbx.leg import Leg


@pytest.mark.parametrize("who", ["A", "B"])
def test_endedCallHoldsNoTimer(who):
    """
    Once either party hangs up and the BYE is answered, the call manager
    has no call, leg or timer left, before any transaction timer runs.
    """
    bench = Bench()
    connect(bench)
    getattr(bench, who).hangup()
    bench.run()
    assert bench.calls.counts() == {"calls": 0, "legs": 0, "transactions": 0, "timers": 0}
    bench.assertIdle()


def _endCallAndForget(bench):
    """
    Connect a call, hang it up, and drop what the test side keeps of it.

    @return: the ids of the call's legs and call while it was up.
    """
    connect(bench)
    legs = list(bench.calls.index.dialogs.values())
    assert len(legs) == 2
    ids = {id(leg) for leg in legs} | {id(legs[0].call)}
    del legs
    bench.A.hangup()
    bench.run()
    bench.A.sessions.clear()
    bench.B.sessions.clear()
    bench.A.events.clear()
    bench.B.events.clear()
    bench.A.incoming = bench.A.outgoing = bench.B.incoming = bench.B.outgoing = None
    bench.records.clear()
    bench.net.log.clear()
    return ids


def test_endedCallFreed():
    """
    An ended call's legs are garbage once the BYE is answered: nothing of
    the PBX's refers to them any more.
    """
    bench = Bench()
    ids = _endCallAndForget(bench)
    gc.collect()
    assert not any(isinstance(o, Leg) and id(o) in ids for o in gc.get_objects())
    bench.assertIdle()


def test_endedCallFreedWithoutCollector():
    """
    The call and its legs are freed by reference counting alone: an ended
    call leaves no reference cycle for the cyclic collector, whose runs
    such garbage triggers and which then walk every young object (at
    hundreds of calls a second, a cost per call second only to parsing).
    """
    bench = Bench()
    gc.collect()
    gc.disable()
    try:
        ids = _endCallAndForget(bench)
        left = [o for o in gc.get_objects() if id(o) in ids and isinstance(o, (Leg, Call))]
    finally:
        gc.enable()
    assert left == []
    bench.assertIdle()
