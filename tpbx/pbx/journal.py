# -*- test-case-name: tests.pbx.test_journal -*-
"""
Registrations survive a restart: the registrar reports every binding it
adds or removes, the journal keeps the latest change per binding, and the
service flushes them to the store in one transaction a second (so a burst
of thousands of REGISTERs costs one write, not thousands), in a worker
thread (L{tpbx.pbx.writebehind}).
"""

from __future__ import annotations

from typing import Callable

from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger

from tpbx.pbx.location import Binding
from tpbx.pbx.writebehind import afterWrite, inline
from tpbx.sip.peer import Peer

__all__ = ["BindingJournal", "bindingToRow", "bindingFromRow"]


def bindingToRow(binding: Binding) -> dict:
    """@return: the store's row for C{binding}."""
    return {
        "aor": binding.aor, "contact": binding.contact,
        "expiresAt": binding.expiresAt, "q": binding.q,
        "callId": binding.callId, "cseq": binding.cseq,
        "transport": binding.peer.transport, "sourceHost": binding.peer.host,
        "sourcePort": binding.peer.port, "userAgent": binding.userAgent,
        "instanceId": binding.instanceId, "regId": binding.regId,
    }


def bindingFromRow(row: dict) -> Binding:
    """
    @return: the binding a stored row describes; its flow is gone with the
        old process, so requests to a TCP/TLS binding open a new connection.
    """
    q = row.get("q")
    return Binding(
        aor=row["aor"], contact=row["contact"], expiresAt=row["expiresAt"],
        q=1.0 if q is None else q, callId=row["callId"], cseq=row["cseq"],
        peer=Peer(row["transport"], row["sourceHost"], row["sourcePort"]),
        userAgent=row.get("userAgent") or "", instanceId=row.get("instanceId"),
        regId=row.get("regId"))


class BindingJournal:
    """
    Pending binding changes, latest wins.

    @ivar pending: C{(aor, contact) -> Binding | None} (None: deleted).
    """

    _log = Logger()

    def __init__(self, write: Callable[[list, list], None], run: Callable[..., Deferred] = inline):
        """
        @param write: stores C{(savedRows, deletedKeys)} in one transaction
            (L{tpbx.store.repositories.Store.flushBindings}).
        @param run: where C{write} runs: L{inline}, or
            L{tpbx.pbx.writebehind.inThreads} in the server so a slow disk
            never stalls SIP.
        """
        self._write = write
        self._run = run
        self._busy: Deferred | None = None
        self.pending: dict[tuple[str, str], Binding | None] = {}

    def changed(self, added, removed) -> None:
        """The registrar's listener: remember what to write."""
        for binding in removed:
            self.pending[(binding.aor, binding.contact)] = None
        for binding in added:
            self.pending[(binding.aor, binding.contact)] = binding

    def flush(self) -> Deferred:
        """
        Write the pending changes, unless a write is still running (the
        next flush takes them).  On a database error they stay pending,
        behind any newer change, and the next flush tries again.

        @return: fires when this flush's write is over (never fails).
        """
        if self._busy is not None or not self.pending:
            return succeed(None)
        pending, self.pending = self.pending, {}
        saved = [bindingToRow(b) for b in pending.values() if b is not None]
        deleted = [key for key, b in pending.items() if b is None]
        self._busy = busy = self._run(self._write, saved, deleted)
        busy.addErrback(self._failed, pending)
        busy.addBoth(self._done)
        return busy

    def stop(self) -> Deferred:
        """
        Write everything: after the write in flight, if any, the changes
        still pending.  @return: fires when done (never fails).
        """
        if self._busy is None:
            return self.flush()
        return afterWrite(self._busy, self.flush)

    def _failed(self, failure, pending: dict) -> None:
        self._log.failure("could not store {n} binding changes", failure, n=len(pending))
        pending.update(self.pending)
        self.pending = pending

    def _done(self, _) -> None:
        self._busy = None
