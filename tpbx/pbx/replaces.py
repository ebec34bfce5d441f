# -*- test-case-name: tests.pbx.test_replaces -*-
"""
A new INVITE with a Replaces header (RFC 3891): the phone asks to take
the place of one party of a dialog the PBX has.

Phones send it in two cases.  Call pickup from a BLF key (Snom, Yealink,
Grandstream): the phone learnt the ringing dialog from dialog event
NOTIFYs and names it; for the PBX that is a B leg it started, still
early, so the new INVITE picks the call up exactly as directed pickup
does (L{tpbx.pbx.call.Call.pickUp}) and the ringing phones get CANCEL.
Attended transfer done by the phones themselves: the transferee calls
with Replaces naming the transferor's confirmed dialog; the new caller
takes that leg's place in its call (L{tpbx.pbx.transfer.takePlace}) on
the same relay side, which is simply aimed at the new party -- the other
party gets no re-INVITE at all -- and the replaced leg gets BYE.

What RFC 3891 sec. 3 asks, and the answers: more than one Replaces or a
malformed one, 400; no such dialog of ours, 481; an early dialog the PBX
did not start (a caller's leg still ringing), 481; a confirmed dialog
and C{early-only}, 486; a dialog already terminated, 603 (the RFC's
SHOULD; a dialog whose call has ended is forgotten and gets 481).
Beyond the RFC: the new INVITE must offer SDP with the codec the
remaining party talks (the relay does not transcode), else 488; a call
with direct media cannot be joined, 503; a call in a transfer or parked,
486.

Who may replace: the INVITE has passed digest authentication, so it
comes from an extension of this PBX; the Call-ID and tags it names are
random and known only to the dialog's parties and to whom the PBX
shows them (dialog event watchers), which is the authorisation RFC 3891
sec. 3 leaves to the UA.
"""

from __future__ import annotations

from dataclasses import dataclass

from twisted.logger import Logger

from tpbx.errors import ProtocolError
from tpbx.pbx.anchor import aim
from tpbx.pbx.attended import parseReplaces
from tpbx.pbx.call import Call
from tpbx.pbx.transfer import takePlace
from tpbx.sip.invite import InviteState, Role
from tpbx.sip.offeranswer import answerOffer
from tpbx.sip.sdp import parseSDP

__all__ = ["ReplacesTarget", "parseReplacesHeader", "replaceDialog"]

_log = Logger()

_EARLY = (InviteState.CALLING, InviteState.INCOMING, InviteState.EARLY)


@dataclass(frozen=True, slots=True)
class ReplacesTarget:
    """
    The dialog a Replaces header names (RFC 3891 sec. 6.1).

    @ivar earlyOnly: only an early dialog may be replaced.
    """

    callId: str
    toTag: str
    fromTag: str
    earlyOnly: bool = False


def parseReplacesHeader(request) -> ReplacesTarget:
    """
    @return: the dialog the Replaces header of C{request} names.
    @raise ProtocolError: 400 for more than one Replaces (RFC 3891 sec.
        3) or one without Call-ID, to-tag and from-tag (sec. 6.1).
    """
    values = request.headers.getAll("Replaces")
    if len(values) != 1 or "," in values[0]:
        raise ProtocolError("More than one Replaces", 400)
    callId, toTag, fromTag = parseReplaces(values[0])
    earlyOnly = any(param.strip().lower() == "early-only"
                    for param in values[0].split(";")[1:])
    return ReplacesTarget(callId, toTag, fromTag, earlyOnly)


def replaceDialog(manager, request, transaction, caller) -> None:
    """
    Carry out a new INVITE with Replaces from the authenticated extension
    C{caller}: pick up, replace, or refuse (see the module docstring).
    """
    try:
        target = parseReplacesHeader(request)
        leg = manager.dialogLeg(target.callId, target.toTag, target.fromTag)
        if leg is None or leg.call is None:
            raise ProtocolError("No such dialog to replace", 481)
        state = leg.session.state
        if state is InviteState.DISCONNECTED:
            raise ProtocolError("Dialog already terminated", 603)
        if state in _EARLY:
            _pickUp(manager, leg, request, transaction, caller)
        elif target.earlyOnly:
            raise ProtocolError("Dialog already answered", 486)
        else:
            _replace(manager, leg, request, transaction, caller)
    except ProtocolError as e:
        _log.info("Replaces from {number} refused: {error}", number=caller.number,
                  error=e.reason)
        manager.refuse(transaction, e.statusHint, e.reason)


def _pickUp(manager, leg, request, transaction, caller) -> None:
    """An early dialog: ours (a ringing B leg) is picked up, a caller's
    (we are its UAS) cannot be replaced (RFC 3891 sec. 3)."""
    call = leg.call
    if leg.session.role is Role.UAS:
        raise ProtocolError("Early dialog not ours to replace", 481)
    if not isinstance(call, Call) or leg not in call.ringing:
        raise ProtocolError("Cannot pick up this call", 488)
    if call.record.caller == caller.number:
        raise ProtocolError("Cannot pick up one's own call", 403)
    manager.pickUpCall(call, request, transaction, caller.number)


def _replace(manager, leg, request, transaction, caller) -> None:
    """
    A confirmed dialog: the new caller takes C{leg}'s place in its call,
    on its relay side, answered with the codec the other party talks;
    then C{leg} gets BYE.
    """
    call = leg.call
    if not isinstance(call, Call) or call.ended or call.b is None or (
            leg is not call.a and leg is not call.b):
        raise ProtocolError("Cannot replace this dialog", 481)
    if call.relay is None:
        raise ProtocolError("Replaces needs the media relay", 503)
    if call.transfer is not None:
        raise ProtocolError("Call busy", 486)
    if not request.body:
        raise ProtocolError("Replaces needs an offer", 488)
    offer = parseSDP(request.body)
    side = leg.side
    playable = (call.record.codec,) if call.record.codec else call.policy.priority
    answer, _, _ = answerOffer(offer, call.policy, side.address, side.port, playable=playable)
    other = call.b if leg is call.a else call.a
    new = manager.callerLeg(request, transaction, caller.number)
    call._setHold(leg, False)
    takePlace(call, leg, new)
    aim(side, offer)
    call._setHold(other, False)
    call._setHold(new, False)   # unmutes the side towards the new party
    new.respond(new.session.invite, 200, body=new.describe(answer))
    leg.hangup()
    _log.info("{number} replaced a party of {call}", number=caller.number, call=call)
