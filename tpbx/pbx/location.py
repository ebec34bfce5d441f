# -*- test-case-name: tests.pbx.test_location -*-
"""
The location service: where each extension can be reached (RFC 3261 sec.
10, Kamailio's usrloc).  Storage only; what may be stored is the
registrar's business (L{tpbx.pbx.registrar}).

Sized for tens of thousands of idle registrations: a binding is a slotted
record (no per-binding dict), bindings of one AOR sit in a short list (at
most a handful of contacts), and expiry pops a heap of deadlines instead of
scanning every binding.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass

from zope.interface import implementer

from tpbx.interfaces import ILocationService
from tpbx.sip.peer import Peer

__all__ = ["Binding", "MemoryLocationService"]


@dataclass(frozen=True, slots=True)
class Binding:
    """
    One registered contact of an extension.

    @ivar aor: the extension number (the address-of-record's user).
    @ivar contact: the Contact URI text as the UA sent it (without C{<>}).
    @ivar expiresAt: epoch seconds the binding ends at.
    @ivar q: the contact's preference, 0.0 to 1.0 (sec. 20.10).
    @ivar callId: Call-ID of the REGISTER that made it (sec. 10.3 step 7).
    @ivar cseq: CSeq number of that REGISTER.
    @ivar peer: the L{Peer} the REGISTER came from (transport, source
        address, flow): where requests for the binding are sent.
    @ivar userAgent: the User-Agent header, for status pages.
    @ivar instanceId: C{+sip.instance} (RFC 5626), or L{None}.
    @ivar regId: C{reg-id} (RFC 5626), or L{None}.
    @ivar path: Path header values (RFC 3327), in order.
    @ivar registeredAt: epoch seconds of the REGISTER that made or last
        refreshed it.
    """

    aor: str
    contact: str
    expiresAt: float
    q: float
    callId: str
    cseq: int
    peer: Peer
    userAgent: str = ""
    instanceId: str | None = None
    regId: int | None = None
    path: tuple[str, ...] = ()
    registeredAt: float = 0.0

    def remaining(self, now: float) -> int:
        """@return: whole seconds left, never negative."""
        return max(0, int(self.expiresAt - now + 0.5))


@implementer(ILocationService)
class MemoryLocationService:
    """
    Bindings in memory, matched on the exact contact text (the registrar
    decides which contacts are the same, sec. 10.3 step 7).
    """

    def __init__(self):
        self._bindings: dict[str, list[Binding]] = {}
        # (expiresAt, sequence, binding): entries for refreshed or removed
        # bindings stay until popped and are skipped then.
        self._heap: list[tuple[float, int, Binding]] = []
        self._sequence = itertools.count()
        self._count = 0

    def count(self) -> int:
        """@return: the number of stored bindings (expired ones included
        until L{expire} runs)."""
        return self._count

    def register(self, aor: str, binding: Binding, now: float) -> Binding | None:
        """
        Add C{binding}, replacing the binding of C{aor} with the same
        contact text.

        @return: the binding it replaced, or L{None}.
        """
        bindings = self._bindings.setdefault(aor, [])
        replaced = None
        for i, existing in enumerate(bindings):
            if existing.contact == binding.contact:
                replaced = bindings[i]
                bindings[i] = binding
                break
        else:
            bindings.append(binding)
            self._count += 1
        heapq.heappush(self._heap, (binding.expiresAt, next(self._sequence), binding))
        self._compact()
        return replaced

    def lookup(self, aor: str, now: float) -> list[Binding]:
        """
        @return: the live bindings of C{aor}, highest q first, then the
            most recently registered first.
        """
        live = [b for b in self._bindings.get(aor, ()) if b.expiresAt > now]
        live.sort(key=lambda b: (-b.q, -b.registeredAt))
        return live

    def remove(self, aor: str, contact: str) -> Binding | None:
        """
        @return: the removed binding of C{aor} with C{contact}, or L{None}.
        """
        bindings = self._bindings.get(aor)
        if not bindings:
            return None
        for i, existing in enumerate(bindings):
            if existing.contact == contact:
                del bindings[i]
                self._count -= 1
                if not bindings:
                    del self._bindings[aor]
                return existing
        return None

    def removeAll(self, aor: str) -> list[Binding]:
        """@return: every binding C{aor} had."""
        removed = self._bindings.pop(aor, [])
        self._count -= len(removed)
        return removed

    def expire(self, now: float) -> list[Binding]:
        """
        Drop bindings whose time is up; cost is proportional to what
        expires (plus stale heap entries), not to what is stored.

        @return: the dropped bindings.
        """
        heap = self._heap
        dropped = []
        while heap and heap[0][0] <= now:
            _, _, binding = heapq.heappop(heap)
            current = self._bindings.get(binding.aor, ())
            if any(b is binding for b in current):
                self.remove(binding.aor, binding.contact)
                dropped.append(binding)
        return dropped

    def allBindings(self, now: float) -> list[Binding]:
        """@return: every live binding, ordered by AOR."""
        return [b for aor in sorted(self._bindings)
                for b in self._bindings[aor] if b.expiresAt > now]

    def _compact(self) -> None:
        """
        Rebuild the heap when refreshes and removals have left it mostly
        dead entries, so memory stays proportional to the live bindings.
        """
        if len(self._heap) <= 4 * self._count + 1024:
            return
        self._heap = [(b.expiresAt, next(self._sequence), b)
                      for bindings in self._bindings.values() for b in bindings]
        heapq.heapify(self._heap)
