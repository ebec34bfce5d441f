# -*- test-case-name: tests.sip.test_layer -*-
"""
The transaction layer: matching messages to transactions (RFC 3261 sec.
17.1.3, 17.2.3) and keeping their timers, sans-IO.

The four machines of L{tpbx.sip.transaction} know what to do with one
input; this layer decides which machine an incoming message belongs to,
creates server transactions for new requests, files client transactions
the TU starts, and owns the one heap of deadlines.  Like aioquic's
C{QuicConnection} it never reads a clock: every call takes C{now}, returns
actions, and L{TransactionLayer.nextDeadline} tells the caller when to come
back through L{TransactionLayer.handleTimers}.

Tables are dicts keyed the way sec. 17 matches, so every lookup is O(1).
Timers are a heap with lazy deletion: a cancelled timer stays in the heap
until it surfaces and is skipped, and the heap is rebuilt when dead entries
outnumber live ones, so neither cancelling nor firing ever scans.  An entry
names its transaction by table and key, not by reference: an ended
transaction (its request, its last response) is freed at once, not when its
cancelled Timer B or F surfaces 32 s later -- under load that is thousands
of messages kept for nothing.

Far deadlines (L{FAR} or more away: Timers B, F, H, D, I, J, K, L, M and
retransmissions past a second, a good half of all) are put off to the next
1/L{GRID} s and wait in that tenth's slot, a list append each, with one
heap entry for the slot.  Most are cancelled long before (Timer B or F by
the response, within milliseconds), so they never cost a heap push, a pop
or a place in a compaction; and the thousands that expire each second
under load fire together, ten times a second, rather than one reactor
timer each.  Retransmission timers under a second (T1 = 500 ms) and the
100 Trying wait stay exact.
"""

from __future__ import annotations

import heapq
import itertools
import math

from tpbx.errors import ProtocolError
from tpbx.sip.address import parseNameAddr
from tpbx.sip.message import Request, Response
from tpbx.sip.peer import Peer
from tpbx.sip.timers import TimerConfig
from tpbx.sip.transaction import (
    ClientInvite, ClientNonInvite, ClientTransaction, Input, RequestReceived,
    ResponseReceived, SendMessage, ServerInvite, ServerNonInvite,
    ServerTransaction, State, Transaction, TransactionTerminated,
)
from tpbx.sip.via import MAGIC_COOKIE, Via, topViaOf

__all__ = [
    "TransactionLayer", "SendMessage", "RequestReceived", "ResponseReceived",
    "TransactionTerminated", "serverKey",
]

# Below this many heap entries, never bother compacting.
_MIN_COMPACT = 1024

#: Seconds ahead from which a deadline is put off to the grid...
FAR = 1.0
#: ...of 1/GRID s.
GRID = 10


def _topVia(message: Request | Response) -> Via:
    """
    @return: the parsed top Via of C{message}.
    @raise ProtocolError: (400) when there is none or it is malformed.
    """
    return topViaOf(message.headers)


def _wanted(slot: int, entries: list):
    """
    The timers among a far-deadline slot's C{entries} (a flat list:
    table, key, name, ...) still wanted there.  One cancelled since, or
    set again for a later slot (it waits there), is left out: the
    transaction's own deadline says which, put on the grid as
    L{TransactionLayer._schedule} did (compared with the clock instead, a
    deadline an ulp past the slot's time would be lost).

    @return: an iterator of C{(table, key, name, transaction, deadline)}.
    """
    flat = iter(entries)
    for table, key, name in zip(flat, flat, flat):
        transaction = table.get(key)
        at = None if transaction is None else transaction.deadlines.get(name)
        if at is not None and math.ceil(at * GRID) <= slot:
            yield table, key, name, transaction, at


def serverKey(request: Request, method: str | None = None) -> tuple:
    """
    The key that matches C{request} to a server transaction (sec. 17.2.3).

    With an RFC 3261 branch: the branch, the sent-by and the method, an ACK
    counting as INVITE.  Without the magic cookie (RFC 2543 peers): the
    Request-URI, tags, Call-ID, CSeq number, top Via and method.  The To
    tag is left out for INVITE and ACK, because the ACK carries the tag of
    the response while the INVITE had none.

    @param method: the method to match as (C{"INVITE"} to find what a
        CANCEL cancels, sec. 9.2); by default the request's own.
    @raise ProtocolError: (400) for a missing or malformed Via, or (RFC
        2543 keys only) a malformed From, To or CSeq.  The parser has
        already checked that the CSeq method is the request's.
    """
    via = _topVia(request)
    if method is None:
        method = "INVITE" if request.method == "ACK" else request.method
    branch = via.branch
    if branch is not None and branch.startswith(MAGIC_COOKIE):
        return (branch, via.host, via.port, method)
    toTag = None
    if method != "INVITE":
        toTag = parseNameAddr(request.headers.get("To", "")).tag
    fromTag = parseNameAddr(request.headers.get("From", "")).tag
    return ("2543", request.uri, toTag, fromTag, request.callId,
            request.cseq[0], str(via), method)


class TransactionLayer:
    """
    Every live transaction of one SIP stack, and their timers.

    @ivar timers: the L{TimerConfig} given to every transaction.
    """

    def __init__(self, timers: TimerConfig = TimerConfig()):
        self.timers = timers
        self._clients: dict[tuple, ClientTransaction] = {}
        self._servers: dict[tuple, ServerTransaction] = {}
        # (time, sequence, table, key, timer name), or (time, sequence,
        # None, slot, None) for a slot of far deadlines: see the module
        # docstring.
        self._heap: list[tuple[float, int, dict | None, tuple | int, str | None]] = []
        self._slots: dict[int, list] = {}   # time * GRID -> timers due then
        self._slotted = 0   # timers in the slots
        self._slotsCompactAt = _MIN_COMPACT
        self._sequence = itertools.count()
        self._compactAt = _MIN_COMPACT
        self._earliestNew: float | None = None
        # The C{now} of the call being served: what "far" is measured from.
        self._now = 0.0
        # One bound method for every transaction to call: reading
        # C{self._schedule} makes a new one each time, which each
        # transaction would keep (a BYE's for 32 s).
        self._scheduler = self._schedule

    def __len__(self) -> int:
        return len(self._clients) + len(self._servers)

    def counts(self) -> dict[str, int]:
        """
        @return: live client and server transactions and pending timers,
            for tests and leak checks.
        """
        return {
            "client": len(self._clients),
            "server": len(self._servers),
            "timers": sum(len(t.deadlines) for t in self._all()),
        }

    # Messages from the transport

    def receiveRequest(self, request: Request, peer: Peer,
                       now: float) -> list:
        """
        A request arrived (sec. 17.2.3).  A retransmission, or the ACK for
        a non-2xx response, goes to its transaction; an ACK matching none
        goes to the TU with transaction L{None}; anything else starts a
        server transaction.

        A new INVITE's transaction sends 100 Trying by itself if the TU
        does not answer within 200 ms (L{ServerInvite.start}).

        @return: the actions.
        @raise ProtocolError: (400) when the request cannot be matched
            (no or bad Via); the caller answers it statelessly.
        """
        self._now = now
        key = serverKey(request)
        transaction = self._servers.get(key)
        if transaction is not None:
            return self._after(transaction, transaction.receive(request, now))
        if request.method == "ACK":
            return [RequestReceived(request, None)]
        kind = ServerInvite if request.method == "INVITE" else ServerNonInvite
        transaction = self._servers[key] = kind(key, request, peer, self.timers,
                                                self._scheduler)
        return transaction.start(now)

    def receiveResponse(self, response: Response, peer: Peer,
                        now: float) -> list:
        """
        A response arrived; match it by top Via branch and CSeq method
        (sec. 17.1.3).  One that matches nothing (a 2xx retransmission, a
        late response) goes to the TU with transaction L{None}.

        @return: the actions.
        @raise ProtocolError: (400) for a missing or malformed Via or CSeq;
            the caller drops the response.
        """
        self._now = now
        key = (_topVia(response).branch, response.cseq[1])
        transaction = self._clients.get(key)
        if transaction is None:
            return [ResponseReceived(response, None)]
        return self._after(transaction, transaction.receive(response, now))

    def transportError(self, transaction: Transaction, now: float) -> list:
        """
        Sending for C{transaction} failed (sec. 17.1.4, 17.2.4): it ends.

        @return: the actions.
        """
        self._now = now
        return self._after(transaction, transaction.transportError(now))

    # What the TU asks for

    def sendRequest(self, request: Request, peer: Peer,
                    now: float) -> tuple[ClientTransaction | None, list]:
        """
        Start a client transaction for C{request}, which already carries
        its top Via with a C{z9hG4bK} branch (sec. 8.1.1.7).

        An ACK (for a 2xx; the ACK for other finals is the transaction's
        own) is sent with no transaction (sec. 17.1.1.3).  A CANCEL needs
        the INVITE with the same branch to be in Proceeding (sec. 9.1) and
        bounds it: with no final response 64*T1 later, it ends.

        @return: C{(transaction, actions)}; the transaction is L{None} for
            an ACK.
        @raise ProtocolError: for a missing or cookie-less branch, a
            duplicate branch, or a CANCEL with nothing to cancel (481) or
            sent too early or too late (sec. 9.1).
        """
        if request.method == "ACK":
            return None, [SendMessage(request, peer)]
        self._now = now
        branch = _topVia(request).branch
        if branch is None or not branch.startswith(MAGIC_COOKIE):
            raise ProtocolError("Client requests need a z9hG4bK branch")
        key = (branch, request.cseq[1])
        if key in self._clients:
            raise ProtocolError("A client transaction has that branch")
        actions = []
        if request.method == "CANCEL":
            invite = self._clients.get((branch, "INVITE"))
            if invite is None:
                raise ProtocolError("No INVITE transaction to cancel", 481)
            actions = invite.handle(Input.CANCEL, now)
        kind = ClientInvite if request.method == "INVITE" else ClientNonInvite
        transaction = kind(key, request, peer, self.timers, self._scheduler)
        self._clients[key] = transaction
        return transaction, actions + transaction.start(now)

    def sendResponse(self, transaction: ServerTransaction,
                     response: Response, now: float) -> list:
        """
        Send C{response} in server transaction C{transaction}.  Nothing is
        sent once the transaction has ended (the TU hears of that through
        L{TransactionTerminated}).

        @return: the actions.
        @raise ProtocolError: if the transaction's state forbids it.
        """
        self._now = now
        return self._after(transaction, transaction.respond(response, now))

    def forget(self, transaction: ServerTransaction) -> None:
        """
        Drop C{transaction} without ending it: no actions, no
        L{TransactionTerminated}.  For a request its TU answered outside
        any transaction (sec. 8.2.7); its pending timers find no
        transaction under its key and fire nothing.
        """
        if self._servers.get(transaction.key) is transaction:
            del self._servers[transaction.key]

    def findServerTransaction(self, request: Request) -> ServerInvite | None:
        """
        The INVITE server transaction a CANCEL is for (sec. 9.2): the one
        the CANCEL would match were its method INVITE.

        @return: the transaction, or L{None}.
        """
        transaction = self._servers.get(serverKey(request, "INVITE"))
        return transaction if isinstance(transaction, ServerInvite) else None

    def transactionsFor(self, peer: Peer) -> list[Transaction]:
        """
        @return: every live transaction bound to C{peer}, for reporting a
            transport error (rare, so a scan is fine).
        """
        return [t for t in self._all() if t.peer == peer]

    # Timers

    def handleTimers(self, now: float) -> list:
        """
        Fire every timer due at C{now}.

        @return: the actions.
        """
        self._now = now
        actions = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            at, _, table, key, name = heapq.heappop(heap)
            if table is None:
                entries = self._slots.pop(key, ())
                self._slotted -= len(entries) // 3
                actions.extend(self._fireSlot(key, entries, now))
                continue
            transaction = table.get(key)
            if transaction is None:
                continue
            fired = transaction.timerFired(name, at, now)
            if fired is not None:
                actions.extend(self._after(transaction, fired))
        return actions

    def _fireSlot(self, slot: int, entries: list, now: float) -> list:
        """
        Fire the timers of C{slot} (its C{entries}) that are still due.

        @return: the actions.
        """
        actions = []
        for _, _, name, transaction, at in _wanted(slot, entries):
            fired = transaction.timerFired(name, at, now)
            if fired is not None:
                actions.extend(self._after(transaction, fired))
        return actions

    def nextDeadline(self) -> float | None:
        """
        @return: when L{handleTimers} must next be called, or L{None}.
        """
        self._earliestNew = None
        heap = self._heap
        if not self._clients and not self._servers:
            # Nothing live: what is left is stale (cancelled far deadlines).
            heap.clear()
            self._slots.clear()
            self._slotted = 0
            return None
        live = self._live
        while heap:
            if live(heap[0]):
                return heap[0][0]
            heapq.heappop(heap)
        return None

    def newDeadline(self) -> float | None:
        """
        @return: the earliest deadline scheduled since the last call of
            this method or of L{nextDeadline} (perhaps stale already), or
            L{None} when none was: a caller whose timer is armed for the
            next deadline needs to look again only then, not after every
            message.
        """
        at, self._earliestNew = self._earliestNew, None
        return at

    def _schedule(self, transaction: Transaction, name: str,
                  at: float) -> None:
        table = self._tableOf(transaction)
        if at - self._now >= FAR:
            # A slot is a flat list, table, key, name, table, ...: it
            # allocates nothing per entry, for up to 32 s (the due time is
            # the transaction's own; see L{_fireSlot}).
            slot = math.ceil(at * GRID)
            self._slotted += 1
            if self._slotted > self._slotsCompactAt:
                self._compactSlots()
            entries = self._slots.get(slot)
            if entries is not None:
                entries += (table, transaction.key, name)
                return
            self._slots[slot] = [table, transaction.key, name]
            at = slot / GRID
            entry = (at, next(self._sequence), None, slot, None)
        else:
            entry = (at, next(self._sequence), table, transaction.key, name)
        if self._earliestNew is None or at < self._earliestNew:
            self._earliestNew = at
        heapq.heappush(self._heap, entry)
        if len(self._heap) > self._compactAt:
            self._compact()

    def _compact(self) -> None:
        """Drop the heap's stale entries (the slots keep theirs until
        they are due)."""
        # In place: L{handleTimers} may be walking this very list.
        self._heap[:] = filter(self._live, self._heap)
        heapq.heapify(self._heap)
        self._compactAt = max(_MIN_COMPACT, 2 * len(self._heap))

    def _compactSlots(self) -> None:
        """
        Drop the slots' timers whose transaction has ended or no longer
        wants them there (L{_wanted}: cancelled, or set again later), once
        they outnumber the live ones: a cancelled Timer B or F would
        otherwise keep its transaction's key for 32 s, megabytes under
        load, scattered among the held calls' objects.
        """
        kept = 0
        for slot, entries in list(self._slots.items()):
            live = []
            for table, key, name, _, _ in _wanted(slot, entries):
                live += (table, key, name)
            if live:
                self._slots[slot] = live
                kept += len(live) // 3
            else:
                del self._slots[slot]   # its heap entry is stale now
        self._slotted = kept
        self._slotsCompactAt = max(_MIN_COMPACT, 2 * kept)

    def _live(self, entry: tuple) -> bool:
        """@return: whether heap entry C{entry} is still wanted."""
        at, _, table, key, name = entry
        if table is None:
            return key in self._slots
        transaction = table.get(key)
        return transaction is not None and transaction.deadlines.get(name) == at

    # Tables

    def _all(self):
        return itertools.chain(self._clients.values(), self._servers.values())

    def _tableOf(self, transaction: Transaction) -> dict:
        """@return: the table C{transaction} is filed in."""
        return (self._clients if isinstance(transaction, ClientTransaction)
                else self._servers)

    def _after(self, transaction: Transaction, actions: list) -> list:
        """Forget C{transaction} if these actions ended it."""
        if transaction.state is State.TERMINATED:
            table = self._tableOf(transaction)
            if table.get(transaction.key) is transaction:
                del table[transaction.key]
        return actions
