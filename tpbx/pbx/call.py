# -*- test-case-name: tests.pbx.test_calls -*-
"""
One call through the B2BUA: the caller's leg A, the callee legs B (one per
registered contact while ringing; the first to answer wins), and the relay
session that anchors their media.

The call turns each leg's events into actions on the other leg, rewriting
SDP so both parties send RTP to the relay (RFC 3264 offer/answer through
L{tpbx.sip.offeranswer}); it never forwards a message as-is.  Hold is
answered by the PBX itself: the held party hears music on hold and the
holding phone's re-INVITE never reaches it.
"""

from __future__ import annotations

from twisted.logger import Logger

from tpbx.errors import ProtocolError
from tpbx.pbx.anchor import aim, codecNames, firstAudio, relayPorts
from tpbx.pbx.callrecord import LegSummary, bestFailure
from tpbx.pbx.routing import Reject, Targets
from tpbx.pbx.transfer import refer
from tpbx.sip.invite import InviteState
from tpbx.sip.message import Request
from tpbx.sip.offeranswer import (anchorAnswer, anchorOffer, answerDirection,
                                  answerOffer, negotiatedCodec)
from tpbx.sip.sdp import parseSDP

__all__ = ["Call"]

_log = Logger()


class Call:
    """
    @ivar a: the caller's L{Leg}.
    @ivar forks: every B leg ever started.
    @ivar b: the B leg that answered, or L{None}.
    @ivar relay: the relay session, or L{None} for direct media.
    @ivar record: the L{CallRecord}.
    @ivar transfer: the running L{tpbx.pbx.transfer.TransferAttempt}.
    @ivar transferred: legs whose party left by transferring the call.
    """

    def __init__(self, manager, a, relay, policy, record: CallRecord):
        self.manager = manager
        self.a = a
        a.call = self
        self.relay = relay
        a.side = relay.a if relay is not None else None
        self.policy = policy
        self.record = record
        self.forks: list = []
        self.ringing: list = []
        self.plan = None
        self.b = None
        self.aOffer = parseSDP(a.session.invite.body) if a.session.invite.body else None
        self.bOffer = None
        self._failures: list[int] = []
        self._pending: dict = {}   # leg -> request of the other leg to answer
        self._holds: dict = {}     # held leg -> music-on-hold player
        self.recorder = None
        self.transfer = None
        self.transferred: list = []
        self.ended = False
        if self.aOffer is not None:
            aim(a.side, self.aOffer)

    def __repr__(self) -> str:
        return f"<Call {self.record.caller}->{self.record.dialled}>"

    # Starting

    def offerFor(self, leg) -> bytes:
        """The body of the INVITE to B leg C{leg} (empty: late offer)."""
        if self.aOffer is None:
            return b""
        address = self.relay.b.address if self.relay is not None else None
        port = self.relay.b.port if self.relay is not None else None
        anchored = anchorOffer(self.aOffer, self.policy, address,
                               relayPorts(self.aOffer, port) if port else None)
        return leg.describe(anchored)

    def ring(self, targets) -> None:
        """
        Ring C{targets} (a L{tpbx.pbx.routing.Targets}): every device of
        every destination at once; when nobody answers, its C{onFailure}
        says what comes next.
        """
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

    def ringTimeout(self) -> None:
        """Nobody answered in time: stop those phones, go on with the plan."""
        if self.b is None and self._callerWaiting():
            ringing, self.ringing = self.ringing, []
            for leg in ringing:
                leg.hangup()
            self._planFailed("no-answer")

    def _planFailed(self, outcome: str) -> None:
        """The current targets failed with C{outcome}: next step or refuse."""
        follow = self.plan.onFailure(outcome) if self.plan.onFailure else None
        if isinstance(follow, Targets):
            self.ring(follow)
            return
        if isinstance(follow, Reject):
            final, reason = follow.status, follow.reason
        elif outcome == "no-answer":
            final, reason = 480, "No Answer"
        else:
            final, reason = bestFailure(self._failures), None
        self.record.disposition = {"no-answer": "no-answer", "busy": "busy"}.get(
            outcome, "busy" if final in (486, 600) else "failed")
        self.record.status = final
        self.a.respond(self.a.session.invite, final, reason=reason)

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
        ringing, self.ringing = self.ringing, []
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
        return True

    def startRecording(self, recorder) -> None:
        """Feed both directions of the relayed audio to C{recorder} (E5)."""
        if self.relay is None or self.recorder is not None:
            return
        self.recorder = recorder
        self.relay.a.tap = recorder.tap("a")
        self.relay.b.tap = recorder.tap("b")

    def stopRecording(self) -> str | None:
        """@return: the recording's path, written; L{None} if none ran."""
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return None
        if self.relay is not None:
            self.relay.a.tap = self.relay.b.tap = None
        return recorder.close()

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
        table = self._A_EVENTS if leg is self.a else self._B_EVENTS
        handler = table.get(event.kind)
        if handler is not None:
            try:
                handler(self, leg, event)
            except ProtocolError as e:
                _log.info("call {call}: {kind} refused: {error}", call=self,
                          kind=event.kind, error=e.reason)
                self._refuse(leg, event, e.statusHint)
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

    def _bEarlyMedia(self, leg, event) -> None:
        if self.aOffer is None or self.b is not None:
            return
        if self.a.session.state not in (InviteState.INCOMING, InviteState.EARLY):
            return
        answer = parseSDP(event.message.body)
        aim(leg.side, answer)
        self.a.respond(self.a.session.invite, 183, body=self._answerForA(answer))

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

    def _bOffer(self, leg, event) -> None:
        """B offers: in its 2xx (late offer) or in a re-INVITE/UPDATE."""
        offer = parseSDP(event.message.body)
        aim(leg.side, offer)
        if isinstance(event.message, Request):   # a re-INVITE or UPDATE
            self._reoffer(leg, self.a, event.message, offer)   # hold too
            return
        address = self.relay.a.address if self.relay is not None else None
        port = self.relay.a.port if self.relay is not None else None
        anchored = anchorOffer(offer, self.policy, address,
                               relayPorts(offer, port) if port else None)
        body = self.a.describe(anchored)
        self.bOffer = offer   # late offer: A answers in its ACK
        self.a.respond(self.a.session.invite, 200, body=body)

    def _bAnswer(self, leg, event) -> None:
        answer = parseSDP(event.message.body)
        aim(leg.side, answer)
        if leg is not self.b or self._answerRelayed(leg, answer):
            return
        if self.a.session.state in (InviteState.INCOMING, InviteState.EARLY):
            self.record.codec = self._codec(answer)
            self.a.respond(self.a.session.invite, 200, body=self._answerForA(answer))

    def _answerRelayed(self, leg, answer) -> bool:
        """
        C{leg} answered an offer we relayed from the other leg: answer that
        leg's re-INVITE/UPDATE with it.  @return: whether it was one.
        """
        request = self._pending.pop(leg, None)
        if request is None:
            return False
        origin = self.a if leg is not self.a else self.b
        origin.respond(request, 200, body=self._anchoredAnswer(origin, answer, parseSDP(request.body)))
        return True

    def _updateFailed(self, leg, event) -> None:
        """C{leg} refused an offer we relayed: so does the PBX."""
        request = self._pending.pop(leg, None)
        if request is not None:
            origin = self.a if leg is not self.a else self.b
            status = getattr(event.message, "status", None) or 500
            origin.respond(request, status)

    def _bTerminated(self, leg, event) -> None:
        if leg is self.b:
            self.record.hangupSide = self.record.hangupSide or "callee"
            self.a.hangup()
            return
        if leg not in self.ringing:
            return
        message = event.message
        status = getattr(message, "status", None) or (408 if event.reason == "timeout" else 480)
        self._failures.append(status)
        if self.b is None and self._callerWaiting() and all(
                f.session.state is InviteState.DISCONNECTED for f in self.ringing):
            self.ringing = []
            busy = any(s in (486, 600) for s in self._failures)
            self._planFailed("busy" if busy else "failed")

    # A leg events

    def _aOffer(self, leg, event) -> None:
        """A re-offers (re-INVITE/UPDATE): hold, resume or a real change."""
        request = event.message
        if request is leg.session.invite:
            return  # the initial offer: already taken at construction
        offer = parseSDP(request.body)
        aim(leg.side, offer)
        if self.b is None:
            leg.respond(request, 491)
            return
        self._reoffer(leg, self.b, request, offer)

    def _aAnswer(self, leg, event) -> None:
        """A answers: an offer relayed from B, or (in its ACK) B's late offer."""
        answer = parseSDP(event.message.body)
        aim(leg.side, answer)
        if self._answerRelayed(leg, answer) or self.bOffer is None or self.b is None:
            return
        self.record.codec = self._codec(answer, self.bOffer)
        body = self._anchoredAnswer(self.b, answer, self.bOffer)
        self.b.perform(self.b.session.sendAck(leg.now(), body, "application/sdp"))
        self.bOffer = None

    def _aTerminated(self, leg, event) -> None:
        if event.reason == "cancelled":
            self.record.disposition = "cancelled"
        self.record.hangupSide = self.record.hangupSide or "caller"
        self._stopForks(None)
        if self.b is not None:
            self.b.hangup()

    # Both legs

    def _request(self, leg, event) -> None:
        """INFO (DTMF) is passed on; OPTIONS answered; REFER transfers
        (L{tpbx.pbx.transfer}); the rest refused."""
        request = event.message
        other = self.b if leg is self.a else self.a
        if request.method == "INFO" and other is not None:
            leg.respond(request, 200)
            contentType = request.headers.get("Content-Type")
            other.perform(other.session.request("INFO", leg.now(), request.body, contentType))
        elif request.method == "OPTIONS":
            leg.respond(request, 200)
        elif request.method == "REFER":
            refer(self, leg, request)
        else:
            leg.respond(request, 501, reason=f"{request.method} not supported in a call yet")

    def _refresh(self, leg, event) -> None:
        """Our session timer wants a refresh: re-send the last description."""
        if leg.session.canReinvite:
            leg.perform(leg.session.reinvite(leg.now(), leg.sdp.lastBody or b"",
                                             "application/sdp"))

    def _retry(self, leg, event) -> None:
        """After a 491, send the glared re-INVITE again (sec. 14.1)."""
        request = event.message
        if request is not None and leg.session.canReinvite:
            leg.perform(leg.session.reinvite(leg.now(), request.body,
                                             request.headers.get("Content-Type")))

    # Re-offers, hold and music on hold

    def _reoffer(self, leg, other, request, offer) -> None:
        held = offer.isHold()
        if held or leg in self._holdsBy():
            self._answerLocally(leg, request, offer)
            self._setHold(other, held)
            return
        side = other.side.address if other.side is not None else None
        port = other.side.port if other.side is not None else None
        anchored = anchorOffer(offer, self.policy, side, relayPorts(offer, port) if port else None)
        self._relayOffer(leg, other, request, other.describe(anchored))

    def _relayOffer(self, leg, other, request, body: bytes) -> None:
        if not other.session.canReinvite:
            leg.respond(request, 491)
            return
        self._pending[other] = request
        other.perform(other.session.reinvite(leg.now(), body, "application/sdp"))

    def _answerLocally(self, leg, request, offer) -> None:
        """Answer a hold/resume offer from the last description sent to
        C{leg}, with the directions of RFC 3264 sec. 6.1."""
        last = leg.sdp.last
        if last is None:
            leg.respond(request, 488)
            return
        for index, media in enumerate(last.media):
            if index < len(offer.media) and media.port:
                media.setDirection(answerDirection(offer.media[index].direction))
        leg.respond(request, 200, body=leg.describe(last))

    def _holdsBy(self) -> list:
        return [self.a if held is self.b else self.b for held in self._holds]

    def _setHold(self, held, on: bool) -> None:
        """Play music on hold to C{held} (or stop), muting the relay to it."""
        side = held.side
        if side is None:
            return
        player = self._holds.pop(held, None)
        if player is not None:
            player.stop()
        side.mute(on)
        if on:
            codec = self._legCodec(held)
            self._holds[held] = self.manager.startMusicOnHold(side, codec)

    # Helpers

    def _answerForA(self, answer) -> bytes:
        return self._anchoredAnswer(self.a, answer, self.aOffer)

    @staticmethod
    def _anchoredAnswer(origin, answer, originalOffer) -> bytes:
        """C{answer} rewritten for C{origin}, who made C{originalOffer}."""
        side = origin.side
        address = side.address if side is not None else None
        ports = relayPorts(originalOffer, side.port) if side is not None else None
        return origin.describe(anchorAnswer(answer, originalOffer, address, ports))

    def _codec(self, answer, offer=None) -> str:
        """The voice codec of C{answer} to C{offer} (A's by default)."""
        offer = offer if offer is not None else self.aOffer
        codec = negotiatedCodec(offer, answer) if offer is not None else None
        return codec.name if codec is not None else ""

    def _legCodec(self, leg):
        """
        The codec to play to leg's party: the call's negotiated one as
        numbered in the last SDP sent to it (an offer to B lists every
        allowed codec, B may have taken the second), else that SDP's first.
        """
        last = leg.sdp.last
        index = firstAudio(last) if last is not None else None
        if index is None:
            return None
        codecs = list(last.media[index].rtpmap().values())
        chosen = [c for c in codecs if c.name == self.record.codec]
        return (chosen or codecs or [None])[0]

    def _stopForks(self, winner) -> None:
        for leg in self.forks:
            if leg is not winner:
                leg.hangup()

    def maybeEnded(self) -> None:
        """End the call once every leg is disconnected."""
        if self.ended:
            return
        legs = [self.a] + self.forks
        if all(leg.session.state is InviteState.DISCONNECTED for leg in legs):
            self.ended = True
            self.record.end = self.a.now()
            for player in self._holds.values():
                player.stop()
            self._holds.clear()
            self.stopRecording()
            self.record.legs = [LegSummary(leg.callId, leg.target,
                                           leg is self.b or leg in self.transferred)
                                for leg in self.forks]
            self.manager.callEnded(self)

    _A_EVENTS = {
        "offer": _aOffer,
        "answer": _aAnswer,
        "failed": _updateFailed,
        "request": _request,
        "refresh": _refresh,
        "retry": _retry,
        "terminated": _aTerminated,
    }
    _B_EVENTS = {
        "ringing": _bProvisional,
        "progress": _bProvisional,
        "early-media": _bEarlyMedia,
        "answered": _bAnswered,
        "offer": _bOffer,
        "answer": _bAnswer,
        "failed": _updateFailed,
        "request": _request,
        "refresh": _refresh,
        "retry": _retry,
        "terminated": _bTerminated,
    }
