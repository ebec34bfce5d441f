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

The session is one class written in three modules: this one (set-up,
what the TU may do, ending, timers), L{tpbx.sip.inviteclient} (the
responses to requests we sent) and L{tpbx.sip.inviteserver} (the
requests the peer sends and our answers), sharing the vocabulary of
L{tpbx.sip.inviteactions}.  Import every public name from here.

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
import sys
from typing import Mapping

from tpbx.errors import ProtocolError
from tpbx.sip.dialog import Dialog
from tpbx.sip.headers import Headers, splitCommas
from tpbx.sip.inviteactions import (
    EARLY_STATES, EMPTY, LIVE_STATES, Event, HeaderLines, InviteState, LastAck, Role,
    SendAck, SendRequest, SendResponse, filed,
)
from tpbx.sip.inviteclient import InviteClientMixin
from tpbx.sip.inviteserver import InviteServerMixin
from tpbx.sip.message import Message, Request, Response
from tpbx.sip.sessiontimer import Negotiated, SessionTimer, SessionTimerPolicy
from tpbx.sip.timers import TimerConfig

__all__ = ["InviteState", "Role", "InviteSession", "SendRequest",
           "SendResponse", "SendAck", "Event", "cancelFor"]

_S = InviteState


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


class InviteSession(InviteClientMixin, InviteServerMixin):
    """
    One call leg's INVITE usage.  Build it with L{outgoing} or
    L{incoming}, then call L{start}.

    Every method that takes C{now} returns a list of actions.  Methods
    fed a peer's message raise L{ProtocolError} (400) for a malformed
    header they need; the caller answers a request with its
    C{statusHint} and drops a response.

    @ivar role: L{Role.UAC} or L{Role.UAS}.
    @ivar state: the L{InviteState}.
    @ivar invite: the initial INVITE (UAC: the latest, after a 422 retry);
        read-only for callers (its CSeq number is kept, not re-read).
        Once confirmed, a copy with only the headers still read
        (L{tpbx.sip.inviteactions.confirmedInvite}) and the body.
    @ivar dialog: the leg's L{Dialog} (UAC: the latest early dialog, then
        the one the first 2xx confirmed; L{None} before any).
    @ivar earlyDialogs: UAC early dialogs by To tag (forking).
    @ivar forkedAnswers: 2xx from other forks, ACKed and BYEd (a tuple).
    @ivar via: the Via value (no branch) for requests this leg sends.
    @ivar sessionTimer: the running L{SessionTimer}, or L{None}.
    """

    # A held call keeps two sessions for as long as it lasts: no __dict__.
    __slots__ = ("role", "state", "invite", "via", "timers", "policy", "dialog",
                 "earlyDialogs", "forkedAnswers", "sessionTimer", "provisionalReceived",
                 "_rng", "_inviteSeq", "_answeredTag", "_forkAcks", "_pendingOut",
                 "_pendingIn", "_retransmits", "_timerTerms", "_lastAck", "_awaitingAck",
                 "_glared", "_retryAt", "_hangupWanted", "_cancelSent", "_retried422")

    def __init__(self, role: Role, invite: Request, via: str,
                 timers: TimerConfig = TimerConfig(),
                 policy: SessionTimerPolicy | None = None,
                 rng: random.Random | None = None):
        self.role = role
        self.state = InviteState.NULL
        self.invite = invite
        self.via = sys.intern(via)   # one per transport: shared by the sessions
        self.timers = timers
        self.policy = policy
        self.dialog: Dialog | None = None
        # The tables below are EMPTY until used, and again once emptied.
        self.earlyDialogs: Mapping[str, Dialog] = EMPTY
        self.forkedAnswers: tuple[Response, ...] = ()
        self.sessionTimer: SessionTimer | None = None
        self.provisionalReceived = False
        self._rng = rng  # made on first use: see _random
        self._inviteSeq = invite.cseq[0]
        self._answeredTag: str | None = None
        self._forkAcks: Mapping[str, Request] = EMPTY
        self._pendingOut: Request | None = None
        self._pendingIn: Mapping[Request, object] = EMPTY
        self._retransmits: Mapping = EMPTY  # CSeq -> inviteserver._Retransmit
        self._timerTerms: Mapping[Request, Negotiated] = EMPTY
        self._lastAck: LastAck | None = None
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
        session._pendingIn = filed(session._pendingIn, invite, transaction)
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
        tooSmall = self._negotiateTimer(self.invite)
        if tooSmall is not None:
            return self.respond(self.invite, 422, now,
                                extraHeaders=tooSmall.responseHeaders())
        return [Event("offer", self.invite)] if self.invite.body else []

    # What the TU may do

    @property
    def canCancel(self) -> bool:
        """Whether a CANCEL may go now: a provisional came (sec. 9.1)."""
        return (self.role is Role.UAC and self.state in EARLY_STATES
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
        if self.role is Role.UAS and self.state in EARLY_STATES:
            return self.respond(self.invite, status, now)
        self._hangupWanted = True
        if self.state in EARLY_STATES:
            return self._cancel()
        if self.state is _S.CONNECTING and self.role is Role.UAS:
            return []
        actions = []
        if self._awaitingAck is not None:
            actions.append(self._sendAck(self._awaitingAck, b"", None, now))
        return actions + self._bye("local-bye")

    def _cancel(self) -> list:
        if not self.canCancel:
            return []
        self._cancelSent = True
        return [SendRequest(cancelFor(self.invite))]

    def reinvite(self, now: float, body: bytes = b"",
                 contentType: str | None = None,
                 extraHeaders: HeaderLines = ()) -> list:
        """
        Send a re-INVITE (sec. 14.1); an empty body asks the peer for an
        offer.  @raise ProtocolError: (491) unless L{canReinvite}.
        """
        if not self.canReinvite:
            raise ProtocolError("A re-INVITE cannot be sent now", 491)
        return self._sendRefresh("INVITE", body, contentType, extraHeaders)

    def update(self, now: float, body: bytes = b"",
               contentType: str | None = None,
               extraHeaders: HeaderLines = ()) -> list:
        """
        Send an UPDATE (RFC 3311), with an offer or, empty, as a session
        refresh (RFC 4028).  @raise ProtocolError: (491) while an
        offer/answer or a 491 retry wait is pending.
        """
        if (self.state not in LIVE_STATES or self.dialog is None
                or self._offerPending() or self._retryAt is not None):
            raise ProtocolError("An UPDATE cannot be sent now", 491)
        return self._sendRefresh("UPDATE", body, contentType, extraHeaders)

    def _sendRefresh(self, method: str, body: bytes, contentType: str | None,
                     extraHeaders: HeaderLines) -> list:
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
                extraHeaders: HeaderLines = ()) -> list:
        """
        Send another in-dialog request (INFO, REFER, NOTIFY, OPTIONS);
        its final response comes back as a C{response} event.
        """
        if self.state not in LIVE_STATES or self.dialog is None:
            raise ProtocolError("No dialog to send in", 481)
        return [SendRequest(self.dialog.createRequest(
            method, body, contentType, extraHeaders, via=self.via))]

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

    def _random(self) -> random.Random:
        """
        The generator for glare delays and Retry-After (sec. 14.1), made
        on first use: seeding one reads the OS entropy pool, and most
        calls never need it.
        """
        if self._rng is None:
            self._rng = random.Random()
        return self._rng

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
        self._pendingIn = self._timerTerms = EMPTY
        self.state = _S.DISCONNECTED
        if self.dialog is not None:
            self.dialog.state = "terminated"
        self._retransmits = EMPTY
        self._retryAt = self.sessionTimer = self._awaitingAck = None
        self._pendingOut = self._glared = None
        return actions + [Event("terminated", message, reason)]

    # Timers

    def handleTimers(self, now: float) -> list:
        """Everything due at C{now}: L{due}, the 491 retry, the session
        timer's refresh or expiry (RFC 4028 sec. 10: BYE); the last ACK
        is forgotten once its 2xx can no longer be re-sent."""
        actions = self.due(now)
        if self._lastAck is not None and now >= self._lastAck.until:
            self._lastAck = None
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
        # Asked after every event of every leg: no list, no min() call.
        soonest = None
        for e in self._retransmits.values():
            at = e.nextAt if e.nextAt < e.giveUpAt else e.giveUpAt
            if soonest is None or at < soonest:
                soonest = at
        for at in (self._retryAt,
                   None if self._lastAck is None else self._lastAck.until,
                   None if self.sessionTimer is None else self.sessionTimer.nextDeadline()):
            if at is not None and (soonest is None or at < soonest):
                soonest = at
        return soonest
