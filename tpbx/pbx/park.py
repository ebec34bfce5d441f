# -*- test-case-name: tests.pbx.test_park -*-
"""
Call park (SPEC E6, issue 3 part 7): a party is put aside in a numbered
slot, hearing music on hold, until any phone takes it back by dialling
the unpark code and the slot (C{*6701}).

A phone parks the party it talks to in one of two ways: it blind-transfers
it (REFER) to the park code, optionally followed by a slot (C{*5},
C{*5703}); or, from another line, it dials the park code (for phones
without REFER).  Either way the parker's leg is hung up and the slot is
told: in the sipfrag reason phrase of the final NOTIFY
(C{SIP/2.0 200 Parked at 701}) or in the reason phrase of the code's
answer (C{480 Parked at 701}).

Why the parked call stays a L{tpbx.pbx.call.Call}: its relay session,
its record and the leak accounting stay where they are.  The parker's leg
leaves the call (its events no longer reach it) but keeps its place until
an unparking phone takes it (L{tpbx.pbx.transfer.takePlace}, on the
parker's relay side); meanwhile the L{ParkedCall} is the call's
C{transfer}, which makes it see the parked party's events first and keeps
other transfers out.

Slots: the C{parkSlots} setting, C{"701-709"} by default; a list of
numbers and ranges (C{"701-705,710"}).  They are only ever dialled after
the unpark code, so they never clash with extensions.  The C{parkTimeout}
setting (seconds, default 120) bounds a stay: then the parker's
extension is rung back with the parked party (a transfer without REFER),
and if that fails too the parked party is hung up.  Both are validated
when written (L{tpbx.store.callvalidation}: at most 100 slots, 10 to
3600 s); both are read at each park, and a bad stored value (written
before validation existed, or by hand) is logged and the default used.
"""

from __future__ import annotations

import math

from twisted.logger import Logger

from tpbx.errors import ProtocolError
from tpbx.model import PARK_SLOTS_DEFAULT, PARK_TIMEOUT_DEFAULT
from tpbx.pbx.anchor import aim
from tpbx.pbx.transfer import partyNumber, takePlace, transferCall
from tpbx.sip.message import Request
from tpbx.sip.offeranswer import answerOffer
from tpbx.sip.sdp import parseSDP

__all__ = ["ParkedCall", "ParkingLot", "parseSlots"]

_log = Logger()

#: More slots than this in one setting is a mistake, not a parking lot.
_MAX_SLOTS = 1000


def parseSlots(value: str) -> list[str]:
    """
    @param value: numbers and C{FIRST-LAST} ranges, comma-separated.
    @return: the slot numbers, in order.
    @raise ValueError: when C{value} is not that, or names too many.
    """
    slots: list[str] = []
    for part in value.split(","):
        first, dash, last = part.strip().partition("-")
        if not first.isdigit() or (dash and not last.isdigit()):
            raise ValueError(f"not a slot or range: {part!r}")
        if not dash:
            slots.append(first)
            continue
        if int(last) < int(first) or int(last) - int(first) >= _MAX_SLOTS:
            raise ValueError(f"bad range: {part!r}")
        slots += [str(n).zfill(len(first)) for n in range(int(first), int(last) + 1)]
    if not slots or len(slots) > _MAX_SLOTS:
        raise ValueError("no slots, or too many")
    return list(dict.fromkeys(slots))


class ParkingLot:
    """
    The parked calls by slot.

    @ivar parked: C{slot -> ParkedCall}.
    """

    def __init__(self, manager, directory):
        """
        @param manager: the L{tpbx.pbx.calls.CallManager} (time, timers).
        @param directory: the L{tpbx.interfaces.IDirectory} whose settings
            C{parkSlots} and C{parkTimeout} are read at each park.
        """
        self._manager = manager
        self._directory = directory
        self.parked: dict[str, ParkedCall] = {}

    def slots(self) -> list[str]:
        """The configured slots (the default when the setting is bad)."""
        value = self._directory.setting("parkSlots", PARK_SLOTS_DEFAULT) or PARK_SLOTS_DEFAULT
        try:
            return parseSlots(str(value))
        except ValueError as e:
            _log.warn("parkSlots {value!r} ignored: {error}", value=value, error=e)
            return parseSlots(PARK_SLOTS_DEFAULT)

    def timeout(self) -> float:
        """Seconds a call stays parked before the parker is rung back (the
        default when the setting is not a positive number)."""
        value = self._directory.setting("parkTimeout", PARK_TIMEOUT_DEFAULT)
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            seconds = math.nan
        if not 0 < seconds < math.inf:
            _log.warn("parkTimeout {value!r} ignored: not a positive number of seconds",
                      value=value)
            return float(PARK_TIMEOUT_DEFAULT)
        return seconds

    def park(self, call, leg, wanted: str = "") -> str:
        """
        Park the party opposite C{leg} (the parker's, which the caller
        hangs up next) in slot C{wanted}, or the first free one.

        @return: the slot.
        @raise ProtocolError: 480 no answered call to park, 503 no relay
            or no free slot, 404 no such slot, 486 the slot is taken.
        """
        parked = call.b if leg is call.a else call.a
        if parked is None or call.transfer is not None or call.ended:
            raise ProtocolError("No call to park", 480)
        if call.relay is None:
            raise ProtocolError("Parking needs the media relay", 503)
        slot = self._freeSlot(wanted)
        self.parked[slot] = ParkedCall(self, slot, call, leg, parked, self._manager.now())
        self.parked[slot].start(self.timeout())
        _log.info("call {call} parked at {slot}", call=call, slot=slot)
        return slot

    def _freeSlot(self, wanted: str) -> str:
        slots = self.slots()
        if wanted:
            if wanted not in slots:
                raise ProtocolError(f"No parking slot {wanted}", 404)
            if wanted in self.parked:
                raise ProtocolError(f"Parking slot {wanted} is taken", 486)
            return wanted
        free = next((slot for slot in slots if slot not in self.parked), None)
        if free is None:
            raise ProtocolError("No free parking slot", 503)
        return free

    def find(self, slot: str, number: str):
        """
        The call parked at C{slot}; with no slot, the last one extension
        C{number} parked.

        @raise ProtocolError: 404 no such slot, 480 nothing parked there.
        """
        if slot and slot not in self.parked and slot not in self.slots():
            raise ProtocolError(f"No parking slot {slot}", 404)
        if slot:
            found = self.parked.get(slot)
        else:
            found = max((p for p in self.parked.values() if p.parker == number),
                        key=lambda p: p.since, default=None)
        if found is None:
            raise ProtocolError(f"Nothing parked{' at ' + slot if slot else ''}", 480)
        return found

    def left(self, parked) -> None:
        """C{parked} is no longer parked."""
        if self.parked.get(parked.slot) is parked:
            del self.parked[parked.slot]
        self._manager.stopRingTimer(parked)


class ParkedCall:
    """
    One parked party, the C{transfer} of its call while parked.

    @ivar slot: where it is parked.
    @ivar call: its L{tpbx.pbx.call.Call}.
    @ivar parkerLeg: the parker's leg (hung up, still in the call).
    @ivar parker: the parker's extension (who is rung back).
    @ivar leg: the parked party's leg.
    @ivar since: when it was parked.
    """

    def __init__(self, lot, slot: str, call, parkerLeg, leg, since: float):
        self.lot = lot
        self.slot = slot
        self.call = call
        self.parkerLeg = parkerLeg
        self.parker = partyNumber(call, parkerLeg)
        self.leg = leg
        self.since = since

    def __repr__(self) -> str:
        return f"<ParkedCall {self.slot} {self.call!r}>"

    def start(self, timeout: float) -> None:
        """Take the parker out, play music to the parked party."""
        call, gone = self.call, self.parkerLeg
        call.transfer = self
        gone.target, gone.call = self.parker, None   # its BYE ends nothing
        call._setHold(gone, False)
        call._setHold(self.leg, True)
        gone.side.mute(True)   # nobody there to hear the parked party
        self.lot._manager.ringTimer(self, timeout)

    def intercepts(self, leg, event) -> bool:
        """
        The parked party's events come here first: a re-offer (its own
        hold or a new address) is answered by the PBX, its hang-up frees
        the slot (and the call handles it as usual: the call ends).

        @return: whether the call must not handle C{event} itself.
        """
        if leg is not self.leg:
            return False
        if event.kind == "terminated":
            self._leave()
            return False
        if event.kind == "offer" and isinstance(event.message, Request):
            self._reoffer(event.message)
            return True
        return False

    def _reoffer(self, request) -> None:
        try:
            offer = parseSDP(request.body)
        except ProtocolError as e:
            self.leg.respond(request, e.statusHint, reason=e.reason)
            return
        aim(self.leg.side, offer)
        self.leg.answerWithLast(request, offer)

    def answerFor(self, body: bytes):
        """
        The PBX's answer to an unparking phone's INVITE offer C{body}:
        on the parker's relay side, with the codec the parked party uses
        (the relay does not transcode).

        @return: C{(offer, answer)}: the offer parsed, the answer.
        @raise ProtocolError: 488 no offer, or no such codec in it; 400 an
            offer that does not parse.
        """
        if not body:
            raise ProtocolError("Unpark needs an offer", 488)
        codec = self.call._legCodec(self.leg)
        side = self.parkerLeg.side
        offer = parseSDP(body)
        answer, _, _ = answerOffer(offer, self.call.policy, side.address,
                                   side.port, playable=(codec.name,) if codec else ())
        return offer, answer

    def connect(self, picker, offer, answer) -> None:
        """
        Unpark: C{picker} (a caller-side leg whose INVITE made C{offer},
        which C{answer} answers) takes the parker's place; the music stops.
        """
        call, side = self.call, self.parkerLeg.side
        self._leave()
        takePlace(call, self.parkerLeg, picker)
        aim(side, offer)
        call._setHold(self.leg, False)
        call._setHold(picker, False)   # unmutes the side towards the picker
        picker.respond(picker.session.invite, 200, body=picker.describe(answer))
        _log.info("call {call} unparked from {slot}", call=call, slot=self.slot)

    def ringTimeout(self) -> None:
        """Parked too long: ring the parker back; if that cannot even
        start, hang the parked party up."""
        self._leave()
        _log.info("call {call} at {slot} timed out: ringing {parker} back",
                  call=self.call, slot=self.slot, parker=self.parker)
        if not transferCall(self.call, self.parkerLeg, self.parker):
            self.leg.hangup()

    def _leave(self) -> None:
        self.lot.left(self)
        if self.call.transfer is self:
            self.call.transfer = None
