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


def test_endedCallFreed():
    """
    An ended call's legs are garbage once the BYE is answered: nothing of
    the PBX's refers to them any more.
    """
    bench = Bench()
    connect(bench)
    legs = {id(leg) for leg in bench.calls.legs.values()}
    assert len(legs) == 2
    bench.A.hangup()
    bench.run()
    bench.A.sessions.clear()
    bench.B.sessions.clear()
    bench.A.events.clear()
    bench.B.events.clear()
    bench.A.incoming = bench.A.outgoing = bench.B.incoming = bench.B.outgoing = None
    bench.records.clear()
    bench.net.log.clear()
    gc.collect()
    assert not any(isinstance(o, Leg) and id(o) in legs for o in gc.get_objects())
    bench.assertIdle()
