# -*- test-case-name: tests.pbx.test_legindex -*-
"""
Where a SIP message finds its call leg: by dialog (Call-ID and our tag,
RFC 3261 sec. 12), by the server INVITE transaction a CANCEL names (sec.
9.2), by the client transaction a response answers (sec. 17.1.3).

Why a class of its own: a leg is filed in several tables over its life,
and an ended call must leave none of them holding it -- nor may a held
call keep entries of transactions long ended.  So each leg notes where it
is filed (C{Leg.entries}), forgetting a leg costs its own entries rather
than a scan of every table, and an ended transaction takes its entry off
the leg as well.
"""

from __future__ import annotations

__all__ = ["LegIndex"]


class LegIndex:
    """
    The call manager's tables of live legs.

    @ivar dialogs: C{(callId, ourTag) -> Leg} for every live leg.
    """

    __slots__ = ("dialogs", "_serverInvites", "_clientTransactions")

    def __init__(self):
        self.dialogs: dict = {}
        self._serverInvites: dict = {}
        self._clientTransactions: dict = {}

    @property
    def transactions(self) -> int:
        """How many transactions are filed (leak checks)."""
        return len(self._serverInvites) + len(self._clientTransactions)

    def addDialog(self, callId: str, ourTag: str | None, leg) -> None:
        """File C{leg} as the dialog C{callId} with our tag C{ourTag}."""
        _file(self.dialogs, (callId, ourTag), leg)

    def addServerInvite(self, transaction, leg) -> None:
        """File C{leg} as the owner of the INVITE server C{transaction}."""
        _file(self._serverInvites, transaction, leg)

    def addClientTransaction(self, transaction, leg) -> None:
        """File C{leg} as the sender of the client C{transaction}."""
        _file(self._clientTransactions, transaction, leg)

    def byDialog(self, callId: str, ourTag: str | None):
        """@return: the leg of that dialog, or L{None}."""
        return self.dialogs.get((callId, ourTag))

    def byServerInvite(self, transaction):
        """@return: the leg whose INVITE C{transaction} is, or L{None}."""
        return self._serverInvites.get(transaction)

    def byClientTransaction(self, transaction):
        """@return: the leg that sent C{transaction}, or L{None}."""
        return self._clientTransactions.get(transaction)

    def transactionEnded(self, transaction):
        """
        Unfile the ended C{transaction}.

        @return: the leg that sent it (a client transaction), or L{None}.
        """
        _unfile(self._serverInvites, transaction)
        return _unfile(self._clientTransactions, transaction)

    def forget(self, leg) -> None:
        """Unfile C{leg} from every table."""
        for table, key in leg.entries:
            if table.get(key) is leg:
                del table[key]
        leg.entries.clear()


def _file(table: dict, key, leg) -> None:
    """File C{leg} under C{key}, noting it on the leg."""
    table[key] = leg
    leg.entries.append((table, key))


def _unfile(table: dict, key):
    """
    Pop C{key} and the leg's note of it.

    @return: the leg filed under C{key}, or L{None}.
    """
    leg = table.pop(key, None)
    if leg is not None:
        leg.entries = [entry for entry in leg.entries if entry[1] is not key]
    return leg
