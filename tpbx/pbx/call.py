# -*- test-case-name: tests.pbx.test_calls -*-
"""
One call through the B2BUA: the caller's leg A, the callee legs B (one per
registered contact while ringing; the first to answer wins), and the relay
session that anchors their media (or none: direct media).

The call turns each leg's events into actions on the other leg; it never
forwards a message as-is.  This module decides who talks to whom --
ringing, answering, pickup, in-dialog requests, ending -- and keeps the
call record; what each party is told about the other's media (SDP, hold,
re-INVITEs) is L{tpbx.pbx.callmedia}'s part of the same object, and the
digits keyed during the call are L{tpbx.pbx.calldigits}'s.
"""

from __future__ import annotations

from tpbx.errors import ProtocolError
from tpbx.pbx.anchor import aim, codecNames
from tpbx.pbx.calldigits import CallDigits
from tpbx.pbx.callmedia import CallMedia
from tpbx.pbx.callrecord import LegSummary, refuseCaller
from tpbx.pbx.leg import dispatchEvent
from tpbx.pbx.routing import Targets
from tpbx.pbx.transfer import refer
from tpbx.sip.invite import InviteState
from tpbx.sip.offeranswer import answerOffer
from tpbx.sip.sdp import parseSDP

__all__ = ["Call"]


class Call(CallMedia):
    """
    @ivar a: the caller's L{Leg}.
    @ivar forks: every B leg ever started.
    @ivar b: the B leg that answered, or L{None}.
    @ivar relay: the relay session, or L{None} for direct media.
    @ivar record: the L{CallRecord}.
    @ivar transfer: the running L{tpbx.pbx.transfer.TransferAttempt}.
    @ivar transferred: legs whose party left by transferring the call.
    @ivar onDigit: listeners C{(leg, digit)} told of every key its party
        presses while the call is answered (a L{tpbx.media.dtmf.Digit});
        add one to receive the call's DTMF (IVR; the in-call codes are
        told by L{CallDigits} itself).
    @ivar digits: the call's L{CallDigits}.
    """

    # A held call keeps one for as long as it lasts: no __dict__.
    __slots__ = ("manager", "a", "relay", "policy", "record", "forks", "ringing", "plan",
                 "b", "_aOffer", "_aOfferBody", "_failures", "transfer", "transferred", "ended", "onDigit",
                 "digits", "_paired")

    def __init__(self, manager, a, relay, policy, record: CallRecord, offer=None):
        self.manager = manager
        self.a = a
        a.call = self
        self.relay = relay
        a.side = relay.a if relay is not None else None
        self.policy = policy
        self.record = record
        self.forks: list = []
        self.ringing = ()
        self.plan = None
        self.b = None
        self._aOfferBody = a.session.invite.body
        if offer is None and self._aOfferBody:
            offer = parseSDP(self._aOfferBody)
        self._aOffer = offer
        self._failures: tuple[int, ...] = ()
        self._initMedia()
        self.transfer = None
        self.transferred: tuple = ()
        self.ended = False
        self.onDigit: list = []
        self.digits = CallDigits(self)
        self._paired = None   # (a, b) when the call was last seen answered
        if self.aOffer is not None:
            aim(a.side, self.aOffer)

    def __repr__(self) -> str:
        return f"<Call {self.record.caller}->{self.record.dialled}>"

    @property
    def aOffer(self):
        """
        The caller's offer (its INVITE's SDP), or L{None} for a late offer.
        Setting the call up reads it several times, so it is kept parsed
        until the call is answered; after that, when nothing needs it any
        more, only its bytes are kept (and parsed again if ever asked).
        """
        if self._aOffer is None and self._aOfferBody:
            return parseSDP(self._aOfferBody)
        return self._aOffer

    # Starting

    def ring(self, targets) -> None:
        """
        Ring C{targets} (a L{tpbx.pbx.routing.Targets}): every device of
        every destination at once; when nobody answers, its C{onFailure}
        says what comes next.
        """
        if self.relay is None and self.forks:   # a later step of a direct call
            self._relayFrom(targets)
        self.plan = targets
        legs = self.manager.legsFor(self, targets)
        self.ringing = legs
        if not legs:
            self._planFailed("not-registered")
            return
        for leg in legs:
            leg.call = self
            leg.side = self.relay.b if self.relay is not None else None
            self.forks.append(leg)
        self.manager.ringTimer(self, targets.ringTime)
        for leg in legs:
            leg.perform(leg.session.start(leg.now()))

    def _relayFrom(self, targets) -> None:
        """
        The call went direct, and its plan goes on to C{targets}
        (forwarding on no answer or busy): anchor its media from now on if
        they need the relay (an extension without direct media, a SIP
        URI).  Nobody has answered, so the caller's answer is still to be
        written, on the relay's side.
        """
        relay = self.manager.relays.forForward(self, targets)
        if relay is not None:
            self.relay = relay
            self.a.side = relay.a
            if self.aOffer is not None:
                aim(self.a.side, self.aOffer)

    def ringTimeout(self) -> None:
        """Nobody answered in time: stop those phones, go on with the plan."""
        if self.b is None and self._callerWaiting():
            ringing, self.ringing = self.ringing, ()
            for leg in ringing:
                leg.hangup()
            self._planFailed("no-answer")

    def _planFailed(self, outcome: str) -> None:
        """The current targets failed with C{outcome}: next step or refuse."""
        follow = self.plan.onFailure(outcome) if self.plan.onFailure else None
        if isinstance(follow, Targets):
            self.ring(follow)
            return
        refuseCaller(self.a, self.record, follow, outcome, self._failures)

    def _callerWaiting(self) -> bool:
        return self.a.session.state in (InviteState.INCOMING, InviteState.EARLY)

    def pickUp(self, picker) -> bool:
        """
        Connect the waiting caller to C{picker} (a caller-side leg whose
        INVITE offers SDP) instead of the ringing phones (SPEC E2 pickup):
        both offers are answered by the PBX with one codec they share.

        @return: whether it could (a ringing call, a relay, offers both ways).
        """
        if (self.b is not None or not self._callerWaiting() or self.relay is None
                or self.aOffer is None or not picker.session.invite.body):
            return False
        offer = parseSDP(picker.session.invite.body)
        shared = codecNames(self.aOffer) & codecNames(offer)
        try:
            answerA, codec, _ = answerOffer(self.aOffer, self.policy, self.relay.a.address,
                                            self.relay.a.port, playable=shared)
            answerP, _, _ = answerOffer(offer, self.policy, self.relay.b.address,
                                        self.relay.b.port, playable=(codec.name,))
        except ProtocolError:
            return False
        ringing, self.ringing = self.ringing, ()
        for leg in ringing:
            leg.hangup()
        picker.call, picker.side = self, self.relay.b
        aim(picker.side, offer)
        self.forks.append(picker)
        self.b = picker
        self.record.answer = picker.now()
        self.record.disposition = "answered"
        self.record.callee = picker.target
        self.record.codec = codec.name
        self.manager.answered(self)
        self.a.respond(self.a.session.invite, 200, body=self.a.describe(answerA))
        picker.respond(picker.session.invite, 200, body=picker.describe(answerP))
        self._partiesChanged()
        return True

    def involves(self, number: str) -> bool:
        """Whether extension C{number} is talking in this call (a parker is not)."""
        live = [leg for leg in (self.a, self.b) if leg is not None and leg.call is self]
        return not self.ended and any(number == (self.record.caller if leg is self.a
                                                 else leg.target) for leg in live)

    def hangupAll(self, side: str) -> None:
        """End every leg (RTP timeout, shutdown)."""
        self.record.hangupSide = self.record.hangupSide or side
        for leg in [self.a] + self.forks:
            leg.hangup(480 if leg is self.a else 603)

    # Events

    def legEvent(self, leg, event) -> None:
        if self.transfer is not None and self.transfer.intercepts(leg, event):
            self.maybeEnded()
            return
        dispatchEvent(self, self._A_EVENTS if leg is self.a else self._B_EVENTS, leg, event)
        self.maybeEnded()

    def _refuse(self, leg, event, status: int) -> None:
        request = event.message
        if request is not None and getattr(request, "method", None) in ("INVITE", "UPDATE"):
            if request in leg.session._pendingIn:
                leg.respond(request, status)
                return
        if leg is self.a and self.b is None:
            leg.hangup(status)
        elif leg is not self.a and self._callerWaiting():
            # A callee answered with SDP we cannot use: end that leg and
            # tell the caller the callee misbehaved (502), rather than
            # leave the caller waiting with no ring timer.
            self.a.respond(self.a.session.invite, 502, reason="Bad SDP from the callee")
            leg.hangup()

    # B leg events

    def _bProvisional(self, leg, event) -> None:
        if self.a.session.state in (InviteState.INCOMING, InviteState.EARLY):
            self.a.respond(self.a.session.invite, 180 if event.kind == "ringing" else 183)

    def _bAnswered(self, leg, event) -> None:
        if self.b is not None or leg not in self.ringing or not self._callerWaiting():
            leg.hangup()
            return
        self.b = leg
        self.record.answer = leg.now()
        self.record.disposition = "answered"
        self.record.callee = leg.target or self.record.callee
        self.manager.answered(self)
        self._stopForks(leg)
        if not event.message.body and self.aOffer is not None:
            self.a.respond(self.a.session.invite, 200,
                           body=self.a.sdp.lastBody or b"")

    def _bTerminated(self, leg, event) -> None:
        if leg is self.b:
            self.record.hangupSide = self.record.hangupSide or "callee"
            self.a.hangup()
            return
        if leg not in self.ringing:
            return
        message = event.message
        status = getattr(message, "status", None) or (408 if event.reason == "timeout" else 480)
        self._failures += (status,)
        if self.b is None and self._callerWaiting() and all(
                f.session.state is InviteState.DISCONNECTED for f in self.ringing):
            self.ringing = ()
            busy = any(s in (486, 600) for s in self._failures)
            self._planFailed("busy" if busy else "failed")

    # A leg events

    def _aTerminated(self, leg, event) -> None:
        if event.reason == "cancelled":
            self.record.disposition = "cancelled"
        self.record.hangupSide = self.record.hangupSide or "caller"
        self._stopForks(self.b)
        if self.b is not None:
            self.b.hangup()

    # Both legs

    def _request(self, leg, event) -> None:
        """INFO (DTMF) goes to the other party (L{CallDigits.info});
        OPTIONS answered; REFER transfers (L{tpbx.pbx.transfer}); the
        rest refused."""
        request = event.message
        other = self.b if leg is self.a else self.a
        if request.method == "INFO" and other is not None:
            self.digits.info(leg, other, request)
        elif request.method == "OPTIONS":
            leg.respond(request, 200)
        elif request.method == "REFER":
            refer(self, leg, request)
        else:
            leg.respond(request, 501, reason=f"{request.method} not supported in a call yet")

    def _stopForks(self, winner) -> None:
        for leg in self.forks:
            if leg is not winner:
                leg.hangup()

    def maybeEnded(self) -> None:
        """
        After every event: end the call once every leg is disconnected;
        else notice whether its parties changed (L{_partiesChanged}).
        """
        if self.ended:
            return
        if not self._allDisconnected():
            self._partiesChanged()
            return
        self.ended = True
        self.record.end = self.a.now()
        self._stopMusic()
        self.stopRecording()
        self.digits.stop()
        self.record.legs = [LegSummary(leg.callId, leg.target,
                                       leg is self.b or leg in self.transferred)
                            for leg in self.forks]
        self.manager.callEnded(self)

    def _allDisconnected(self) -> bool:
        """Whether every leg's dialog is over; asked after every event, so
        a plain loop, the caller's leg (nearly always up) first."""
        disconnected = InviteState.DISCONNECTED
        if self.a.session.state is not disconnected:
            return False
        for leg in self.forks:
            if leg.session.state is not disconnected:
                return False
        return True

    def _partiesChanged(self) -> None:
        """
        The call was answered, or a transfer, pickup or unpark put a new
        party in it: start the in-call DTMF the first time, watch the new
        party's, and (direct media) tell the party that stayed.  Not
        before the caller has its 200 and a late offer its answer: their
        descriptions say which telephone-events they use.
        """
        if (self.b is None or self.transfer is not None or self._callerWaiting()
                or self.bOffer is not None):
            return
        pair = (self.a, self.b)
        if pair == self._paired:
            return
        before, self._paired = self._paired, pair
        if before is None:
            self._answered()
            self.digits.start()
        else:
            self._newParty(before)
            self.digits.attach()

    def _answered(self) -> None:
        """
        The call is answered: drop what only ringing needed -- the plan,
        the legs that rang and their failures, the caller's offer parsed
        (L{aOffer}) -- since a call may now stay up for hours.
        """
        self.plan, self.ringing, self._failures, self._aOffer = None, (), (), None

    _A_EVENTS = {
        "offer": CallMedia._aOffer,
        "answer": CallMedia._aAnswer,
        "failed": CallMedia._updateFailed,
        "request": _request,
        "refresh": CallMedia._refresh,
        "retry": CallMedia._retry,
        "terminated": _aTerminated,
    }
    _B_EVENTS = {
        "ringing": _bProvisional,
        "progress": _bProvisional,
        "early-media": CallMedia._bEarlyMedia,
        "answered": _bAnswered,
        "offer": CallMedia._bOffer,
        "answer": CallMedia._bAnswer,
        "failed": CallMedia._updateFailed,
        "request": _request,
        "refresh": CallMedia._refresh,
        "retry": CallMedia._retry,
        "terminated": _bTerminated,
    }
