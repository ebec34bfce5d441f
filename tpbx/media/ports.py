# -*- test-case-name: tests.media.test_ports -*-
"""
A pool of RTP port pairs from one configured range.

Why a pool of its own: a port may belong to at most one call at a time, it
must come back when the call ends (leak checks count it), and a port some
other program holds must not be offered again and again.  RTP takes the
even port and RTCP the odd one above it (RFC 3550 sec. 11).  Freed ports go
to the back of the queue, so a port is reused as late as possible and stray
packets of an ended call rarely reach the next one.  Pure: no sockets here.
"""

from __future__ import annotations

from collections import deque

__all__ = ["PortPool"]


class PortPool:
    """
    The even ports C{p} of C{first..last} for which C{p + 1} is in range.

    @ivar first: the lowest port of the range as configured.
    @ivar last: the highest port of the range as configured.
    """

    def __init__(self, first: int, last: int):
        """
        @raise ValueError: when the range holds no even/odd pair.
        """
        self.first, self.last = first, last
        self._start = start = first + (first & 1)
        self._free = deque(range(start, last, 2))
        if not self._free:
            raise ValueError(f"port range {first}-{last} holds no RTP/RTCP pair")
        self._size = len(self._free)
        # One byte a pair, set while allocated: a fixed table, where a set
        # of the ports in use would grow with the calls.
        self._allocated = bytearray(self._size)
        self._inUse = 0
        self._bad: set[int] = set()

    def __contains__(self, port: int) -> bool:
        """@return: whether C{port} is an RTP port of this pool."""
        return (self.first <= port < self.last and not port & 1
                and port + 1 <= self.last)

    def allocate(self) -> int | None:
        """
        Take the least recently used free RTP port.

        @return: the port (RTCP is C{port + 1}), or L{None} when none is free.
        """
        if not self._free:
            return None
        port = self._free.popleft()
        self._allocated[(port - self._start) >> 1] = 1
        self._inUse += 1
        return port

    def release(self, port: int) -> None:
        """
        Give back a port that L{allocate} returned.

        @raise ValueError: when C{port} is not allocated (a double release
            is a bug in the caller, not something to paper over).
        """
        self._take(port)
        self._free.append(port)

    def markBad(self, port: int) -> None:
        """
        Retire an allocated port whose RTP or RTCP socket failed to bind
        (another program holds it); it is not offered again.

        @raise ValueError: when C{port} is not allocated.
        """
        self._take(port)
        self._bad.add(port)

    def _take(self, port: int) -> None:
        """
        Mark an allocated port no longer allocated.

        @raise ValueError: when C{port} is not allocated.
        """
        if port not in self or not self._allocated[(port - self._start) >> 1]:
            raise ValueError(f"port {port} is not allocated")
        self._allocated[(port - self._start) >> 1] = 0
        self._inUse -= 1

    @property
    def size(self) -> int:
        """@return: how many pairs the range holds."""
        return self._size

    @property
    def free(self) -> int:
        """@return: how many pairs are free."""
        return len(self._free)

    @property
    def inUse(self) -> int:
        """@return: how many pairs are allocated."""
        return self._inUse

    @property
    def bad(self) -> int:
        """@return: how many pairs were retired by L{markBad}."""
        return len(self._bad)
