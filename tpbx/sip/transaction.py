# -*- test-case-name: tests.sip.test_transaction -*-
"""
The four transaction state machines of RFC 3261 sec. 17, as data.

Each machine is a table C{(State, Input) -> (handler, nextState)}, in the
style of h2's C{_transitions}: the table is the specification (each one
transcribes a figure of sec. 17), and a pair that is not in the table raises
L{ProtocolError} instead of doing something half-right.  Pairs the RFC
says to absorb (a retransmitted response in Completed, an ACK in Confirmed)
are rows whose handler does nothing.

The machines are sans-IO: they read no clock and send nothing.  They are
fed a C{now}, a message and an L{Input}, and return actions (L{SendMessage},
L{RequestReceived}, L{ResponseReceived}, L{TransactionTerminated}).  Timers
are kept as C{name -> time} in C{deadlines}; the owner (the
L{tpbx.sip.layer.TransactionLayer}) is told of each new one through the
C{schedule} callback and fires them with L{Transaction.timerFired}.  A
timer whose duration is zero (Timers D, I, J, K over reliable transports)
fires at once, inside the same call.

Deliberately plain RFC 3261 (no RFC 6026): a server INVITE transaction ends
when it sends a 2xx, a client INVITE transaction ends when it receives one;
2xx retransmissions and the ACK for a 2xx belong to the TU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar

from tpbx.errors import ProtocolError
from tpbx.sip.headers import Headers, splitCommas
from tpbx.sip.message import Request, Response
from tpbx.sip.peer import Peer
from tpbx.sip.reply import makeResponse
from tpbx.sip.states import StateEnum
from tpbx.sip.timers import TimerConfig

__all__ = [
    "State", "Input", "SendMessage", "RequestReceived", "ResponseReceived",
    "TransactionTerminated", "Transaction", "ClientTransaction",
    "ServerTransaction", "ClientInvite", "ClientNonInvite", "ServerInvite",
    "ServerNonInvite", "TIMER_INPUTS",
]


class State(StateEnum):
    """Transaction states, as the figures of sec. 17 name them."""

    CALLING = "Calling"
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    TERMINATED = "Terminated"


class Input(StateEnum):
    """What can happen to a transaction (the arrows of Figures 5-8)."""

    PROVISIONAL = "1xx from TL"
    SUCCESS = "2xx from TL"
    FAILURE = "300-699 from TL"
    REQUEST = "request retransmission from TL"
    ACK = "ACK from TL"
    SEND_PROVISIONAL = "1xx from TU"
    SEND_SUCCESS = "2xx from TU"
    SEND_FAILURE = "300-699 from TU"
    CANCEL = "CANCEL sent by TU"
    TIMER_A = "Timer A fires"
    TIMER_B = "Timer B fires"
    TIMER_D = "Timer D fires"
    TIMER_E = "Timer E fires"
    TIMER_F = "Timer F fires"
    TIMER_G = "Timer G fires"
    TIMER_H = "Timer H fires"
    TIMER_I = "Timer I fires"
    TIMER_J = "Timer J fires"
    TIMER_K = "Timer K fires"
    TIMER_TRYING = "the TU did not answer in time"
    TRANSPORT_ERROR = "transport error"


TIMER_INPUTS = {name: Input[f"TIMER_{name}"] for name in "ABDEFGHIJK"}
# What a transaction waiting after its final response keeps of its
# request: the fields that name it (sec. 8.2.2.2, 17.2.3), for its owner's
# tables.
_NAMING = frozenset({"Via", "From", "To", "Call-ID", "CSeq"})
# The INVITE server transaction's own wait for its TU (sec. 17.2.1).
TRYING = "Trying"
TIMER_INPUTS[TRYING] = Input.TIMER_TRYING

# Status class (status // 100) -> input, for responses received and sent.
_RECEIVED = (None, Input.PROVISIONAL, Input.SUCCESS) + (Input.FAILURE,) * 4
_SENT = (None, Input.SEND_PROVISIONAL, Input.SEND_SUCCESS) + (
    Input.SEND_FAILURE,) * 4

# Why a transaction ended, by the input that ended it (ITransactionUser).
_END_REASONS = {
    Input.TIMER_B: "timeout", Input.TIMER_F: "timeout",
    Input.TIMER_H: "timeout", Input.TRANSPORT_ERROR: "transport-error",
}


# The actions below (and those of L{tpbx.sip.inviteactions}) are made for
# every message and read once by the engine: plain slotted dataclasses, not
# frozen ones, whose generated __init__ sets each field through
# object.__setattr__ (four times the cost: several of them per message).
@dataclass(slots=True)
class SendMessage:
    """Pass C{message} to the transport for C{peer} (sec. 18)."""

    message: Request | Response
    peer: Peer


@dataclass(slots=True)
class RequestReceived:
    """Deliver C{request} to the TU; C{transaction} is L{None} for a stray
    ACK (the ACK for a 2xx, sec. 17.2.3)."""

    request: Request
    transaction: "ServerTransaction | None"


@dataclass(slots=True)
class ResponseReceived:
    """Deliver C{response} to the TU; C{transaction} is L{None} for a stray
    response, such as a 2xx retransmission (sec. 17.1.1.2)."""

    response: Response
    transaction: "ClientTransaction | None"


@dataclass(slots=True)
class TransactionTerminated:
    """C{transaction} ended: C{reason} is C{"completed"}, C{"timeout"} or
    C{"transport-error"}."""

    transaction: "Transaction"
    reason: str


def _statusClass(status: int, inputs: tuple) -> Input:
    """@raise ProtocolError: for a status outside 100-699 (sec. 7.2)."""
    if not 100 <= status <= 699:
        raise ProtocolError(f"Bad status code {status}")
    return inputs[status // 100]


class Transaction:
    """
    What the four machines share: the table walk and the timers.

    @ivar key: the matching key the layer filed this transaction under.
    @ivar request: the request that created it; once the waits after
        the final response begin, only what names it (L{_keepNaming}).
    @ivar peer: where requests go (client) or came from (server).
    @ivar state: the current L{State}.
    @ivar lastResponse: the last response received (client) or sent
        (server); a completed non-INVITE client transaction keeps none.
    @ivar deadlines: pending timers, C{name -> time} (one of each name).
    """

    __slots__ = ("key", "request", "peer", "state", "lastResponse",
                 "deadlines", "_timers", "_schedule", "_interval", "_due")

    INITIAL: ClassVar[State]
    TABLE: ClassVar[dict[tuple[State, Input], tuple[Callable, State]]]

    def __init__(self, key, request: Request, peer: Peer,
                 timers: TimerConfig = TimerConfig(),
                 schedule: Callable | None = None):
        """
        @param schedule: called as C{schedule(transaction, name, time)} for
            every timer started, so the owner can file it in its heap.
        """
        self.key = key
        self.request = request
        self.peer = peer
        self.state = self.INITIAL
        self.lastResponse: Response | None = None
        self.deadlines: dict[str, float] = {}
        self._timers = timers
        self._schedule = schedule
        self._interval = 0.0
        # Timers of zero duration (reliable transports) waiting to fire at
        # the end of L{handle}: a list only while one waits, not one per
        # transaction for its whole life.
        self._due: list[Input] | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.state.value} {self.key!r}>"

    def handle(self, event: Input, now: float, message=None) -> list:
        """
        Apply one input.

        @param message: the message that came with it, if any.
        @return: the actions to carry out, in order.
        @raise ProtocolError: if C{(state, event)} is not in the table.
        """
        try:
            handler, nextState = self.TABLE[self.state, event]
        except KeyError:
            raise ProtocolError(
                f"{type(self).__name__}: {event.value} not allowed in "
                f"{self.state.value}") from None
        actions = handler(self, message, now)
        if nextState is not self.state:
            self.state = nextState
            if nextState is State.TERMINATED:
                # sec. 17.1.1.2 etc.: "MUST be destroyed immediately".
                self.deadlines.clear()
                self._due = None
                actions.append(TransactionTerminated(
                    self, _END_REASONS.get(event, "completed")))
        while self._due:
            due = self._due.pop(0)
            if not self._due:
                self._due = None
            actions.extend(self.handle(due, now))
        return actions

    def timerFired(self, name: str, at: float, now: float) -> list | None:
        """
        Fire timer C{name} scheduled for C{at}.

        @return: the actions, or L{None} when that timer is no longer
            pending (cancelled or restarted since it was scheduled).
        """
        deadlines = self.deadlines
        if deadlines.get(name) != at:
            return None
        del deadlines[name]
        return self.handle(TIMER_INPUTS[name], now)

    def transportError(self, now: float) -> list:
        """
        The transport failed to send for us (sec. 17.1.4, 17.2.4).

        @return: the actions; none if the transaction had already ended.
        """
        if self.state is State.TERMINATED:
            return []
        return self.handle(Input.TRANSPORT_ERROR, now)

    # Timers

    def _start(self, name: str, duration: float, now: float) -> None:
        """Start timer C{name}; a zero duration fires it at once."""
        if duration <= 0:
            if self._due is None:
                self._due = []
            self._due.append(TIMER_INPUTS[name])
            return
        self._startAt(name, now + duration)

    def _startAt(self, name: str, at: float) -> None:
        """Start timer C{name} to fire at C{at}."""
        self.deadlines[name] = at
        if self._schedule is not None:
            self._schedule(self, name, at)

    def _stop(self, *names: str) -> None:
        """Cancel timers by name."""
        deadlines = self.deadlines
        for name in names:
            deadlines.pop(name, None)

    def _startRetransmit(self, name: str, interval: float, now: float) -> None:
        """Start a retransmission timer (A, E or G) with C{interval}."""
        self._interval = interval
        self._start(name, interval, now)

    # Handlers shared by the tables: handler(self, message, now) -> actions

    def _absorb(self, message, now: float) -> list:
        """Nothing to do (a retransmission to swallow, or a timer whose
        only effect is the transition)."""
        return []

    def _sendResponse(self, response: Response, now: float) -> list:
        self.lastResponse = response
        return [SendMessage(response, self.peer)]

    def _resendResponse(self, message, now: float) -> list:
        """Answer a request retransmission with the last response sent
        (sec. 17.2.1, 17.2.2)."""
        if self.lastResponse is None:
            return []
        return [SendMessage(self.lastResponse, self.peer)]

    def _deliver(self, response: Response, now: float) -> list:
        self.lastResponse = response
        return [ResponseReceived(response, self)]

    def _keepNaming(self) -> None:
        """
        Keep of the request only its method, Request-URI and the fields
        that name it (L{_NAMING}): what the owner's tables and the end of
        the transaction still read.  For the waits after the final
        response (Timers I, J, K), where the transaction only absorbs or
        answers retransmissions: a BYE's server transaction waits 32 s
        over UDP, so every call leaves one, and its parsed request was
        most of what the cyclic collector walked at a few hundred calls a
        second.  The tuples are the request's own: nothing is copied.
        Over a reliable transport the wait is zero and the transaction
        ends at once: nothing to do.
        """
        if self.peer.reliable:
            return
        request = self.request
        self.request = Request(request.method, request.uri, Headers.canonical(
            [field for field in request.headers if field[0] in _NAMING]))


class ClientTransaction(Transaction):
    """A client transaction (sec. 17.1): sends the request, gets responses."""

    __slots__ = ()

    def receive(self, response: Response, now: float) -> list:
        """
        A response matched this transaction (sec. 17.1.3).

        @return: the actions.
        """
        return self.handle(_statusClass(response.status, _RECEIVED), now,
                           response)

    def _resend(self, message, now: float) -> list:
        return [SendMessage(self.request, self.peer)]


class ServerTransaction(Transaction):
    """A server transaction (sec. 17.2): gets the request, sends responses."""

    __slots__ = ()

    def start(self, now: float) -> list:
        """@return: the actions announcing the new request to the TU."""
        return [RequestReceived(self.request, self)]

    def receive(self, request: Request, now: float) -> list:
        """
        A request matched this transaction: a retransmission, or the ACK
        for a non-2xx final response (sec. 17.2.3).

        @return: the actions.
        """
        event = Input.ACK if request.method == "ACK" else Input.REQUEST
        return self.handle(event, now, request)

    def respond(self, response: Response, now: float) -> list:
        """
        The TU passes a response to send.

        @return: the actions; none if the transaction has already ended.
        @raise ProtocolError: if this state does not allow that response.
        """
        if self.state is State.TERMINATED:
            return []
        return self.handle(_statusClass(response.status, _SENT), now,
                           response)


_C, _T, _P = State.CALLING, State.TRYING, State.PROCEEDING
_CO, _CF, _X = State.COMPLETED, State.CONFIRMED, State.TERMINATED
_ABSORB = Transaction._absorb


class ClientInvite(ClientTransaction):
    """The INVITE client transaction (sec. 17.1.1, Figure 5)."""

    __slots__ = ("ack",)
    INITIAL = State.CALLING

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ack: Request | None = None

    def start(self, now: float) -> list:
        """
        Send the INVITE and start Timers A and B (sec. 17.1.1.2).

        @return: the actions.
        """
        # Timer A only over unreliable transports, B always.
        if not self.peer.reliable:
            self._startRetransmit("A", self._timers.timerA, now)
        self._start("B", self._timers.timerB, now)
        return [SendMessage(self.request, self.peer)]

    def _retransmitA(self, message, now: float) -> list:
        # Timer A doubles each time, with no cap (sec. 17.1.1.2).
        self._startRetransmit("A", 2 * self._interval, now)
        return self._resend(message, now)

    def _firstProvisional(self, response: Response, now: float) -> list:
        # Proceeding: no more retransmissions; Timer B only guards Calling.
        self._stop("A", "B")
        return self._deliver(response, now)

    def _failure(self, response: Response, now: float) -> list:
        self._stop("A", "B")
        self.ack = self.buildAck(response)
        self._start("D", self._timers.timerD(self.peer.reliable), now)
        return [SendMessage(self.ack, self.peer)] + self._deliver(response, now)

    def _resendAck(self, response: Response, now: float) -> list:
        # sec. 17.1.1.2: re-send the ACK, do not bother the TU.
        return [SendMessage(self.ack, self.peer)]

    def _stray(self, response: Response, now: float) -> list:
        return [ResponseReceived(response, None)]

    def _cancelGuard(self, message, now: float) -> list:
        # sec. 9.1: with no final response 64*T1 after the CANCEL, consider
        # the INVITE cancelled and destroy its transaction.
        self._start("B", self._timers.timerB, now)
        return []

    def buildAck(self, response: Response) -> Request:
        """
        The ACK for a non-2xx final response (sec. 17.1.1.3): the INVITE's
        Request-URI, Call-ID, From, CSeq number, top Via and Route headers,
        and the To of the response.

        @return: the ACK request.
        """
        request = self.request
        headers = Headers()
        headers.add("Via", splitCommas(request.headers.get("Via", ""))[0])
        headers.add("Max-Forwards", "70")
        for route in request.headers.getAll("Route"):
            headers.add("Route", route)
        headers.add("From", request.headers.get("From", ""))
        headers.add("To", response.headers.get("To", ""))
        headers.add("Call-ID", request.callId)
        headers.add("CSeq", f"{request.cseq[0]} ACK")
        return Request("ACK", request.uri, headers)

    TABLE = {
        (_C, Input.TIMER_A): (_retransmitA, _C),
        (_C, Input.TIMER_B): (_ABSORB, _X),
        (_C, Input.PROVISIONAL): (_firstProvisional, _P),
        (_C, Input.SUCCESS): (Transaction._deliver, _X),
        (_C, Input.FAILURE): (_failure, _CO),
        (_C, Input.TRANSPORT_ERROR): (_ABSORB, _X),
        (_P, Input.PROVISIONAL): (Transaction._deliver, _P),
        (_P, Input.SUCCESS): (Transaction._deliver, _X),
        (_P, Input.FAILURE): (_failure, _CO),
        (_P, Input.CANCEL): (_cancelGuard, _P),
        (_P, Input.TIMER_B): (_ABSORB, _X),
        (_P, Input.TRANSPORT_ERROR): (_ABSORB, _X),
        (_CO, Input.PROVISIONAL): (_ABSORB, _CO),
        (_CO, Input.SUCCESS): (_stray, _CO),
        (_CO, Input.FAILURE): (_resendAck, _CO),
        (_CO, Input.TIMER_D): (_ABSORB, _X),
        (_CO, Input.TRANSPORT_ERROR): (_ABSORB, _X),
    }


class ClientNonInvite(ClientTransaction):
    """The non-INVITE client transaction (sec. 17.1.2, Figure 6)."""

    __slots__ = ()
    INITIAL = State.TRYING

    def start(self, now: float) -> list:
        """
        Send the request and start Timers E and F (sec. 17.1.2.2).

        @return: the actions.
        """
        # Timer E only over unreliable transports, F always.
        if not self.peer.reliable:
            self._startRetransmit("E", self._timers.timerE, now)
        self._start("F", self._timers.timerF, now)
        return [SendMessage(self.request, self.peer)]

    def _retransmitTrying(self, message, now: float) -> list:
        self._startRetransmit("E", self._timers.backoff(self._interval), now)
        return self._resend(message, now)

    def _retransmitProceeding(self, message, now: float) -> list:
        # sec. 17.1.2.2: in Proceeding Timer E is reset to T2.
        self._startRetransmit("E", self._timers.t2, now)
        return self._resend(message, now)

    def _final(self, response: Response, now: float) -> list:
        """The final response: the TU has it, and Timer K only absorbs
        its retransmissions, so neither it nor the whole request is kept."""
        self._stop("E", "F")
        self._start("K", self._timers.timerK(self.peer.reliable), now)
        self.lastResponse = None   # not even a provisional one
        self._keepNaming()
        return [ResponseReceived(response, self)]

    TABLE = {
        (_T, Input.TIMER_E): (_retransmitTrying, _T),
        (_T, Input.TIMER_F): (_ABSORB, _X),
        (_T, Input.PROVISIONAL): (Transaction._deliver, _P),
        (_T, Input.SUCCESS): (_final, _CO),
        (_T, Input.FAILURE): (_final, _CO),
        (_T, Input.TRANSPORT_ERROR): (_ABSORB, _X),
        (_P, Input.TIMER_E): (_retransmitProceeding, _P),
        (_P, Input.TIMER_F): (_ABSORB, _X),
        (_P, Input.PROVISIONAL): (Transaction._deliver, _P),
        (_P, Input.SUCCESS): (_final, _CO),
        (_P, Input.FAILURE): (_final, _CO),
        (_P, Input.TRANSPORT_ERROR): (_ABSORB, _X),
        (_CO, Input.PROVISIONAL): (_ABSORB, _CO),
        (_CO, Input.SUCCESS): (_ABSORB, _CO),
        (_CO, Input.FAILURE): (_ABSORB, _CO),
        (_CO, Input.TIMER_K): (_ABSORB, _X),
        (_CO, Input.TRANSPORT_ERROR): (_ABSORB, _X),
    }


class ServerInvite(ServerTransaction):
    """The INVITE server transaction (sec. 17.2.1, Figure 7)."""

    __slots__ = ()
    INITIAL = State.PROCEEDING

    def start(self, now: float) -> list:
        """
        Pass the INVITE to the TU and give it until
        L{TimerConfig.tryingAt} to answer, after which this transaction
        sends 100 Trying itself (sec. 17.2.1, Figure 7: "send 100 if TU
        won't in 200ms").  A TU that answers at once (a 407 challenge)
        needs no 100, and a B2BUA's usually relays the callee's 180 well
        within the wait: the 100 is then never sent.

        @return: the actions announcing the new request to the TU.
        """
        self._startAt(TRYING, self._timers.tryingAt(now))
        return ServerTransaction.start(self, now)

    def _sendTrying(self, message, now: float) -> list:
        """Timer Trying: the TU has not answered; 100 Trying quenches
        the client's retransmissions (sec. 17.2.1)."""
        if self.lastResponse is not None:
            return []
        return self._sendResponse(makeResponse(self.request, 100), now)

    def _retransmitted(self, request: Request, now: float) -> list:
        """A retransmission in Proceeding: the last response again, or
        the 100 not sent yet, at once (sec. 17.2.1)."""
        if self.lastResponse is None:
            self._stop(TRYING)
            return self._sendTrying(request, now)
        return self._resendResponse(request, now)

    def _sendProvisional(self, response: Response, now: float) -> list:
        self._stop(TRYING)
        return self._sendResponse(response, now)

    def _sendFailure(self, response: Response, now: float) -> list:
        self._stop(TRYING)
        # Timer G only over unreliable transports, H always.
        if not self.peer.reliable:
            self._startRetransmit("G", self._timers.timerG, now)
        self._start("H", self._timers.timerH, now)
        return self._sendResponse(response, now)

    def _retransmitG(self, message, now: float) -> list:
        self._startRetransmit("G", self._timers.backoff(self._interval), now)
        return self._resendResponse(message, now)

    def _confirm(self, ack: Request, now: float) -> list:
        """
        The ACK for the failure response (sec. 17.2.1): absorbed, never
        passed to the TU.  From now on (Timer I, T4 = 5 s) the transaction
        only absorbs retransmissions, so it lets go of its last response
        and keeps of its request only what names it: every call a PBX
        challenges leaves one of these (INVITE, 407, ACK), some 2 KB each
        for 5 s -- a tenth of the memory of a held call at 100 calls/s.
        """
        self._stop("G", "H")
        self._start("I", self._timers.timerI(self.peer.reliable), now)
        self.lastResponse = None
        self._keepNaming()
        return []

    TABLE = {
        (_P, Input.REQUEST): (_retransmitted, _P),
        (_P, Input.ACK): (_ABSORB, _P),
        (_P, Input.SEND_PROVISIONAL): (_sendProvisional, _P),
        (_P, Input.SEND_SUCCESS): (Transaction._sendResponse, _X),
        (_P, Input.SEND_FAILURE): (_sendFailure, _CO),
        (_P, Input.TIMER_TRYING): (_sendTrying, _P),
        (_P, Input.TRANSPORT_ERROR): (_ABSORB, _X),
        (_CO, Input.REQUEST): (Transaction._resendResponse, _CO),
        (_CO, Input.ACK): (_confirm, _CF),
        (_CO, Input.TIMER_G): (_retransmitG, _CO),
        (_CO, Input.TIMER_H): (_ABSORB, _X),
        (_CO, Input.TRANSPORT_ERROR): (_ABSORB, _X),
        (_CF, Input.REQUEST): (_ABSORB, _CF),
        (_CF, Input.ACK): (_ABSORB, _CF),
        (_CF, Input.TIMER_I): (_ABSORB, _X),
        (_CF, Input.TRANSPORT_ERROR): (_ABSORB, _X),
    }


class ServerNonInvite(ServerTransaction):
    """The non-INVITE server transaction (sec. 17.2.2, Figure 8)."""

    __slots__ = ()
    INITIAL = State.TRYING

    def _sendFinal(self, response: Response, now: float) -> list:
        """Send the final response and wait out Timer J, keeping the
        response for retransmitted requests but only the request's name."""
        self._start("J", self._timers.timerJ(self.peer.reliable), now)
        self._keepNaming()
        return self._sendResponse(response, now)

    TABLE = {
        # sec. 17.2.2: retransmissions in Trying are discarded.
        (_T, Input.REQUEST): (_ABSORB, _T),
        (_T, Input.SEND_PROVISIONAL): (Transaction._sendResponse, _P),
        (_T, Input.SEND_SUCCESS): (_sendFinal, _CO),
        (_T, Input.SEND_FAILURE): (_sendFinal, _CO),
        (_T, Input.TRANSPORT_ERROR): (_ABSORB, _X),
        (_P, Input.REQUEST): (Transaction._resendResponse, _P),
        (_P, Input.SEND_PROVISIONAL): (Transaction._sendResponse, _P),
        (_P, Input.SEND_SUCCESS): (_sendFinal, _CO),
        (_P, Input.SEND_FAILURE): (_sendFinal, _CO),
        (_P, Input.TRANSPORT_ERROR): (_ABSORB, _X),
        (_CO, Input.REQUEST): (Transaction._resendResponse, _CO),
        # "Any other final responses passed by the TU ... MUST be discarded".
        (_CO, Input.SEND_PROVISIONAL): (_ABSORB, _CO),
        (_CO, Input.SEND_SUCCESS): (_ABSORB, _CO),
        (_CO, Input.SEND_FAILURE): (_ABSORB, _CO),
        (_CO, Input.TIMER_J): (_ABSORB, _X),
        (_CO, Input.TRANSPORT_ERROR): (_ABSORB, _X),
    }
