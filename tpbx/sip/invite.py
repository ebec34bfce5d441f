# -*- test-case-name: tests.sip.test_invite -*-
"""
The INVITE session: the dialog usage that sets up, changes and ends one
call leg (RFC 3261 sec. 13, 14, 15, 9; RFC 3311 UPDATE; RFC 4028 timers).

It is pjsip's C{pjsip_inv_session} in sans-IO form.  The B2BUA keeps one
per leg and feeds it what the transaction layer delivers for that leg
(responses, in-dialog requests, ACKs, CANCELs, transaction ends) with the
current time; it answers with a list of small frozen actions --
L{SendRequest}, L{SendResponse}, L{SendAck} -- and L{Event}s for the call
model.  What the transaction layer cannot do for INVITE lives here: the
ACK for a 2xx and the UAS's 2xx retransmissions (sec. 13.2.2.4,
13.3.1.4), glare (491) and its retry timers (sec. 14.1), CANCEL only
after a provisional response (sec. 9.1), BYE only after the ACK (sec. 15)
and the first-2xx-wins rule when an INVITE forks (sec. 13.2.2.4).

Bodies are opaque: the session only notes whether a message carries an
offer or an answer (RFC 3264 sec. 4 via RFC 3261 sec. 13.2.1) and says
so with C{"offer"} and C{"answer"} events; SDP is L{tpbx.sip.sdp}'s job.

Events (C{Event.kind}): C{ringing} (180), C{progress} (other 1xx),
C{early-media} (a 1xx with a body), C{answered} (the first 2xx, UAC),
C{confirmed} (the ACK of our 2xx, UAS), C{offer} (an INVITE, re-INVITE,
UPDATE or 2xx with an offer to answer), C{reinvite} (a re-INVITE without
offer: answer it with one), C{answer}, C{request} (another in-dialog
request for the TU to answer), C{response} (a final response to one),
C{failed} (a re-INVITE or UPDATE of ours was refused; the old session
stands), C{glare} (ours got 491), C{retry} (time to send it again),
C{refresh} (the session timer wants a refresh) and C{terminated}, whose
C{reason} is C{rejected}, C{cancelled}, C{timeout}, C{transport-error},
C{local-bye}, C{remote-bye}, C{ack-timeout}, C{session-expired} or
C{dialog-gone}.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import Enum
from typing import Iterable

from tpbx.errors import ProtocolError
from tpbx.sip.address import parseNameAddr
from tpbx.sip.dialog import Dialog, withBranch
from tpbx.sip.headers import Headers, splitCommas
from tpbx.sip.message import Message, Request, Response
from tpbx.sip.reply import makeResponse
from tpbx.sip.sessiontimer import (
    Negotiated, SessionTimer, SessionTimerPolicy, TooSmall,
)
from tpbx.sip.timers import TimerConfig

__all__ = ["InviteState", "Role", "InviteSession", "SendRequest",
           "SendResponse", "SendAck", "Event", "cancelFor"]

_Headers = Iterable[tuple[str, str]]


class InviteState(Enum):
    """The states of pjsip's INVITE session (C{pjsip_inv_state})."""

    NULL = "null"
    CALLING = "calling"
    INCOMING = "incoming"
    EARLY = "early"
    CONNECTING = "connecting"
    CONFIRMED = "confirmed"
    DISCONNECTED = "disconnected"


class Role(Enum):
    UAC = "uac"
    UAS = "uas"


@dataclass(frozen=True, slots=True)
class SendRequest:
    """Start a client transaction for C{request} (engine.sendRequest)."""

    request: Request


@dataclass(frozen=True, slots=True)
class SendResponse:
    """
    Send C{response} in server transaction C{transaction}; a transaction
    of L{None} means a 2xx retransmission, sent statelessly to the peer
    the INVITE came from (sec. 13.3.1.4).
    """

    transaction: object
    response: Response


@dataclass(frozen=True, slots=True)
class SendAck:
    """Send the ACK for a 2xx outside any transaction (sec. 13.2.2.4)."""

    ack: Request


@dataclass(frozen=True, slots=True)
class Event:
    """Something the call model must hear of; see the module docstring."""

    kind: str
    message: Message | None = None
    reason: str | None = None


_S = InviteState
_EARLY_STATES = (_S.INCOMING, _S.EARLY, _S.CALLING)
_LIVE_STATES = (_S.EARLY, _S.CONNECTING, _S.CONFIRMED)


def cancelFor(invite: Request) -> Request:
    """
    The CANCEL for C{invite} (sec. 9.1): its Request-URI, Call-ID, To,
    From, CSeq number, top Via (so it matches the same transaction) and
    Route headers.
    """
    headers = Headers([("Via", splitCommas(invite.headers.get("Via", ""))[0]),
                       ("Max-Forwards", "70")])
    for route in invite.headers.getAll("Route"):
        headers.add("Route", route)
    for name in ("From", "To", "Call-ID"):
        headers.add(name, invite.headers.get(name, ""))
    headers.add("CSeq", f"{invite.cseq[0]} CANCEL")
    return Request("CANCEL", invite.uri, headers)


def _toTag(response: Response) -> str:
    return parseNameAddr(response.headers.get("To", "")).tag or ""


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


class InviteSession:
    """
    One call leg's INVITE usage.  Build it with L{outgoing} or
    L{incoming}, then call L{start}.

    Every method that takes C{now} returns a list of actions.  Methods
    fed a peer's message raise L{ProtocolError} (400) for a malformed
    header they need; the caller answers a request with its
    C{statusHint} and drops a response.

    @ivar role: L{Role.UAC} or L{Role.UAS}.
    @ivar state: the L{InviteState}.
    @ivar invite: the initial INVITE (UAC: the latest, after a 422 retry).
    @ivar dialog: the leg's L{Dialog} (UAC: the latest early dialog, then
        the one the first 2xx confirmed; L{None} before any).
    @ivar earlyDialogs: UAC early dialogs by To tag (forking).
    @ivar forkedAnswers: 2xx from other forks, ACKed and BYEd.
    @ivar via: the Via value (no branch) for requests this leg sends.
    @ivar sessionTimer: the running L{SessionTimer}, or L{None}.
    """

    def __init__(self, role: Role, invite: Request, via: str,
                 timers: TimerConfig = TimerConfig(),
                 policy: SessionTimerPolicy | None = None,
                 rng: random.Random | None = None):
        self.role = role
        self.state = InviteState.NULL
        self.invite = invite
        self.via = via
        self.timers = timers
        self.policy = policy
        self.dialog: Dialog | None = None
        self.earlyDialogs: dict[str, Dialog] = {}
        self.forkedAnswers: list[Response] = []
        self.sessionTimer: SessionTimer | None = None
        self.provisionalReceived = False
        self._rng = rng if rng is not None else random.Random()
        self._answeredTag: str | None = None
        self._forkAcks: dict[str, Request] = {}
        self._pendingOut: Request | None = None
        self._pendingIn: dict[Request, object] = {}
        self._retransmits: dict[int, _Retransmit] = {}
        self._acks: dict[int, Request] = {}
        self._awaitingAck: Response | None = None
        self._glared: Request | None = None
        self._retryAt: float | None = None
        self._hangupWanted = False
        self._cancelSent = False
        self._retried422 = False

    # Construction

    @classmethod
    def outgoing(cls, invite: Request, via: str, **kwargs) -> "InviteSession":
        """
        The UAC session for C{invite} (built with
        L{tpbx.sip.dialog.newRequest}); with a session-timer C{policy},
        its headers are added to C{invite} (RFC 4028 sec. 7.1).

        @param kwargs: C{timers}, C{policy}, C{rng} as for the constructor.
        """
        session = cls(Role.UAC, invite, via, **kwargs)
        if session.policy is not None:
            for name, value in session.policy.requestHeaders():
                invite.headers.add(name, value)
        return session

    @classmethod
    def incoming(cls, invite: Request, transaction, localTag: str,
                 localContact: str, via: str, overTLS: bool = False,
                 **kwargs) -> "InviteSession":
        """
        The UAS session for C{invite}, received in server C{transaction}.

        @raise ProtocolError: (400) when the INVITE cannot make a dialog.
        """
        session = cls(Role.UAS, invite, via, **kwargs)
        session.dialog = Dialog.fromUASRequest(invite, localTag, localContact,
                                               overTLS)
        session._pendingIn[invite] = transaction
        return session

    def start(self, now: float) -> list:
        """
        UAC: send the INVITE (state CALLING).  UAS: state INCOMING, an
        C{offer} event when the INVITE has a body, or an automatic 422
        when its Session-Expires is below our Min-SE (RFC 4028 sec. 9).
        """
        if self.state is not _S.NULL:
            raise ProtocolError("The session has started")
        if self.role is Role.UAC:
            self.state = _S.CALLING
            return [SendRequest(self.invite)]
        self.state = _S.INCOMING
        if self.policy is not None:
            negotiated = self.policy.uasNegotiate(self.invite)
            if isinstance(negotiated, TooSmall):
                return self.respond(self.invite, 422, now,
                                    extraHeaders=negotiated.responseHeaders())
        return [Event("offer", self.invite)] if self.invite.body else []

    # What the TU may do

    @property
    def canCancel(self) -> bool:
        """Whether a CANCEL may go now: a provisional came (sec. 9.1)."""
        return (self.role is Role.UAC and self.state in _EARLY_STATES
                and self.provisionalReceived and not self._cancelSent)

    @property
    def canReinvite(self) -> bool:
        """
        Whether a re-INVITE may go now: confirmed, no offer/answer or
        re-INVITE pending either way, no 491 retry wait (sec. 14.1).
        """
        return (self.state is _S.CONFIRMED and self._retryAt is None
                and not self._offerPending()
                and not any(r.method == "INVITE" for r in self._pendingIn))

    def _offerPending(self) -> bool:
        """Whether an offer of ours, or an answer we owe, is outstanding."""
        return (self._pendingOut is not None or self._awaitingAck is not None
                or any(r.offered for r in self._retransmits.values()))

    def hangup(self, now: float, status: int = 603) -> list:
        """
        End the leg the way its state allows: CANCEL (at once if a
        provisional came, else on the first one, sec. 9.1), a final
        C{status} for an unanswered incoming call, BYE once confirmed
        (the UAS waits for the ACK of its 2xx first, sec. 15).
        """
        if self.state in (_S.NULL, _S.DISCONNECTED):
            return []
        if self.role is Role.UAS and self.state in _EARLY_STATES:
            return self.respond(self.invite, status, now)
        self._hangupWanted = True
        if self.state in _EARLY_STATES:
            return self._cancel()
        if self.state is _S.CONNECTING and self.role is Role.UAS:
            return []
        actions = []
        if self._awaitingAck is not None:
            actions.append(self._sendAck(self._awaitingAck, b"", None))
        return actions + self._bye("local-bye")

    def _cancel(self) -> list:
        if not self.canCancel:
            return []
        self._cancelSent = True
        return [SendRequest(cancelFor(self.invite))]

    def reinvite(self, now: float, body: bytes = b"",
                 contentType: str | None = None,
                 extraHeaders: _Headers = ()) -> list:
        """
        Send a re-INVITE (sec. 14.1); an empty body asks the peer for an
        offer.  @raise ProtocolError: (491) unless L{canReinvite}.
        """
        if not self.canReinvite:
            raise ProtocolError("A re-INVITE cannot be sent now", 491)
        return self._sendRefresh("INVITE", body, contentType, extraHeaders)

    def update(self, now: float, body: bytes = b"",
               contentType: str | None = None,
               extraHeaders: _Headers = ()) -> list:
        """
        Send an UPDATE (RFC 3311), with an offer or, empty, as a session
        refresh (RFC 4028).  @raise ProtocolError: (491) while an
        offer/answer or a 491 retry wait is pending.
        """
        if (self.state not in _LIVE_STATES or self.dialog is None
                or self._offerPending() or self._retryAt is not None):
            raise ProtocolError("An UPDATE cannot be sent now", 491)
        return self._sendRefresh("UPDATE", body, contentType, extraHeaders)

    def _sendRefresh(self, method: str, body: bytes, contentType: str | None,
                     extraHeaders: _Headers) -> list:
        extra = list(extraHeaders)
        if self.policy is not None:
            timer = self.sessionTimer
            extra += self.policy.requestHeaders(
                timer.interval if timer else None,
                None if timer is None else ("uac" if timer.weRefresh else "uas"))
        request = self.dialog.createRequest(method, body, contentType, extra,
                                            via=self.via)
        self._pendingOut = request
        return [SendRequest(request)]

    def request(self, method: str, now: float, body: bytes = b"",
                contentType: str | None = None,
                extraHeaders: _Headers = ()) -> list:
        """
        Send another in-dialog request (INFO, REFER, NOTIFY, OPTIONS);
        its final response comes back as a C{response} event.
        """
        if self.state not in _LIVE_STATES or self.dialog is None:
            raise ProtocolError("No dialog to send in", 481)
        return [SendRequest(self.dialog.createRequest(
            method, body, contentType, extraHeaders, via=self.via))]

    def sendAck(self, now: float, body: bytes = b"",
                contentType: str | None = None) -> list:
        """
        ACK the 2xx that carried an offer (after an offerless INVITE),
        with the answer in C{body} (sec. 13.2.2.4).
        """
        response = self._awaitingAck
        if response is None:
            raise ProtocolError("No 2xx awaits its ACK")
        return [self._sendAck(response, body, contentType)]

    def ackFor(self, response: Response, body: bytes = b"",
               contentType: str | None = None) -> Request:
        """
        The ACK for a 2xx to one of our INVITEs (sec. 13.2.2.4), in the
        dialog the 2xx belongs to.
        """
        dialog = self.dialog
        if dialog is None or dialog.remoteTag != _toTag(response):
            dialog = Dialog.fromUACResponse(self.invite, response)
        return dialog.createAck(response.cseq[0], body, contentType,
                                via=self.via, invite=self.invite)

    def _sendAck(self, response: Response, body: bytes,
                 contentType: str | None) -> SendAck:
        ack = self.ackFor(response, body, contentType)
        number = response.cseq[0]
        self._acks = {number: ack}  # only the latest 2xx is re-sent
        self._awaitingAck = None
        if self._isInitial(number, "INVITE") and self.state is _S.CONNECTING:
            self.state = _S.CONFIRMED
        return SendAck(ack)

    def _isInitial(self, number: int, method: str) -> bool:
        """Whether a response or ACK of our CSeq space is for our initial
        INVITE (each side numbers its own requests, sec. 12.2.1.1)."""
        return (self.role is Role.UAC and method == "INVITE"
                and number == self.invite.cseq[0])

    def respond(self, request: Request, status: int, now: float,
                body: bytes = b"", contentType: str | None = None,
                reason: str | None = None, extraHeaders: _Headers = ()) -> list:
        """
        Answer a request this session delivered (the initial INVITE, a
        re-INVITE, an UPDATE, an C{request} event's request).

        @raise ProtocolError: (481) when C{request} awaits no answer.
        """
        if request not in self._pendingIn:
            raise ProtocolError("No such request awaits an answer", 481)
        extra = list(extraHeaders)
        success = 200 <= status < 300
        if success and request.method in ("INVITE", "UPDATE"):
            extra += self._uasTimer(request, now)
        transaction = self._pendingIn.pop(request) if (
            status >= 200) else self._pendingIn[request]
        response = self._response(request, status, reason, extra, body,
                                  contentType)
        actions = [SendResponse(transaction, response)]
        if success and request.method == "INVITE":
            self._retransmits[request.cseq[0]] = _Retransmit(
                response, self.timers, now, bool(body) and not request.body)
        if request is self.invite:
            actions += self._initialAnswered(status, response)
        return actions

    def _response(self, request: Request, status: int, reason: str | None,
                  extra: list, body: bytes = b"",
                  contentType: str | None = None) -> Response:
        dialog = self.dialog
        response = makeResponse(request, status, reason, toTag=dialog.localTag)
        if 100 < status < 300 and request.method in ("INVITE", "UPDATE"):
            if request is self.invite:
                # sec. 12.1.1: a dialog-creating response copies Record-Route
                for route in request.headers.getAll("Record-Route"):
                    response.headers.add("Record-Route", route)
            response.headers.add("Contact", f"<{dialog.localContact}>")
        for name, value in extra:
            response.headers.add(name, value)
        if body:
            response.headers.add("Content-Type", contentType or "")
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

    def _uasTimer(self, request: Request, now: float) -> list:
        """Negotiate a UAS session timer; @return: the 2xx's headers."""
        if self.policy is None:
            return []
        negotiated = self.policy.uasNegotiate(request)
        if not isinstance(negotiated, Negotiated):
            return []
        self._runTimer(negotiated, False, now)
        return negotiated.responseHeaders()

    def _runTimer(self, negotiated: Negotiated | None, weAreUAC: bool,
                  now: float) -> None:
        if negotiated is None:
            self.sessionTimer = None
        elif self.sessionTimer is None:
            self.sessionTimer = SessionTimer(
                negotiated.interval, negotiated.weRefresh(weAreUAC), now)
        else:
            self.sessionTimer.refreshed(
                negotiated.interval, negotiated.weRefresh(weAreUAC), now)

    # Responses to our requests

    def receiveResponse(self, response: Response, now: float) -> list:
        """
        A response to a request of this leg (or a retransmitted 2xx that
        matched no transaction).
        """
        number, method = response.cseq
        if self._isInitial(number, method):
            return self._inviteResponse(response, now)
        pending = self._pendingOut
        if pending is not None and (number, method) == pending.cseq:
            return self._refreshResponse(pending, response, now)
        if method == "INVITE":
            ack = self._acks.get(number)
            ok = 200 <= response.status < 300
            return [SendAck(ack)] if ok and ack is not None else []
        if method in ("BYE", "CANCEL", "ACK") or response.status < 200:
            return []
        if response.status in (408, 481):
            return self._failDialog(response.status, response)
        return [Event("response", response)]

    def _inviteResponse(self, response: Response, now: float) -> list:
        if response.status >= 300:
            return self._inviteFailed(response, now)
        if response.status >= 200:
            return self._inviteAnswered(response, now)
        return self._provisional(response)

    def _provisional(self, response: Response) -> list:
        if self.state not in (_S.CALLING, _S.EARLY):
            return []
        self.provisionalReceived = True
        if self._hangupWanted:
            return self._cancel()
        status, tag = response.status, _toTag(response)
        if status == 100 or not tag:
            return []
        dialog = self.earlyDialogs.get(tag)
        if dialog is None:
            dialog = Dialog.fromUACResponse(self.invite, response)
            self.earlyDialogs[tag] = dialog
        else:
            dialog.targetRefresh(response)
        self.dialog = dialog
        self.state = _S.EARLY
        kind = ("early-media" if response.body
                else "ringing" if status == 180 else "progress")
        return [Event(kind, response)]

    def _inviteAnswered(self, response: Response, now: float) -> list:
        tag = _toTag(response)
        if self._answeredTag is not None or self.state is _S.DISCONNECTED:
            if tag == self._answeredTag:
                ack = self._acks.get(response.cseq[0])
                return [SendAck(ack)] if ack is not None else []
            return self._forked(response, tag)
        dialog = self.earlyDialogs.pop(tag, None)
        if dialog is None:
            dialog = Dialog.fromUACResponse(self.invite, response)
        else:
            dialog.confirmByResponse(response)
        for other in self.earlyDialogs.values():
            other.state = "terminated"
        self.earlyDialogs.clear()
        self.dialog, self._answeredTag = dialog, tag
        self.state = _S.CONNECTING
        if self._hangupWanted:  # the 2xx crossed our CANCEL (sec. 9.1)
            return [self._sendAck(response, b"", None)] + self._bye("local-bye")
        if self.policy is not None:
            self._runTimer(self.policy.uacNegotiate(response), True, now)
        return [Event("answered", response)] + self._answerIn(
            self.invite, response)

    def _answerIn(self, request: Request, response: Response) -> list:
        """
        The 2xx to our INVITE/UPDATE C{request}: an offer to answer in
        the ACK (offerless INVITE), else the ACK now and the answer.
        """
        if request.method == "INVITE" and response.body and not request.body:
            self._awaitingAck = response
            return [Event("offer", response)]
        actions = []
        if request.method == "INVITE":
            actions.append(self._sendAck(response, b"", None))
        if request.body and response.body:
            actions.append(Event("answer", response))
        return actions

    def _forked(self, response: Response, tag: str) -> list:
        """A 2xx from another fork: ACK it, then BYE (sec. 13.2.2.4)."""
        ack = self._forkAcks.get(tag)
        if ack is not None:
            return [SendAck(ack)]
        self.forkedAnswers.append(response)
        dialog = Dialog.fromUACResponse(self.invite, response)
        ack = dialog.createAck(response.cseq[0], via=self.via,
                               invite=self.invite)
        self._forkAcks[tag] = ack
        return [SendAck(ack), SendRequest(dialog.createRequest("BYE", via=self.via))]

    def _inviteFailed(self, response: Response, now: float) -> list:
        if self.state not in (_S.CALLING, _S.EARLY):
            return []
        if (response.status == 422 and self.policy is not None
                and not self._retried422):
            return self._retry422(response)
        return self._terminate(
            "cancelled" if self._hangupWanted else "rejected", response)

    def _retry422(self, response: Response) -> list:
        """Send the INVITE again with the Min-SE the 422 asked for
        (RFC 4028 sec. 7.3): same Call-ID and tags, CSeq one higher."""
        interval = self.policy.after422(response)
        headers = self.invite.headers.copy()
        headers.set("Via", withBranch(self.via))
        headers.set("CSeq", f"{self.invite.cseq[0] + 1} INVITE")
        headers.set("Session-Expires", str(interval))
        headers.set("Min-SE", str(interval))
        self.invite = Request("INVITE", self.invite.uri, headers,
                              self.invite.body)
        self._retried422 = True
        self.provisionalReceived = False
        self.earlyDialogs.clear()
        self.dialog = None
        self.state = _S.CALLING
        return [SendRequest(self.invite)]

    def _refreshResponse(self, request: Request, response: Response,
                         now: float) -> list:
        """The response to our re-INVITE or UPDATE (sec. 14.1, RFC 3311)."""
        status = response.status
        if status < 200:
            return []
        self._pendingOut = None
        if status < 300:
            self.dialog.targetRefresh(response)
            if self.policy is not None:
                self._runTimer(self.policy.uacNegotiate(response), True, now)
            return self._answerIn(request, response)
        if status == 491:
            return self._glare(request, response, now)
        if status in (408, 481):
            return self._failDialog(status, response)
        return [Event("failed", response)]

    def _glare(self, request: Request, response: Response, now: float) -> list:
        """
        Our re-INVITE/UPDATE met the peer's (sec. 14.1): retry after
        2.1-4 s if we own the Call-ID (we sent the first INVITE), else
        0-2 s, in units of 10 ms.
        """
        if self.role is Role.UAC:
            delay = self._rng.randint(210, 400) / 100
        else:
            delay = self._rng.randint(0, 200) / 100
        self._glared, self._retryAt = request, now + delay
        return [Event("glare", response)]

    def transactionEnded(self, request: Request, reason: str,
                         now: float) -> list:
        """
        A client transaction of this leg ended (the layer's
        TransactionTerminated).  C{"completed"} changes nothing; a timeout
        or transport error ends the call attempt, or, in a dialog, is
        taken as a 408 (sec. 12.2.1.2).
        """
        if reason == "completed" or request.method in ("BYE", "CANCEL"):
            return []
        if request is self.invite and self.state in _EARLY_STATES:
            return self._terminate(reason)
        if request is self._pendingOut:
            self._pendingOut = None
        return self._failDialog(408, None)

    def _failDialog(self, status: int, message: Message | None) -> list:
        """A 408 or 481 inside the dialog ends it (sec. 12.2.1.2); after a
        408 the peer may still be there, so it gets a BYE."""
        if status == 481:
            return self._terminate("dialog-gone", message)
        return self._bye("dialog-gone")

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
        handler = self._HANDLERS.get(request.method, InviteSession._onOther)
        return handler(self, request, transaction, now)

    def _reply(self, request: Request, transaction, status: int,
               reason: str | None = None, extra: _Headers = ()) -> list:
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
            retry = str(self._rng.randint(0, 10))
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
        if self.policy is not None:
            negotiated = self.policy.uasNegotiate(request)
            if isinstance(negotiated, TooSmall):
                return self._reply(request, transaction, 422, None,
                                   negotiated.responseHeaders())
        self.dialog.targetRefresh(request)
        self._pendingIn[request] = transaction
        if request.body:
            return [Event("offer", request)]
        return [Event("reinvite", request)] if request.method == "INVITE" else []

    def _onBye(self, request: Request, transaction, now: float) -> list:
        """sec. 15.1.2: 200 to the BYE, 487 to whatever is pending."""
        return (self._reply(request, transaction, 200)
                + self._terminate("remote-bye", request))

    def _onOther(self, request: Request, transaction, now: float) -> list:
        self._pendingIn[request] = transaction
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
        entry = self._retransmits.pop(ack.cseq[0], None)
        if entry is None:
            return []
        actions = [Event("answer", ack)] if entry.offered and ack.body else []
        if (self.role is Role.UAS and self.state is _S.CONNECTING
                and ack.cseq[0] == self.invite.cseq[0]):
            self.state = _S.CONFIRMED
            actions.append(Event("confirmed", ack))
            if self._hangupWanted:
                actions += self._bye("local-bye")
        return actions

    # Ending

    def _bye(self, reason: str) -> list:
        if self.state is _S.DISCONNECTED:
            return []
        bye = self.dialog.createRequest("BYE", via=self.via)
        return [SendRequest(bye)] + self._terminate(reason)

    def _terminate(self, reason: str, message: Message | None = None) -> list:
        """Enter DISCONNECTED: 487 to every pending request (sec. 15.1.2),
        every timer dropped, one C{terminated} event."""
        if self.state is _S.DISCONNECTED:
            return []
        actions = []
        for request, transaction in self._pendingIn.items():
            actions += self._reply(request, transaction, 487)
        self._pendingIn.clear()
        self.state = _S.DISCONNECTED
        if self.dialog is not None:
            self.dialog.state = "terminated"
        self._retransmits.clear()
        self._retryAt = self.sessionTimer = self._awaitingAck = None
        self._pendingOut = self._glared = None
        return actions + [Event("terminated", message, reason)]

    # Timers

    def due(self, now: float) -> list:
        """
        The 2xx retransmissions due at C{now} (every T1 doubling to T2),
        and a BYE for a 2xx left without ACK for 64*T1 (sec. 13.3.1.4).
        """
        actions = []
        for number, entry in list(self._retransmits.items()):
            if now >= entry.giveUpAt:
                del self._retransmits[number]
                return actions + self._bye("ack-timeout")
            if now >= entry.nextAt:
                actions.append(SendResponse(None, entry.response))
                entry.interval = min(2 * entry.interval, self.timers.t2)
                entry.nextAt = now + entry.interval
        return actions

    def handleTimers(self, now: float) -> list:
        """Everything due at C{now}: L{due}, the 491 retry, the session
        timer's refresh or expiry (RFC 4028 sec. 10: BYE)."""
        actions = self.due(now)
        if self._retryAt is not None and now >= self._retryAt:
            actions.append(Event("retry", self._glared))
            self._retryAt = self._glared = None
        timer = self.sessionTimer
        if timer is not None:
            what = timer.due(now)
            if what == "refresh":
                actions.append(Event("refresh"))
            elif what == "expired":
                actions += self._bye("session-expired")
        return actions

    def nextDeadline(self) -> float | None:
        """@return: when L{handleTimers} must next run, or L{None}."""
        times = [min(e.nextAt, e.giveUpAt) for e in self._retransmits.values()]
        if self._retryAt is not None:
            times.append(self._retryAt)
        if self.sessionTimer is not None:
            times.append(self.sessionTimer.nextDeadline())
        return min(times, default=None)
