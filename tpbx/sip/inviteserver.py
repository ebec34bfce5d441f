# -*- test-case-name: tests.sip.test_invite -*-
"""
The server half of the INVITE session: the requests the peer sends in
it and our answers to them (RFC 3261 sec. 12.2.2, 13.3, 14.2, 15.1.2,
9.2; RFC 3311 UPDATE; RFC 4028 sec. 9).

L{tpbx.sip.invite.InviteSession} is too big for one module (some 800
lines; STYLE.md wants under ~500), so its server side -- in-dialog
requests checked and dispatched by method, re-INVITE and UPDATE offers
(and the 491/500 an offer gets while another is pending), BYE, CANCEL,
our responses, and the 2xx re-sent until its ACK -- lives here as a
mixin that can be read on its own.  It works on the session's state;
see L{tpbx.sip.invite.InviteSession} for the attributes and
L{tpbx.sip.inviteclient} for the other half.
"""

from __future__ import annotations

from tpbx.errors import ProtocolError
from tpbx.sip.inviteactions import (
    Event, HeaderLines, InviteState, Role, SendResponse, confirmedInvite, filed,
    unfiled,
)
from tpbx.sip.message import Request, Response
from tpbx.sip.reply import makeResponse
from tpbx.sip.sessiontimer import Negotiated, TooSmall
from tpbx.sip.timers import TimerConfig

__all__ = ["InviteServerMixin"]

_S = InviteState


class _Retransmit:
    """A 2xx to an INVITE we sent, re-sent until its ACK (sec. 13.3.1.4)."""

    __slots__ = ("response", "interval", "nextAt", "giveUpAt", "offered")

    def __init__(self, response: Response, timers: TimerConfig, now: float,
                 offered: bool):
        self.response = response
        self.interval = timers.t1
        self.nextAt = now + timers.t1
        self.giveUpAt = now + 64 * timers.t1
        self.offered = offered  # the 2xx holds an offer; the ACK answers


class InviteServerMixin:
    """
    The peer's requests and our answers, for
    L{tpbx.sip.invite.InviteSession}.
    """

    __slots__ = ()

    # Requests from the peer

    def receiveRequest(self, request: Request, transaction,
                       now: float) -> list:
        """
        An in-dialog request of this leg (an ACK with transaction
        L{None}).  Out-of-order CSeq gets 500 (sec. 12.2.2).
        """
        if request.method == "ACK":
            return self.ackReceived(request, now)
        if self.state is _S.DISCONNECTED or self.dialog is None:
            return self._reply(request, transaction, 481)
        if self.dialog.checkRequest(request) is not None:
            return self._reply(request, transaction, 500, "Out of order")
        handler = self._HANDLERS.get(request.method,
                                     InviteServerMixin._onOther)
        return handler(self, request, transaction, now)

    def _reply(self, request: Request, transaction, status: int,
               reason: str | None = None, extra: HeaderLines = ()) -> list:
        tag = self.dialog.localTag if self.dialog is not None else None
        response = makeResponse(request, status, reason, toTag=tag,
                                headers=extra)
        return [SendResponse(transaction, response)]

    def _refusal(self, request: Request, transaction) -> list | None:
        """
        The 491 or 500 an offer gets while another is pending (sec. 14.2,
        RFC 3311 sec. 5.2), or L{None}.
        """
        if self.state not in (_S.CONNECTING, _S.CONFIRMED) and (
                request.method == "INVITE"):
            return self._reply(request, transaction, 491)
        if self._offerPending():
            return self._reply(request, transaction, 491)
        if any(r.method == "INVITE" or r.body for r in self._pendingIn):
            retry = str(self._random().randint(0, 10))
            return self._reply(request, transaction, 500, None,
                               [("Retry-After", retry)])
        return None

    def _onInvite(self, request: Request, transaction, now: float) -> list:
        refused = self._refusal(request, transaction)
        if refused is not None:
            return refused
        return self._acceptRefresh(request, transaction, now)

    def _onUpdate(self, request: Request, transaction, now: float) -> list:
        if request.body:
            refused = self._refusal(request, transaction)
            if refused is not None:
                return refused
        actions = self._acceptRefresh(request, transaction, now)
        if not request.body and request in self._pendingIn:
            # An UPDATE without offer refreshes the session and the target
            # only (RFC 3311 sec. 5.2, RFC 4028 sec. 10): answer it here.
            return self.respond(request, 200, now)
        return actions

    def _acceptRefresh(self, request: Request, transaction,
                       now: float) -> list:
        tooSmall = self._negotiateTimer(request)
        if tooSmall is not None:
            return self._reply(request, transaction, 422, None,
                               tooSmall.responseHeaders())
        self.dialog.targetRefresh(request)
        self._pendingIn = filed(self._pendingIn, request, transaction)
        if request.body:
            return [Event("offer", request)]
        return [Event("reinvite", request)] if request.method == "INVITE" else []

    def _onBye(self, request: Request, transaction, now: float) -> list:
        """sec. 15.1.2: 200 to the BYE, 487 to whatever is pending."""
        return (self._reply(request, transaction, 200)
                + self._terminate("remote-bye", request))

    def _onOther(self, request: Request, transaction, now: float) -> list:
        self._pendingIn = filed(self._pendingIn, request, transaction)
        return [Event("request", request)]

    _HANDLERS = {"INVITE": _onInvite, "UPDATE": _onUpdate, "BYE": _onBye}

    def receiveCancel(self, cancel: Request, transaction, now: float) -> list:
        """
        A CANCEL for our INVITE's server transaction (sec. 9.2): 200 to
        it, and, while unanswered, 487 to the INVITE.
        """
        actions = self._reply(cancel, transaction, 200)
        if self.role is Role.UAS and self.state in (_S.INCOMING, _S.EARLY):
            actions += self._terminate("cancelled", cancel)
        return actions

    def ackReceived(self, ack: Request, now: float) -> list:
        """The ACK for one of our 2xx: stop re-sending it (13.3.1.4)."""
        number = ack.cseq[0]
        entry, self._retransmits = unfiled(self._retransmits, number)
        if entry is None:
            return []
        actions = [Event("answer", ack)] if entry.offered and ack.body else []
        if (self.role is Role.UAS and self.state is _S.CONNECTING
                and number == self._inviteSeq):
            self.state = _S.CONFIRMED
            self.invite = confirmedInvite(self.invite, self.role)
            actions.append(Event("confirmed", ack))
            if self._hangupWanted:
                actions += self._bye("local-bye")
        return actions

    # Our answers

    def respond(self, request: Request, status: int, now: float,
                body: bytes = b"", contentType: str | None = None,
                reason: str | None = None,
                extraHeaders: HeaderLines = ()) -> list:
        """
        Answer a request this session delivered (the initial INVITE, a
        re-INVITE, an UPDATE, an C{request} event's request).

        @raise ProtocolError: (481) when C{request} awaits no answer.
        """
        if request not in self._pendingIn:
            raise ProtocolError("No such request awaits an answer", 481)
        final, success = status >= 200, 200 <= status < 300
        terms = None
        if final:
            terms, self._timerTerms = unfiled(self._timerTerms, request)
        extra = list(extraHeaders)
        if success and request.method in ("INVITE", "UPDATE"):
            extra += self._uasTimer(request, terms, now)
        if final:
            transaction, self._pendingIn = unfiled(self._pendingIn, request)
        else:
            transaction = self._pendingIn[request]
        response = self._response(request, status, reason, extra, body,
                                  contentType)
        actions = [SendResponse(transaction, response)]
        if success and request.method == "INVITE":
            self._retransmits = filed(self._retransmits, request.cseq[0], _Retransmit(
                response, self.timers, now, bool(body) and not request.body))
        if request is self.invite:
            actions += self._initialAnswered(status, response)
        return actions

    def _response(self, request: Request, status: int, reason: str | None,
                  extra: list, body: bytes = b"",
                  contentType: str | None = None) -> Response:
        dialog = self.dialog
        lines = []
        if 100 < status < 300 and request.method in ("INVITE", "UPDATE"):
            if request is self.invite:
                # sec. 12.1.1: a dialog-creating response copies Record-Route
                lines += [("Record-Route", route) for route
                          in request.headers.getAll("Record-Route")]
            lines.append(("Contact", f"<{dialog.localContact}>"))
        lines += extra
        if body:
            lines.append(("Content-Type", contentType or ""))
        response = makeResponse(request, status, reason,
                                toTag=dialog.localTag, headers=lines)
        response.body = body
        return response

    def _initialAnswered(self, status: int, response: Response) -> list:
        if status >= 300:
            return self._terminate("rejected", response)
        if status >= 200:
            self.state = _S.CONNECTING
            self.dialog.state = "confirmed"
        elif status > 100:
            self.state = _S.EARLY
        return []

    # Session timer, UAS side (RFC 4028 sec. 9)

    def _negotiateTimer(self, request: Request) -> TooSmall | None:
        """
        Negotiate the session timer of a request we will answer, keeping
        the terms for its 2xx so its headers are read once.

        @return: the L{TooSmall} to answer 422 with, or L{None}.
        """
        if self.policy is None:
            return None
        negotiated = self.policy.uasNegotiate(request)
        if isinstance(negotiated, TooSmall):
            return negotiated
        self._timerTerms = filed(self._timerTerms, request, negotiated)
        return None

    def _uasTimer(self, request: Request, terms: Negotiated | None,
                  now: float) -> list:
        """
        Run a UAS session timer on the C{terms} L{_negotiateTimer} kept
        (negotiated now if none were); @return: the 2xx's headers.
        """
        if self.policy is None:
            return []
        negotiated = terms or self.policy.uasNegotiate(request)
        if not isinstance(negotiated, Negotiated):
            return []
        self._runTimer(negotiated, False, now)
        return negotiated.responseHeaders()

    # Timers

    def due(self, now: float) -> list:
        """
        The 2xx retransmissions due at C{now} (every T1 doubling to T2),
        and a BYE for a 2xx left without ACK for 64*T1 (sec. 13.3.1.4).
        """
        actions = []
        for number, entry in list(self._retransmits.items()):
            if now >= entry.giveUpAt:
                self._retransmits = unfiled(self._retransmits, number)[1]
                return actions + self._bye("ack-timeout")
            if now >= entry.nextAt:
                actions.append(SendResponse(None, entry.response))
                entry.interval = min(2 * entry.interval, self.timers.t2)
                entry.nextAt = now + entry.interval
        return actions
