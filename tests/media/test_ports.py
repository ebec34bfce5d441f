# -*- test-case-name: tests.media.test_ports -*-
"""
Tests for L{tpbx.media.ports}: RTP port pairs handed out once, given back,
retired when unusable, and counted (RFC 3550 sec. 11: RTP even, RTCP + 1).
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tpbx.media.ports import PortPool


def drain(pool):
    """@return: every port the pool hands out until it is empty."""
    ports = []
    while (port := pool.allocate()) is not None:
        ports.append(port)
    return ports


def test_evenPortsWithRoomForRTCP():
    """Only even ports whose odd neighbour is in range are offered."""
    assert drain(PortPool(7001, 7010)) == [7002, 7004, 7006, 7008]
    assert drain(PortPool(7000, 7009)) == [7000, 7002, 7004, 7006, 7008]


def test_rangeWithoutAPairRefused():
    """A range with no even/odd pair is a configuration error."""
    with pytest.raises(ValueError):
        PortPool(7001, 7002)


def test_exhaustionAndCounts():
    """An empty pool says None; the counts follow every operation."""
    pool = PortPool(7000, 7005)
    assert (pool.size, pool.free, pool.inUse, pool.bad) == (3, 3, 0, 0)
    ports = drain(pool)
    assert pool.allocate() is None
    assert (pool.free, pool.inUse) == (0, 3)
    pool.release(ports[0])
    pool.markBad(ports[1])
    assert (pool.free, pool.inUse, pool.bad) == (1, 1, 1)


def test_releasedPortsReusedLast():
    """A released port goes to the back of the queue."""
    pool = PortPool(7000, 7005)
    first = pool.allocate()
    pool.release(first)
    assert drain(pool) == [7002, 7004, 7000]


def test_badPortNeverOfferedAgain():
    """A port retired with markBad is not handed out again."""
    pool = PortPool(7000, 7003)
    pool.markBad(pool.allocate())
    assert drain(pool) == [7002]
    assert pool.bad == 1


@pytest.mark.parametrize("operation", ["release", "markBad"])
def test_unallocatedPortRefused(operation):
    """Releasing or retiring a port that is not allocated is a caller bug."""
    pool = PortPool(7000, 7003)
    port = pool.allocate()
    pool.release(port)
    with pytest.raises(ValueError):
        getattr(pool, operation)(port)
    with pytest.raises(ValueError):
        getattr(pool, operation)(9000)


def test_membership():
    """A pool knows its RTP ports."""
    pool = PortPool(7000, 7005)
    assert 7000 in pool and 7004 in pool
    assert 7001 not in pool and 7006 not in pool and 6998 not in pool


@given(st.lists(st.sampled_from(["allocate", "release", "markBad"]), max_size=60))
def test_neverDoubleAllocated(operations):
    """Under any sequence of operations no port is held twice and the counts
    add up to the size."""
    pool, held = PortPool(7000, 7011), []
    for operation in operations:
        if operation == "allocate":
            port = pool.allocate()
            if port is not None:
                assert port not in held
                held.append(port)
        elif held:
            getattr(pool, operation)(held.pop(0))
        assert pool.free + pool.inUse + pool.bad == pool.size
        assert pool.inUse == len(held)
