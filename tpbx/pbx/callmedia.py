# -*- test-case-name: tests.pbx.test_calls_midcall -*-
"""
The media side of a L{tpbx.pbx.call.Call}: SDP offers and answers
between its legs, hold and music on hold, the negotiated codec,
re-INVITE relaying, the relay's taps -- and direct media.

Why apart from the call: the call decides who talks to whom (ringing,
answering, transfers, ending); this decides what each party is told
about the other's media (RFC 3264 offer/answer through
L{tpbx.sip.offeranswer}).  It is a mixin of L{Call} so that the
features that act on both (transfer, park, pickup) keep one object.

Relayed calls (C{call.relay} set) rewrite every description to point at
the relay, and hold is answered by the PBX itself: the held party hears
music on hold and the holding phone's re-INVITE never reaches it.

Direct media (C{call.relay} L{None}; see L{wantsRelay}): descriptions
pass through with only the codec policy applied (488 still comes when
nothing is left; no C{c=}/C{m=} rewriting), and every re-offer, hold
included, is relayed to the other party, whose answer comes back.  When
a transfer puts a new party in the call, the party that stayed is
re-INVITEd with the newcomer's description, made C{sendrecv} (a hold
before the transfer is over); if the newcomer was told a hold direction,
it is re-INVITEd with the stayer's answer in turn (RFC 3264 sec. 8).
"""

from __future__ import annotations

from twisted.logger import Logger

from tpbx.pbx.anchor import aim, firstAudio, relayPorts
from tpbx.pbx.leg import SDP
from tpbx.sip.invite import InviteState
from tpbx.sip.inviteactions import EMPTY, filed, unfiled
from tpbx.sip.message import Request
from tpbx.sip.offeranswer import (anchorAnswer, anchorOffer, negotiatedCodec,
                                  resumeOffer)
from tpbx.sip.sdp import parseSDP

__all__ = ["CallMedia", "needsRelay", "wantsRelay"]

_log = Logger()


def wantsRelay(callerExtension, calleeExtensions) -> bool:
    """
    Whether a call needs the media relay (SPEC E1): unless the caller and
    every extension it rings allow direct media.  Always-on recording
    (C{recordCalls}) of any of them needs the relay too.

    @param callerExtension: the caller's L{tpbx.model.Extension}, or
        L{None} (not an extension: a trunk).
    @param calleeExtensions: the extensions rung, L{None} for a
        destination that is not one (a SIP URI, a trunk).
    """
    parties = [callerExtension, *calleeExtensions]
    return not calleeExtensions or not all(
        party is not None and party.directMedia and not party.recordCalls
        for party in parties)


def needsRelay(directory, caller, targets) -> bool:
    """
    L{wantsRelay} for C{caller} ringing C{targets} (a
    L{tpbx.pbx.routing.Targets}): asked when a call starts, and again
    when a direct call's plan goes on to other targets (forwarding on no
    answer or busy, L{tpbx.pbx.call.Call.ring}).
    """
    callees = [directory.extensionByNumber(d.target) if d.kind == "extension" else None
               for d in targets.destinations]
    return wantsRelay(caller, callees)


def _sendsAndReceives(sdp) -> bool:
    index = firstAudio(sdp)
    return index is None or sdp.media[index].direction == "sendrecv"


class CallMedia:
    """
    Offer/answer between the legs of a call (mixed into
    L{tpbx.pbx.call.Call}, whose attributes it uses: C{a}, C{b},
    C{relay}, C{policy}, C{aOffer}, C{record}, C{manager}).
    """

    __slots__ = ("bOffer", "_pending", "_rejoin", "_holds", "_recordTaps", "recorder")

    def _initMedia(self) -> None:
        self.bOffer = None
        # EMPTY until used, and again once emptied (L{filed}, L{unfiled}).
        self._pending = EMPTY      # leg -> request of the other leg to answer
        self._rejoin = EMPTY       # stayer re-INVITEd -> newcomer (direct media)
        self._holds = EMPTY        # held leg -> music-on-hold player
        self._recordTaps = EMPTY   # relay side name -> recorder tap
        self.recorder = None

    def offerFor(self, leg) -> bytes:
        """The body of the INVITE to B leg C{leg} (empty: late offer)."""
        if self.aOffer is None:
            return b""
        return leg.describe(self._anchoredOffer(self.aOffer, self.relay.b if self.relay else None))

    def _anchoredOffer(self, offer, side):
        """C{offer} for the party of relay C{side} (L{None}: direct)."""
        if side is None:
            return anchorOffer(offer, self.policy)
        return anchorOffer(offer, self.policy, side.address, relayPorts(offer, side.port))

    # Recording and other taps

    def startRecording(self, recorder) -> None:
        """Feed both directions of the relayed audio to C{recorder} (E5)."""
        if self.relay is None or self.recorder is not None:
            return
        self.recorder = recorder
        self._recordTaps = {"a": recorder.tap("a"), "b": recorder.tap("b")}
        self._updateTaps()

    def stopRecording(self) -> str | None:
        """@return: the recording's path, written; L{None} if none ran."""
        recorder, self.recorder = self.recorder, None
        if recorder is None:
            return None
        self._recordTaps = EMPTY
        self._updateTaps()
        return recorder.close()

    def _updateTaps(self) -> None:
        """Give each relay side the taps wanted on it now (recording,
        DTMF), joined when there are two: the relay has one slot."""
        if self.relay is None:
            return
        sides = (("a", self.relay.a), ("b", self.relay.b))
        for (name, side), digitTap in zip(sides, self.digits.taps):
            taps = [tap for tap in (self._recordTaps.get(name), digitTap) if tap is not None]
            side.tap = _bothTaps(*taps) if len(taps) > 1 else (taps[0] if taps else None)

    # B leg events

    def _bEarlyMedia(self, leg, event) -> None:
        if self.aOffer is None or self.b is not None:
            return
        if self.a.session.state not in (InviteState.INCOMING, InviteState.EARLY):
            return
        answer = parseSDP(event.message.body)
        aim(leg.side, answer)
        self.a.respond(self.a.session.invite, 183, body=self._answerForA(answer))

    def _bOffer(self, leg, event) -> None:
        """B offers: in its 2xx (late offer) or in a re-INVITE/UPDATE."""
        offer = parseSDP(event.message.body)
        aim(leg.side, offer)
        if isinstance(event.message, Request):   # a re-INVITE or UPDATE
            self._reoffer(leg, self.a, event.message, offer)   # hold too
            return
        body = self.a.describe(self._anchoredOffer(offer, self.relay.a if self.relay else None))
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
        leg's re-INVITE/UPDATE with it; or an offer made when a transfer
        joined it to a new party.  @return: whether it was one.
        """
        newcomer, self._rejoin = unfiled(self._rejoin, leg)
        if newcomer is not None:
            if not _sendsAndReceives(parseSDP(newcomer.remote)):
                self._reinvite(newcomer, answer)
            return True
        request, self._pending = unfiled(self._pending, leg)
        if request is None:
            return False
        origin = self.a if leg is not self.a else self.b
        origin.respond(request, 200, body=self._anchoredAnswer(origin, answer, parseSDP(request.body)))
        return True

    def _updateFailed(self, leg, event) -> None:
        """C{leg} refused an offer we relayed: so does the PBX."""
        newcomer, self._rejoin = unfiled(self._rejoin, leg)
        if newcomer is not None:
            _log.info("call {call}: {leg} refused its new party's media", call=self, leg=leg)
        request, self._pending = unfiled(self._pending, leg)
        if request is not None:
            origin = self.a if leg is not self.a else self.b
            status = getattr(event.message, "status", None) or 500
            origin.respond(request, status)

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
        self.b.perform(self.b.session.sendAck(leg.now(), body, SDP))
        self.bOffer = None

    # Both legs

    def _refresh(self, leg, event) -> None:
        """Our session timer wants a refresh: re-send the last description."""
        if leg.session.canReinvite:
            leg.perform(leg.session.reinvite(leg.now(), leg.sdp.lastBody or b"", SDP))

    def _retry(self, leg, event) -> None:
        """After a 491, send the glared re-INVITE again (sec. 14.1)."""
        request = event.message
        if request is not None and leg.session.canReinvite:
            leg.perform(leg.session.reinvite(leg.now(), request.body,
                                             request.headers.get("Content-Type")))

    # Re-offers, hold and music on hold

    def _reoffer(self, leg, other, request, offer) -> None:
        if self.relay is not None and (offer.isHold() or leg in self._holdsBy()):
            leg.answerWithLast(request, offer)
            self._setHold(other, offer.isHold())
            return
        self._relayOffer(leg, other, request,
                         other.describe(self._anchoredOffer(offer, other.side)))

    def _relayOffer(self, leg, other, request, body: bytes) -> None:
        if not other.session.canReinvite:
            leg.respond(request, 491)
            return
        self._pending = filed(self._pending, other, request)
        other.perform(other.session.reinvite(leg.now(), body, SDP))

    def _holdsBy(self) -> list:
        return [self.a if held is self.b else self.b for held in self._holds]

    def _setHold(self, held, on: bool) -> None:
        """Play music on hold to C{held} (or stop), muting the relay to it."""
        side = held.side
        if side is None:
            return
        player, self._holds = unfiled(self._holds, held)
        if player is not None:
            player.stop()
        side.mute(on)
        if on:
            codec = self._legCodec(held)
            self._holds = filed(self._holds, held, self.manager.startMusicOnHold(side, codec))

    def _stopMusic(self) -> None:
        for player in self._holds.values():
            player.stop()
        self._holds = EMPTY

    # A new party (direct media)

    def _newParty(self, before: tuple) -> None:
        """
        C{before} talked; now C{self.a} and C{self.b} do.  With direct
        media the party that stayed must learn where its new peer's media
        is: re-INVITE it with that description, resumed.
        """
        if self.relay is not None:
            return
        stayer = next((leg for leg in (self.a, self.b) if leg in before), None)
        newcomer = self.b if stayer is self.a else self.a
        if stayer is None or newcomer is stayer or not newcomer.remote:
            return
        self._rejoin = filed(self._rejoin, stayer, newcomer)
        self._reinvite(stayer, parseSDP(newcomer.remote))

    def _reinvite(self, leg, description) -> None:
        """Offer C{leg}'s party C{description}, C{sendrecv}."""
        if not leg.session.canReinvite:
            self._rejoin = unfiled(self._rejoin, leg)[1]
            _log.info("call {call}: cannot re-INVITE {leg} with its new party", call=self,
                      leg=leg)
            return
        body = leg.describe(resumeOffer(anchorOffer(description, self.policy)))
        leg.perform(leg.session.reinvite(leg.now(), body, SDP))

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


def _bothTaps(first, second):
    """@return: one tap showing each packet to C{first} then C{second}."""
    def both(packet: bytes, now: float) -> None:
        first(packet, now)
        second(packet, now)
    return both
