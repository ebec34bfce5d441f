# -*- test-case-name: tests.sip.test_timers -*-
"""
The RFC 3261 timer values (sec. 17 and Table 4 of appendix A), by RFC name.

Transactions never hard-code a duration: they ask a L{TimerConfig} for
"Timer D on this transport", so the whole stack can be run with shorter
T1/T2/T4 (a LAN, a test) and so the reliable-transport rule -- timers that
only exist to absorb retransmissions are zero over TCP and TLS -- lives in
one place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["TimerConfig", "TRYING_WAIT"]

# How long an INVITE server transaction leaves the TU to answer before it
# sends 100 Trying itself, at least (at most twice that): Figure 7 of sec.
# 17.2.1, "send 100 if TU won't in 200ms".
TRYING_WAIT = 0.1

# Timer D: "at least 32 seconds for unreliable transports" (sec. 17.1.1.2).
# It is a fixed floor, not a multiple of T1.
_TIMER_D_UNRELIABLE = 32.0


@dataclass(frozen=True, slots=True)
class TimerConfig:
    """
    The base timer values of RFC 3261 sec. 17.1.1.1 and 17.1.2.2, and the
    transaction timers derived from them.

    Methods that take C{reliable} return 0 when the timer does not run over
    a reliable transport (sec. 17, Table 4): a zero duration means "fire
    immediately".

    @ivar t1: the RTT estimate (default 500 ms).
    @ivar t2: the longest retransmit interval for non-INVITE requests and
        INVITE responses (default 4 s).
    @ivar t4: the longest time a message stays in the network (default 5 s).
    """

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0

    def __post_init__(self):
        if not 0 < self.t1 <= self.t2:
            raise ValueError("timers need 0 < T1 <= T2")
        if self.t4 <= 0:
            raise ValueError("T4 must be positive")

    @staticmethod
    def tryingAt(now: float) -> float:
        """
        When an INVITE server transaction whose TU has not answered sends
        100 Trying (sec. 17.2.1): the first multiple of L{TRYING_WAIT}
        at least L{TRYING_WAIT} from C{now}, so within 200 ms, and the same
        time for every INVITE of a tenth of a second, so that under load
        the 100s still due are sent together, by one timer.
        """
        return math.ceil((now + TRYING_WAIT) / TRYING_WAIT) * TRYING_WAIT

    @property
    def timerA(self) -> float:
        """INVITE request retransmit, initial interval: T1 (sec. 17.1.1.2)."""
        return self.t1

    @property
    def timerB(self) -> float:
        """INVITE transaction timeout: 64*T1 (sec. 17.1.1.2)."""
        return 64 * self.t1

    def timerD(self, reliable: bool) -> float:
        """Wait for response retransmits: 32 s over UDP, else 0 (17.1.1.2)."""
        return 0.0 if reliable else _TIMER_D_UNRELIABLE

    @property
    def timerE(self) -> float:
        """Non-INVITE request retransmit, initial interval: T1 (17.1.2.2)."""
        return self.t1

    @property
    def timerF(self) -> float:
        """Non-INVITE transaction timeout: 64*T1 (sec. 17.1.2.2)."""
        return 64 * self.t1

    @property
    def timerG(self) -> float:
        """INVITE response retransmit, initial interval: T1 (sec. 17.2.1)."""
        return self.t1

    @property
    def timerH(self) -> float:
        """Wait time for ACK receipt: 64*T1 (sec. 17.2.1)."""
        return 64 * self.t1

    def timerI(self, reliable: bool) -> float:
        """Wait for ACK retransmits: T4 over UDP, else 0 (sec. 17.2.1)."""
        return 0.0 if reliable else self.t4

    def timerJ(self, reliable: bool) -> float:
        """Wait for non-INVITE request retransmits: 64*T1 or 0 (17.2.2)."""
        return 0.0 if reliable else 64 * self.t1

    def timerK(self, reliable: bool) -> float:
        """Wait for response retransmits: T4 over UDP, else 0 (17.1.2.2)."""
        return 0.0 if reliable else self.t4

    def backoff(self, interval: float) -> float:
        """
        The next interval of Timers E and G: doubled, capped at T2
        (sec. 17.1.2.2, 17.2.1).  Timer A doubles without a cap.

        @param interval: the interval that just elapsed.
        """
        return min(2 * interval, self.t2)
