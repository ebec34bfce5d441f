# -*- test-case-name: tests.sip.test_invite -*-
"""
The client half of the INVITE session: what it does with the responses
to requests this leg sent, and the ACK for a 2xx (RFC 3261 sec. 13.2.2,
14.1, 12.2.1.2; RFC 4028 sec. 7).

L{tpbx.sip.invite.InviteSession} is too big for one module (some 800
lines; STYLE.md wants under ~500), so its client side -- provisional
responses and early dialogs, the first 2xx winning when an INVITE
forks, the 422 retry, the outcome of our re-INVITEs and UPDATEs, glare
-- lives here as a mixin that can be read on its own.  It works on the
session's state; see L{tpbx.sip.invite.InviteSession} for the attributes
and L{tpbx.sip.inviteserver} for the other half.
"""

from __future__ import annotations

from tpbx.errors import ProtocolError
from tpbx.sip.address import parseNameAddr
from tpbx.sip.dialog import Dialog, setVia
from tpbx.sip.inviteactions import (
    EARLY_STATES, EMPTY, Event, InviteState, LastAck, Role, SendAck, SendRequest,
    confirmedInvite, filed, unfiled,
)
from tpbx.sip.message import Message, Request, Response

__all__ = ["InviteClientMixin"]

_S = InviteState


def _toTag(response: Response) -> str:
    return parseNameAddr(response.headers.get("To", "")).tag or ""


class InviteClientMixin:
    """
    Responses to this leg's requests, for L{tpbx.sip.invite.InviteSession}.
    """

    __slots__ = ()

    # The ACK for a 2xx

    def sendAck(self, now: float, body: bytes = b"",
                contentType: str | None = None) -> list:
        """
        ACK the 2xx that carried an offer (after an offerless INVITE),
        with the answer in C{body} (sec. 13.2.2.4).
        """
        response = self._awaitingAck
        if response is None:
            raise ProtocolError("No 2xx awaits its ACK")
        return [self._sendAck(response, body, contentType, now)]

    def ackFor(self, response: Response, body: bytes = b"",
               contentType: str | None = None) -> Request:
        """
        The ACK for a 2xx to one of our INVITEs (sec. 13.2.2.4), in the
        dialog the 2xx belongs to.
        """
        return self._ack(response, response.cseq[0], body, contentType)

    def _ack(self, response: Response, number: int, body: bytes,
             contentType: str | None, via: str | None = None) -> Request:
        """L{ackFor}, with the 2xx's CSeq number already read.

        @param via: the top Via to send (a retransmitted ACK repeats the
            first one's branch); by default the session's, branch fresh.
        """
        dialog = self.dialog
        if dialog is None or dialog.remoteTag != _toTag(response):
            dialog = Dialog.fromUACResponse(self.invite, response)
        return dialog.createAck(number, body, contentType,
                                via=via or self.via, invite=self.invite)

    def _sendAck(self, response: Response, body: bytes,
                 contentType: str | None, now: float) -> SendAck:
        number = response.cseq[0]
        ack = self._ack(response, number, body, contentType)
        # What re-makes it, for the retransmissions of the latest 2xx only,
        # which stop after 64*T1 (sec. 13.3.1.4: see handleTimers).  Not
        # the message itself: thousands of calls are set up in 64*T1.
        self._lastAck = LastAck(number, ack.headers.get("Via"), body, contentType,
                                now + 64 * self.timers.t1)
        self._awaitingAck = None
        if self._isInitial(number, "INVITE") and self.state is _S.CONNECTING:
            self.state = _S.CONFIRMED
            self.invite = confirmedInvite(self.invite, self.role)
        return SendAck(ack)

    def _ackAgain(self, response: Response, number: int) -> list:
        """The ACK once more, for C{response}: a retransmission of the
        2xx to our INVITE C{number} (sec. 13.2.2.4)."""
        last = self._lastAck
        if last is None or last.number != number:
            return []
        return [SendAck(self._ack(response, number, last.body, last.contentType, last.via))]

    def _isInitial(self, number: int, method: str) -> bool:
        """Whether a response or ACK of our CSeq space is for our initial
        INVITE (each side numbers its own requests, sec. 12.2.1.1)."""
        return (self.role is Role.UAC and method == "INVITE"
                and number == self._inviteSeq)

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
            return self._ackAgain(response, number) if 200 <= response.status < 300 else []
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
            self.earlyDialogs = filed(self.earlyDialogs, tag, dialog)
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
                return self._ackAgain(response, self._inviteSeq)
            return self._forked(response, tag)
        dialog, self.earlyDialogs = unfiled(self.earlyDialogs, tag)
        if dialog is None:
            dialog = Dialog.fromUACResponse(self.invite, response)
        else:
            dialog.confirmByResponse(response)
        for other in self.earlyDialogs.values():
            other.state = "terminated"
        self.earlyDialogs = EMPTY
        self.dialog, self._answeredTag = dialog, tag
        self.state = _S.CONNECTING
        if self._hangupWanted:  # the 2xx crossed our CANCEL (sec. 9.1)
            return [self._sendAck(response, b"", None, now)] + self._bye("local-bye")
        if self.policy is not None:
            self._runTimer(self.policy.uacNegotiate(response), True, now)
        return [Event("answered", response)] + self._answerIn(
            self.invite, response, now)

    def _answerIn(self, request: Request, response: Response, now: float) -> list:
        """
        The 2xx to our INVITE/UPDATE C{request}: an offer to answer in
        the ACK (offerless INVITE), else the ACK now and the answer.
        """
        if request.method == "INVITE" and response.body and not request.body:
            self._awaitingAck = response
            return [Event("offer", response)]
        actions = []
        if request.method == "INVITE":
            actions.append(self._sendAck(response, b"", None, now))
        if request.body and response.body:
            actions.append(Event("answer", response))
        return actions

    def _forked(self, response: Response, tag: str) -> list:
        """A 2xx from another fork: ACK it, then BYE (sec. 13.2.2.4)."""
        ack = self._forkAcks.get(tag)
        if ack is not None:
            return [SendAck(ack)]
        self.forkedAnswers += (response,)
        dialog = Dialog.fromUACResponse(self.invite, response)
        ack = dialog.createAck(self._inviteSeq, via=self.via,
                               invite=self.invite)
        self._forkAcks = filed(self._forkAcks, tag, ack)
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
        setVia(headers, self.via)
        headers.set("CSeq", f"{self._inviteSeq + 1} INVITE")
        headers.set("Session-Expires", str(interval))
        headers.set("Min-SE", str(interval))
        self.invite = Request("INVITE", self.invite.uri, headers,
                              self.invite.body)
        self._inviteSeq += 1
        self._retried422 = True
        self.provisionalReceived = False
        self.earlyDialogs = EMPTY
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
            return self._answerIn(request, response, now)
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
            delay = self._random().randint(210, 400) / 100
        else:
            delay = self._random().randint(0, 200) / 100
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
        if request is self.invite and self.state in EARLY_STATES:
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
