# -*- test-case-name: tests.pbx.test_guard -*-
"""
Anti-hacking (SPEC I3): blacklist addresses that fail to authenticate too
often or flood the PBX, plus the administrator's static black and white
lists.

A blacklisted address gets no answer at all, so a scanner cannot even tell
a PBX is there.  Every packet asks L{AccessGuard.allowPacket} first, so the
fast path is one dict lookup; CIDR matching happens only for the static
lists, once per address, and its verdict is cached.

Defaults (L{GuardPolicy}), chosen for an office PBX:
  - 25 failed authentications within 60 s blacklist the address for an
    hour (a phone with a wrong password retries every few seconds at most,
    svcrack tries hundreds per second);
  - more than 200 requests in one second from one address blacklist it for
    an hour (a busy SIP trunk or a phone sends a few per second; register
    storms after a power cut come from many addresses);
  - loopback is not exempt: tests run scanners from 127.0.0.1.  Whitelist
    what must never be blocked (trunks, the office LAN).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Iterable

from zope.interface import implementer

from tpbx.events import ADDRESS_BLACKLISTED, ADDRESS_FLOODING, Event
from tpbx.interfaces import IAccessGuard, IEventSink
from tpbx.model import AccessEntry
from tpbx.pbx.netaddr import Network, parseAddress, parseNetworks

__all__ = ["GuardPolicy", "AccessGuard"]

_FOREVER = float("inf")


@dataclass(frozen=True, slots=True)
class GuardPolicy:
    """
    @ivar maxAuthFailures: failures within C{failureWindow} that blacklist.
    @ivar failureWindow: seconds of the sliding window of failures.
    @ivar maxRequestsPerSecond: requests in one second that blacklist.
    @ivar blacklistSeconds: how long a dynamic blacklisting lasts.
    @ivar maxTrackedHosts: bound on per-address counters (memory).
    """

    maxAuthFailures: int = 25
    failureWindow: float = 60.0
    maxRequestsPerSecond: int = 200
    blacklistSeconds: float = 3600.0
    maxTrackedHosts: int = 100_000


class _StaticList:
    """
    Administrator entries: exact addresses in a dict, networks in a list.
    """

    __slots__ = ("exact", "networks")

    def __init__(self, entries: Iterable[AccessEntry]):
        self.exact: dict[str, float] = {}
        self.networks: list[tuple[Network, float]] = []
        for entry in entries:
            until = _FOREVER if entry.until is None else entry.until
            network = parseNetworks([entry.network])[0]
            if network.num_addresses == 1:
                self.exact[str(network.network_address)] = until
            else:
                self.networks.append((network, until))

    def until(self, host: str) -> float:
        """@return: when the latest entry matching C{host} ends, or 0."""
        address = parseAddress(host)
        if address is None:
            return 0.0
        best = self.exact.get(str(address), 0.0)
        for network, until in self.networks:
            if address in network and until > best:
                best = until
        return best


@implementer(IAccessGuard)
class AccessGuard:
    """
    @ivar policy: the L{GuardPolicy}.
    """

    def __init__(self, events: IEventSink, policy: GuardPolicy = GuardPolicy()):
        self._events = events
        self.policy = policy
        self._dynamic: dict[str, AccessEntry] = {}
        self._failures: dict[str, deque] = {}
        self._requests: dict[str, list] = {}   # host -> [second, count]
        self._black = _StaticList(())
        self._white = _StaticList(())
        self._verdicts: dict[str, tuple[float, float]] = {}
        self._nextPrune = 0.0

    def setStaticLists(self, blacklist: Iterable[AccessEntry],
                       whitelist: Iterable[AccessEntry]) -> None:
        """
        Replace the administrator's lists (called when the store changes).
        A whitelisted address is never blocked, even if also blacklisted.

        @raise ValueError: for an entry that is not an address or network.
        """
        self._black = _StaticList(blacklist)
        self._white = _StaticList(whitelist)
        self._verdicts.clear()
        for host in [h for h in self._dynamic if self._isWhite(h, 0.0)]:
            del self._dynamic[host]

    def _verdict(self, host: str) -> tuple[float, float]:
        """@return: C{(blacklistedUntil, whitelistedUntil)} from the static
        lists, cached per host."""
        verdict = self._verdicts.get(host)
        if verdict is None:
            if len(self._verdicts) >= self.policy.maxTrackedHosts:
                self._verdicts.clear()
            verdict = (self._black.until(host), self._white.until(host))
            self._verdicts[host] = verdict
        return verdict

    def _isWhite(self, host: str, now: float) -> bool:
        return self._verdict(host)[1] > now

    def allowPacket(self, host: str, now: float) -> bool:
        """
        @return: False when C{host} is blacklisted: drop, answer nothing.
        """
        entry = self._dynamic.get(host)
        if entry is not None:
            if entry.until > now:
                return False
            del self._dynamic[host]
        blackUntil, whiteUntil = self._verdict(host)
        return blackUntil <= now or whiteUntil > now

    def requestSeen(self, host: str, now: float) -> bool:
        """
        Count one request for flood detection (fixed one-second windows).

        @return: whether to go on with the request (False once blacklisted).
        """
        if not self.allowPacket(host, now):
            return False
        self._maybePrune(now)
        second = int(now)
        counter = self._requests.get(host)
        if counter is None or counter[0] != second:
            self._requests[host] = [second, 1]
            return True
        counter[1] += 1
        if counter[1] > self.policy.maxRequestsPerSecond:
            return not self._blacklist(host, now, "too many requests", ADDRESS_FLOODING)
        return True

    def authFailed(self, host: str, now: float, user: str | None = None) -> None:
        """
        Count a failed authentication from C{host} (for C{user}, logged
        only); blacklist after C{maxAuthFailures} within C{failureWindow}.
        """
        if host in self._dynamic:
            return
        self._maybePrune(now)
        failures = self._failures.get(host)
        if failures is None:
            failures = self._failures[host] = deque(maxlen=self.policy.maxAuthFailures)
        failures.append(now)
        if (len(failures) == failures.maxlen
                and now - failures[0] <= self.policy.failureWindow):
            self._blacklist(host, now, "failed authentications", ADDRESS_BLACKLISTED,
                            user)

    def _blacklist(self, host: str, now: float, reason: str, eventId: int,
                   user: str | None = None) -> bool:
        """
        Blacklist C{host} unless whitelisted; emit the event once.

        @return: whether it was blacklisted.
        """
        if self._isWhite(host, now):
            return False
        until = now + self.policy.blacklistSeconds
        self._dynamic[host] = AccessEntry(host, until, reason)
        self._failures.pop(host, None)
        self._requests.pop(host, None)
        fields = {"address": host, "reason": reason, "until": until}
        if user is not None:
            fields["user"] = user
        self._events.emit(Event(eventId, f"{host} blacklisted: {reason}", fields))
        return True

    def dynamicEntries(self, now: float) -> list[AccessEntry]:
        """
        @return: the live automatic blacklist entries, for persistence
            (they come back through L{setStaticLists} after a restart).
        """
        return [e for e in self._dynamic.values() if e.until > now]

    def removeDynamic(self, host: str) -> AccessEntry | None:
        """Lift an automatic blacklisting (the administrator's unblock)."""
        self._failures.pop(host, None)
        return self._dynamic.pop(host, None)

    def _maybePrune(self, now: float) -> None:
        """
        Forget idle counters, at most once per failure window or whenever
        more than C{maxTrackedHosts} are tracked; amortised O(1).  If an
        attacker with that many addresses keeps it over half full after
        pruning, it is cleared: counting restarts, memory stays bounded.
        """
        tracked = len(self._failures) + len(self._requests)
        if now < self._nextPrune and tracked < self.policy.maxTrackedHosts:
            return
        self._nextPrune = now + self.policy.failureWindow
        horizon = now - self.policy.failureWindow
        self._failures = {h: d for h, d in self._failures.items() if d[-1] > horizon}
        second = int(now)
        self._requests = {h: c for h, c in self._requests.items() if c[0] == second}
        self._dynamic = {h: e for h, e in self._dynamic.items() if e.until > now}
        if len(self._failures) + len(self._requests) >= self.policy.maxTrackedHosts // 2:
            self._failures.clear()
            self._requests.clear()
