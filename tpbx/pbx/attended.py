# -*- test-case-name: tests.pbx.test_attended -*-
"""
Attended transfer (RFC 5589 sec. 7): the transferor X talks to Y in one
call and to Z in another, then sends a REFER in one of them whose
Refer-To carries a Replaces header (RFC 3891) naming its dialog of the
other; Y and Z are to talk, X leaves both calls.

Why the PBX does it itself: Y and Z each talk only to the PBX, so instead
of making Y send an INVITE with Replaces, the PBX re-INVITEs the target Z
with the transferee Y's last description anchored on the relay side that
faced X in Y's call (RFC 3264 sec. 8: a changed address).  When Z
answers, that side is aimed at Z and Z's leg moves into Y's call in X's
place (L{tpbx.pbx.transfer.takePlace}); Y gets no re-INVITE.  The other
call keeps only X's leg, which is hung up: it ends and its relay session
is released, so one relay session carries the joined call.  The CDR of
the consultation call ends there; Y's call names Z from then on.

The transferor follows it through the implicit subscription of RFC 3515
(NOTIFY 100, then the final status).  Failures leave both calls as they
were: a Replaces naming no dialog of the transferor's is 481, a call not
answered 480, a call busy with another transfer 491, direct media 503,
the target refusing the re-INVITE its status.  As with a blind transfer
the transferor may hang up once the REFER is accepted (RFC 5589 sec.
6.1): then a failure hangs up the party it left behind.

Both calls' C{transfer} is the L{AttendedTransfer} while it runs, which
makes it see their events first.
"""

from __future__ import annotations

from urllib.parse import unquote

from twisted.logger import Logger

from tpbx.errors import ProtocolError
from tpbx.pbx.anchor import aim, relayPorts
from tpbx.pbx.leg import SDP
from tpbx.pbx.transfer import partyNumber, sendNotify, takePlace
from tpbx.sip.invite import InviteState
from tpbx.sip.offeranswer import anchorOffer, negotiatedCodec
from tpbx.sip.sdp import parseSDP

__all__ = ["AttendedTransfer", "attendedTransfer", "parseReplaces"]

_log = Logger()


def parseReplaces(value: str) -> tuple[str, str, str]:
    """
    @param value: a Replaces header value (RFC 3891 sec. 6.1), as a URI
        header still %-escaped.
    @return: C{(callId, toTag, fromTag)}; C{early-only} is ignored (the
        dialog named must be confirmed anyway).
    @raise ProtocolError: 400 when a part is missing.
    """
    callId, _, rest = unquote(value).partition(";")
    params = {}
    for param in rest.split(";"):
        name, _, text = param.partition("=")
        params[name.strip().lower()] = text.strip()
    toTag, fromTag = params.get("to-tag"), params.get("from-tag")
    if not callId.strip() or not toTag or not fromTag:
        raise ProtocolError("Malformed Replaces", 400)
    return callId.strip(), toTag, fromTag


def attendedTransfer(manager, call, leg, request, replaces: str) -> None:
    """
    A REFER with Replaces C{replaces} from the party on C{leg} of C{call}:
    accept it (202), NOTIFY 100, and re-INVITE the target -- or NOTIFY
    why not.
    """
    try:
        dialog = parseReplaces(replaces)
    except ProtocolError as e:
        leg.respond(request, e.statusHint, reason=e.reason)
        return
    if call.transfer is not None:
        leg.respond(request, 491, reason="No call to transfer now")
        return
    event = f"refer;id={request.cseq[0]}"   # RFC 3515 sec. 2.4.6
    leg.respond(request, 202)
    sendNotify(leg, event, 100)
    try:
        attempt = AttendedTransfer(manager, call, leg, dialog, event)
    except ProtocolError as e:
        _log.info("attended transfer from {leg} refused: {error}", leg=leg, error=e.reason)
        sendNotify(leg, event, e.statusHint, e.reason, final=True)
        return
    attempt.start()


class AttendedTransfer:
    """
    @ivar call: the call the REFER came in; C{transferor} is X's leg in
        it, C{transferee} the other.
    @ivar consultation: the call the Replaces names; C{replaced} is X's
        leg in it, C{target} the other.
    @ivar done: the transferor was told the outcome.
    """

    def __init__(self, manager, call, leg, dialog: tuple, event: str):
        """@raise ProtocolError: when this transfer cannot be done (see
        the module docstring for the statuses)."""
        self.call, self.transferor, self.event = call, leg, event
        self.transferee = call.b if leg is call.a else call.a
        replaced = manager.dialogLeg(*dialog)
        other = replaced.call if replaced is not None else None
        if other is None or other is call or other.ended or (
                partyNumber(other, replaced) != partyNumber(call, leg)):
            raise ProtocolError("No such call to replace", 481)
        self.consultation, self.replaced = other, replaced
        self.target = other.b if replaced is other.a else other.a
        if self.transferee is None or self.target is None:
            raise ProtocolError("Call not answered", 480)
        if other.transfer is not None or not self.target.session.canReinvite:
            raise ProtocolError("Call busy", 491)
        if call.relay is None or other.relay is None:
            raise ProtocolError("Attended transfer needs the media relay", 503)
        self.offer, self.body = self._offer()
        self.done = False
        self._gone: set = set()

    def __repr__(self) -> str:
        return f"<AttendedTransfer {self.call!r} + {self.consultation!r}>"

    def _offer(self):
        """The transferee's last description, and it anchored on the
        transferor's relay side as the body of the target's re-INVITE."""
        if not self.transferee.remote:
            raise ProtocolError("No media to offer", 488)
        offer = parseSDP(self.transferee.remote)
        side = self.transferor.side
        anchored = anchorOffer(offer, self.call.policy, side.address,
                               relayPorts(offer, side.port))
        return offer, self.target.describe(anchored)

    def start(self) -> None:
        self.call.transfer = self.consultation.transfer = self
        target = self.target
        target.perform(target.session.reinvite(target.now(), self.body, SDP))

    def intercepts(self, leg, event) -> bool:
        """
        Both calls' events come here first: the target's answer, refusal
        or hang-up settles the transfer; the transferor's legs may hang
        up meanwhile without ending the calls; the transferee hanging up
        makes it fail.

        @return: whether the call must not handle C{event} itself.
        """
        kind = event.kind
        if leg is self.target:
            handler = self._TARGET.get(kind)
            if handler is not None:
                handler(self, event)
            return handler is not None and kind != "terminated"
        if kind != "terminated":
            return False
        if leg is self.transferor or leg is self.replaced:
            self._gone.add(leg)
            return True
        if leg is self.transferee:
            self._report(487)
        return False

    # The target's re-INVITE settles

    def _answered(self, event) -> None:
        self.consultation.transfer = None
        try:
            answer = parseSDP(event.message.body)
        except ProtocolError as e:
            self._report(488, e.reason)
            self.target.hangup(488)
            return
        if self.done:
            self._restore()
        else:
            self._connect(answer)

    def _refused(self, event) -> None:
        """The target keeps its old session (RFC 3261 sec. 14.1)."""
        self.consultation.transfer = None
        self._report(getattr(event.message, "status", None) or 500)
        if self.replaced in self._gone:
            self.target.hangup()

    def _targetEnded(self, event) -> None:
        self.consultation.transfer = None
        self._report(getattr(event.message, "status", None) or 480)

    _TARGET = {"answer": _answered, "failed": _refused, "terminated": _targetEnded}

    def _connect(self, answer) -> None:
        """The target moves into the transferee's call in X's place."""
        call, other, target = self.call, self.consultation, self.target
        aim(self.transferor.side, answer)
        other._setHold(target, False)
        call._setHold(self.transferor, False)
        call._setHold(self.transferee, False)
        if target in other.forks:
            other.forks.remove(target)
        other.a = other.b = self.replaced   # the only leg it has left
        takePlace(call, self.transferor, target)
        codec = negotiatedCodec(self.offer, answer)
        call.record.codec = codec.name if codec is not None else call.record.codec
        self._report(200)
        self.transferor.hangup()
        self.replaced.hangup()
        _log.info("attended transfer done: {call}", call=call)

    def _restore(self) -> None:
        """The transfer failed while the target was re-INVITEd: offer it
        the transferor's media again, on its own relay side."""
        target = self.target
        if self.replaced.session.state is InviteState.DISCONNECTED or not self.replaced.remote:
            target.hangup()
            return
        try:
            offer = parseSDP(self.replaced.remote)
            side = target.side
            anchored = anchorOffer(offer, self.consultation.policy, side.address,
                                   relayPorts(offer, side.port))
            target.perform(target.session.reinvite(target.now(), target.describe(anchored), SDP))
        except ProtocolError:
            target.hangup()

    def _report(self, status: int, reason: str | None = None) -> None:
        """Tell the transferor the outcome, once; on failure, a party
        whose peer has left is hung up."""
        if self.done:
            return
        self.done = True
        if self.call.transfer is self:
            self.call.transfer = None
        sendNotify(self.transferor, self.event, status, reason, final=True)
        if status >= 300 and self.transferor in self._gone:
            self.transferee.hangup()
