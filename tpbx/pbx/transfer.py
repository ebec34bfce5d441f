# -*- test-case-name: tests.pbx.test_transfer -*-
"""
Blind transfer (RFC 3515 REFER, RFC 5589 sec. 6) performed by the B2BUA.

Why the PBX does it itself: the transferee only ever talks to the PBX, so
instead of passing the REFER on, the PBX rings the Refer-To target with
the transferee's last session description anchored on the transferor's
relay side, and when the target answers it simply aims that relay side at
the target and puts the new leg in the transferor's place.  The transferee
gets no re-INVITE at all.  The transferor hears how it went through the
implicit subscription of RFC 3515 sec. 2.4.4: NOTIFYs with a
C{message/sipfrag} status line, the last one terminating it.

A Refer-To with Replaces (attended transfer, RFC 3891) is handed to
L{tpbx.pbx.attended} through the call manager's features, and one to the
park code parks the transferee (L{tpbx.pbx.park}); both use the helpers
here (L{takePlace}, L{sendNotify}).
"""

from __future__ import annotations

from dataclasses import dataclass

from twisted.logger import Logger

from tpbx.errors import ProtocolError
from tpbx.pbx.anchor import aim, relayPorts
from tpbx.pbx.callrecord import bestFailure
from tpbx.pbx.features.dialcodes import FeatureRequest
from tpbx.pbx.routing import Reject, Targets, dialledNumber
from tpbx.sip.address import parseNameAddr
from tpbx.sip.invite import InviteState
from tpbx.sip.message import REASONS
from tpbx.sip.offeranswer import anchorOffer, negotiatedCodec
from tpbx.sip.sdp import parseSDP
from tpbx.sip.uri import parseURI

__all__ = ["SIPFRAG", "TransferAttempt", "partyNumber", "refer", "referTarget",
           "referUri", "sendNotify", "takePlace", "transferCall"]

_log = Logger()

#: RFC 3515 sec. 2.4.5: the body of every NOTIFY of the refer event.
SIPFRAG = "message/sipfrag;version=2.0"
#: How long the implicit subscription lasts unless ended (RFC 3515 sec.
#: 2.4.4 leaves it to the notifier).
_EXPIRES = 60


def referUri(request):
    """
    The Refer-To URI of a REFER.

    @raise ProtocolError: 400 when Refer-To is missing, malformed or not a
        SIP URI with a user part (RFC 3515 sec. 2.4.1).
    """
    value = request.headers.get("Refer-To")
    if not value:
        raise ProtocolError("Missing Refer-To", 400)
    uri = parseURI(parseNameAddr(value).uri)
    if not uri.isSip or not uri.user:
        raise ProtocolError("Refer-To is not a SIP URI with a user part", 400)
    return uri


def referTarget(request) -> str:
    """
    The number a REFER transfers to: the user part of its Refer-To URI.

    @raise ProtocolError: as L{referUri}.
    """
    return dialledNumber(referUri(request).user)


def _replaces(uri) -> str | None:
    """The (still escaped) Replaces header of a Refer-To URI (RFC 3891
    sec. 5), or L{None}."""
    return next((value for name, value in uri.headers.items()
                 if name.lower() == "replaces"), None)


def partyNumber(call, leg) -> str:
    """The extension (or URI) of the party on C{leg} of C{call}."""
    return call.record.caller if leg is call.a else leg.target


def refer(call, leg, request) -> None:
    """
    A REFER from the party on C{leg} of C{call}: check it, accept it (202)
    and start transferring the other party (RFC 3515 sec. 2.4.2); with
    Replaces, an attended transfer (L{tpbx.pbx.attended}).
    """
    try:
        uri = referUri(request)
    except ProtocolError as e:
        leg.respond(request, e.statusHint, reason=e.reason)
        return
    replaces = _replaces(uri)
    if replaces is not None:
        call.manager.features.attendedTransfer(call, leg, request, replaces)
        return
    number = dialledNumber(uri.user)
    attempt = _attempt(call, leg, f"refer;id={request.cseq[0]}")   # sec. 2.4.6
    if attempt is None:
        leg.respond(request, 491, reason="No call to transfer now")
        return
    leg.respond(request, 202)
    attempt.start(number)


def transferCall(call, leg, number: str) -> bool:
    """
    Blind-transfer the party talking with C{leg}'s to C{number} without a
    REFER (the transfer dial code, for phones that cannot send one): no
    progress is reported, the transferor's leg is hung up on success.

    @return: whether the attempt started.
    """
    attempt = _attempt(call, leg, None)
    if attempt is not None:
        attempt.start(number)
    return attempt is not None


def _attempt(call, leg, event: str | None):
    """
    A L{TransferAttempt} of the party opposite C{leg}, made the call's;
    L{None} if the call is not answered, already transferring, or that
    party never sent a session description.
    """
    other = call.b if leg is call.a else call.a
    if other is None or call.transfer is not None or not other.remote:
        return None
    try:
        offer = parseSDP(other.remote)
    except ProtocolError:
        return None
    call.transfer = TransferAttempt(call, leg, other, offer, event)
    # A parked call's ring-back: the parker has left already.
    call.transfer._transferorGone = leg.session.state is InviteState.DISCONNECTED
    return call.transfer


def takePlace(call, gone, new) -> None:
    """
    C{new} (a transfer target, an unparking phone) takes the place of
    C{gone} in C{call}, on its relay side; C{gone} leaves the call (its
    events no longer reach it) but stays in the call's legs until the end
    for the CDR, as a transferred leg.
    """
    gone.target = partyNumber(call, gone)
    new.call, gone.call, new.side = call, None, gone.side
    if gone is call.a:
        call.a = new
        if new in call.forks:
            call.forks.remove(new)
        call.forks.append(gone)
        call.record.caller = new.target
    else:
        call.b = new
        if new not in call.forks:
            call.forks.append(new)
        call.record.callee = new.target
    if gone not in call.transferred:
        call.transferred += (gone,)


def sendNotify(leg, event: str, status: int, reason: str | None = None,
               final: bool = False) -> None:
    """
    NOTIFY the party on C{leg} of C{status} in its refer subscription
    C{event} (RFC 3515 sec. 2.4.4-2.4.5), if its dialog is still up.
    """
    if leg.session.state is InviteState.DISCONNECTED:
        return
    state = "terminated;reason=noresource" if final else f"active;expires={_EXPIRES}"
    body = f"SIP/2.0 {status} {reason or REASONS.get(status, '')}\r\n".encode()
    headers = [("Event", event), ("Subscription-State", state)]
    try:
        leg.perform(leg.session.request("NOTIFY", leg.now(), body, SIPFRAG, headers))
    except ProtocolError as e:
        _log.info("refer: no NOTIFY to {leg}: {error}", leg=leg, error=e.reason)


@dataclass(frozen=True, slots=True)
class _Parties:
    """Who the target's INVITE is from (the transferee) and to."""

    caller: str
    dialled: str


class TransferAttempt:
    """
    One blind transfer: the target's legs ring while the call goes on.

    @ivar transferor: the leg the REFER came on (its party leaves).
    @ivar transferee: the other leg (its party gets the target).
    @ivar legs: the target legs ringing now.
    @ivar record: what the target legs' INVITEs say (From, To).
    @ivar event: the refer subscription's C{Event} header value, or
        L{None} when nobody subscribed (the transfer dial code).
    """

    def __init__(self, call, transferor, transferee, offer, event: str | None):
        self.call = call
        self.manager = call.manager
        self.transferor = transferor
        self.transferee = transferee
        self.offer = offer
        self.event = event
        self.legs: list = []
        self.plan = None
        self.record = None
        self.done = False
        self._failures: list[int] = []
        self._transferorGone = False

    def __repr__(self) -> str:
        return f"<TransferAttempt {self.call!r} to {self.record}>"

    def start(self, number: str) -> None:
        """Tell the transferor it is under way, then route C{number}."""
        self._notify(100)
        self.record = _Parties(partyNumber(self.call, self.transferee), number)
        decision = self.manager.route(number, partyNumber(self.call, self.transferor))
        if isinstance(decision, Targets):
            self._ring(decision)
        elif isinstance(decision, Reject):
            self._fail(decision.status, decision.reason)
        elif isinstance(decision, FeatureRequest) and decision.kind == "park":
            self._park(decision.argument)
        else:
            self._fail(403, "Not a transfer destination")

    def _park(self, wanted: str) -> None:
        """Transferred to the park code: park the transferee, tell the
        transferor the slot (in the sipfrag reason phrase), hang it up."""
        self._finish()
        try:
            slot = self.manager.features.parking.park(self.call, self.transferor, wanted)
        except ProtocolError as e:
            self._fail(e.statusHint, e.reason)
            return
        self._notify(200, f"Parked at {slot}", final=True)
        self.transferor.hangup()

    def offerFor(self, leg) -> bytes:
        """The INVITE body for target leg C{leg}: the transferee's last
        description, anchored on the transferor's relay side."""
        side = self.transferor.side
        address = side.address if side is not None else None
        ports = relayPorts(self.offer, side.port) if side is not None else None
        return leg.describe(anchorOffer(self.offer, self.call.policy, address, ports))

    def _ring(self, targets) -> None:
        self.plan = targets
        self.legs = self.manager.legsFor(self, targets)
        if not self.legs:
            self._planFailed("not-registered")
            return
        for leg in self.legs:
            leg.call, leg.side = self, self.transferor.side
            self.call.forks.append(leg)
        self.manager.ringTimer(self, targets.ringTime)
        for leg in self.legs:
            leg.perform(leg.session.start(leg.now()))

    # What happens to the call meanwhile

    def intercepts(self, leg, event) -> bool:
        """
        See the call's events first: the transferee hanging up ends the
        attempt; the transferor hanging up does not (RFC 5589 sec. 6.1:
        it may leave once the REFER is accepted).

        @return: whether the call must not handle C{event} itself.
        """
        if event.kind != "terminated":
            return False
        if leg is self.transferor:
            self._transferorGone = True
            return True
        if leg is self.transferee:
            self._finish()
            self._notify(487, final=True)
            for target in self.legs:
                target.hangup()
        return False

    # Target leg events

    def legEvent(self, leg, event) -> None:
        handler = self._EVENTS.get(event.kind)
        if handler is not None:
            handler(self, leg, event)
        self.call.maybeEnded()

    def _answered(self, leg, event) -> None:
        if self.done or leg not in self.legs:
            leg.hangup()   # a late 2xx from a target given up on
            return
        try:
            answer = parseSDP(event.message.body)
        except ProtocolError as e:
            _log.info("transfer {attempt}: bad answer: {error}", attempt=self, error=e.reason)
            leg.hangup(488)
            return
        aim(self.transferor.side, answer)
        self._connect(leg, answer)

    def _connect(self, winner, answer) -> None:
        """The target answered: it takes the transferor's place."""
        call, gone = self.call, self.transferor
        self._finish()
        for leg in self.legs:
            if leg is not winner:
                leg.hangup()
        takePlace(call, gone, winner)
        codec = negotiatedCodec(self.offer, answer)
        call.record.codec = codec.name if codec is not None else call.record.codec
        call._setHold(self.transferee, False)   # the transferor had held it
        call._setHold(gone, False)
        self._notify(200, final=True)
        gone.hangup()

    def _targetEnded(self, leg, event) -> None:
        if self.done or leg not in self.legs:
            return
        status = getattr(event.message, "status", None) or (
            408 if event.reason == "timeout" else 480)
        self._failures.append(status)
        if all(target.session.state is InviteState.DISCONNECTED for target in self.legs):
            self._planFailed("busy" if any(s in (486, 600) for s in self._failures)
                             else "failed")

    def ringTimeout(self) -> None:
        """Nobody answered in time: stop ringing, go on with the plan."""
        if self.done:
            return
        for leg in self.legs:
            leg.hangup()
        self.legs = []
        self._planFailed("no-answer")

    # Ending

    def _planFailed(self, outcome: str) -> None:
        follow = self.plan.onFailure(outcome) if (
            self.plan is not None and self.plan.onFailure) else None
        if isinstance(follow, Targets):
            self._ring(follow)
        elif isinstance(follow, Reject):
            self._fail(follow.status, follow.reason)
        else:
            self._fail(480 if outcome == "no-answer" else bestFailure(self._failures))

    def _fail(self, status: int, reason: str | None = None) -> None:
        """The transfer failed: the call stays as it was (RFC 5589 sec.
        6.2) unless the transferor has left meanwhile."""
        self._finish()
        self._notify(status, reason, final=True)
        if self._transferorGone:
            call = self.call
            call.record.hangupSide = call.record.hangupSide or (
                "caller" if self.transferor is call.a else "callee")
            self.transferee.hangup()

    def _finish(self) -> None:
        self.done = True
        self.call.transfer = None
        self.manager.stopRingTimer(self)

    def _notify(self, status: int, reason: str | None = None, final=False) -> None:
        """NOTIFY the transferor of C{status} (RFC 3515 sec. 2.4.4-2.4.5)."""
        if self.event is not None and not self._transferorGone:
            sendNotify(self.transferor, self.event, status, reason, final)

    _EVENTS = {
        "answered": _answered,
        "terminated": _targetEnded,
    }
