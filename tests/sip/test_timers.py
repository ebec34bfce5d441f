# -*- test-case-name: tests.sip.test_timers -*-
"""
Tests for L{tpbx.sip.timers}: the RFC 3261 timer values (sec. 17, Table 4).
"""

import dataclasses

import pytest

from tpbx.sip.timers import TimerConfig


def test_defaults():
    """T1, T2 and T4 default to 500 ms, 4 s and 5 s (sec. 17.1.1.1)."""
    config = TimerConfig()
    assert (config.t1, config.t2, config.t4) == (0.5, 4.0, 5.0)


def test_unreliableValues():
    """Over UDP every timer has its Table 4 value."""
    config = TimerConfig()
    assert config.timerA == 0.5
    assert config.timerB == 32.0
    assert config.timerD(False) == 32.0
    assert config.timerE == 0.5
    assert config.timerF == 32.0
    assert config.timerG == 0.5
    assert config.timerH == 32.0
    assert config.timerI(False) == 5.0
    assert config.timerJ(False) == 32.0
    assert config.timerK(False) == 5.0


def test_reliableValues():
    """Over a reliable transport the absorbing timers D, I, J, K are zero,
    and the timeouts are unchanged."""
    config = TimerConfig()
    assert [config.timerD(True), config.timerI(True), config.timerJ(True),
            config.timerK(True)] == [0.0, 0.0, 0.0, 0.0]
    assert (config.timerB, config.timerF, config.timerH) == (32.0, 32.0, 32.0)


def test_scaled():
    """Derived timers follow T1 and T4; Timer D stays at its 32 s floor."""
    config = TimerConfig(t1=0.1, t2=1.0, t4=2.0)
    assert config.timerB == pytest.approx(6.4)
    assert config.timerJ(False) == pytest.approx(6.4)
    assert config.timerK(False) == 2.0
    assert config.timerD(False) == 32.0


def test_backoff():
    """Timers E and G double and cap at T2 (sec. 17.1.2.2, 17.2.1)."""
    config = TimerConfig()
    intervals = [0.5]
    for _ in range(5):
        intervals.append(config.backoff(intervals[-1]))
    assert intervals == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


@pytest.mark.parametrize("kwargs", [{"t1": 0}, {"t1": 5.0, "t2": 4.0},
                                    {"t4": 0}, {"t1": -1}])
def test_invalid(kwargs):
    """A configuration with a non-positive T1/T4 or T1 > T2 is refused."""
    with pytest.raises(ValueError):
        TimerConfig(**kwargs)


def test_frozen():
    """The configuration is immutable, so it can be shared by every
    transaction."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        TimerConfig().t1 = 1.0
