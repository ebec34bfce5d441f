# -*- test-case-name: tests.pbx.test_callfeatures -*-
"""
What the call manager does with dial codes that act on calls (SPEC E2, E5,
E6): pickup of a ringing call, directed pickup, recording on demand, park
and unpark (L{tpbx.pbx.park}); codes that only change a setting (DND) are
confirmed in the reason phrase.  It also holds what REFER handling needs
from the manager: the parking lot and attended transfer
(L{tpbx.pbx.attended}); and the in-call codes (L{tpbx.pbx.incall}): the
record and transfer codes keyed as DTMF during a call, which act as the
same dial codes do, on the keying party's call.

Recognising the codes is L{tpbx.pbx.features.dialcodes}'s job; this module
carries them out on the live calls.
"""

from __future__ import annotations

import os
import time

from twisted.logger import Logger

from tpbx.errors import ProtocolError
from tpbx.pbx.attended import attendedTransfer
from tpbx.pbx.features.dialcodes import FeatureDone, FeatureRequest
from tpbx.pbx.incall import InCallCodes
from tpbx.pbx.park import ParkingLot
from tpbx.pbx.transfer import transferCall

__all__ = ["CallFeatures", "recordingPath", "IN_CALL_CODES"]

_log = Logger()

#: The setting that switches in-call codes (C{"on"}, the default, or C{"off"}).
IN_CALL_CODES = "inCallCodes"
_OFF = frozenset({"off", "false", "no", "0"})


def recordingPath(directory: str, callId: str, now: float) -> str:
    """
    Where a call's recording goes: C{CALLID-YYYYmmddTHHMMSS.wav}, the
    Call-ID made safe for a file name.
    """
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in callId)[:80]
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now))
    return os.path.join(directory, f"{safe}-{stamp}.wav")


class CallFeatures:
    """
    @ivar recordingsDir: where recordings are written, or L{None} (off).
    @ivar parking: the L{ParkingLot}.
    """

    def __init__(self, manager, recordingsDir: str | None = None, recorderFactory=None,
                 directory=None):
        """
        @param recorderFactory: C{path -> recorder} (a
            L{tpbx.media.recorder.CallRecorder}).
        @param directory: the L{tpbx.interfaces.IDirectory} (park settings).
        """
        self._manager = manager
        self.recordingsDir = recordingsDir
        self._recorder = recorderFactory
        self._directory = directory
        self.parking = ParkingLot(manager, directory)

    def handles(self, decision) -> bool:
        return isinstance(decision, (FeatureDone, FeatureRequest))

    def carryOut(self, decision, request, transaction, caller) -> None:
        """Do what a feature code asked, answering its INVITE."""
        manager = self._manager
        if isinstance(decision, FeatureDone):
            manager.refuse(transaction, 480, decision.message)
            return
        handler = self._HANDLERS.get(decision.kind)
        if handler is None:
            manager.refuse(transaction, 501, f"{decision.kind} not available yet")
            return
        handler(self, decision.argument, request, transaction, caller)

    def _pickup(self, argument, request, transaction, caller) -> None:
        call = self._manager.ringingCall(argument or None, exclude=caller.number)
        if call is None:
            self._manager.refuse(transaction, 480, "Nothing to pick up")
            return
        if call.relay is None:
            self._manager.refuse(transaction, 503, "Pickup needs the media relay")
            return
        self._manager.pickUpCall(call, request, transaction, caller.number)

    def _record(self, argument, request, transaction, caller) -> None:
        call = self._manager.activeCall(caller.number)
        if call is None:
            self._manager.refuse(transaction, 480, "No call to record")
        else:
            self._manager.refuse(transaction, *self.toggleRecording(call))

    def toggleRecording(self, call) -> tuple[int, str]:
        """
        Start recording C{call}, or stop it if it is being recorded (the
        C{record} code, dialled or keyed in the call).

        @return: the status and reason phrase that tell the outcome:
            C{480} started or stopped; C{503} recording impossible (off,
            or a direct-media call: nothing passes through the PBX).
        """
        if call.recorder is not None:
            path = call.stopRecording()
            _log.info("recording {path} written", path=path)
            return 480, "Recording stopped"
        if self.startRecording(call):
            return 480, "Recording started"
        if call.relay is None:
            return 503, "Recording needs the media relay"
        return 503, "Recording not available"

    def _currentLeg(self, number: str):
        """@return: C{(call, leg)} of extension C{number}'s answered call,
        or C{(None, None)}."""
        call = self._manager.activeCall(number)
        if call is None:
            return None, None
        return call, (call.a if call.record.caller == number else call.b)

    def _transfer(self, argument, request, transaction, caller) -> None:
        """C{*2} + number: transfer the caller's current call's other party."""
        call, leg = self._currentLeg(caller.number)
        if leg is None or not argument or not transferCall(call, leg, argument):
            self._manager.refuse(transaction, 480, "No call to transfer")
            return
        self._manager.refuse(transaction, 480, "Transfer started")

    def _park(self, argument, request, transaction, caller) -> None:
        """C{*5} [+ slot], from another line: park the other party of the
        caller's current call; the answer's reason phrase tells the slot."""
        call, leg = self._currentLeg(caller.number)
        if leg is None:
            self._manager.refuse(transaction, 480, "No call to park")
            return
        try:
            slot = self.parking.park(call, leg, argument)
        except ProtocolError as e:
            self._manager.refuse(transaction, e.statusHint, e.reason)
            return
        leg.hangup()
        self._manager.refuse(transaction, 480, f"Parked at {slot}")

    def _unpark(self, argument, request, transaction, caller) -> None:
        """C{*6} + slot (or alone: the caller's last parked call): connect
        the caller to the parked party."""
        try:
            parked = self.parking.find(argument, caller.number)
            offer, answer = parked.answerFor(request.body)
        except ProtocolError as e:
            self._manager.refuse(transaction, e.statusHint, e.reason)
            return
        parked.connect(self._manager.callerLeg(request, transaction, caller.number), offer, answer)

    def attendedTransfer(self, call, leg, request, replaces: str) -> None:
        """A REFER with Replaces in C{call} (L{tpbx.pbx.attended})."""
        attendedTransfer(self._manager, call, leg, request, replaces)

    def startRecording(self, call) -> bool:
        """Start recording C{call}; @return: whether it could (not for a
        direct-media call, which is logged)."""
        if call.relay is None:
            _log.info("call {call} not recorded: direct media", call=call)
            return False
        if self.recordingsDir is None or self._recorder is None:
            return False
        os.makedirs(self.recordingsDir, exist_ok=True)
        path = recordingPath(self.recordingsDir, call.record.callId, self._manager.now())
        call.startRecording(self._recorder(path))
        return True

    def inCallCodes(self, call, clock) -> InCallCodes | None:
        """
        The in-call code matcher of an answered C{call}, timed by
        C{clock}; L{None} when the C{inCallCodes} setting is off or
        neither code is set.
        """
        switch = self._directory.setting(IN_CALL_CODES, "on") if self._directory else "on"
        codes = self._directory.dialCodes() if self._directory else {}
        if str(switch).strip().lower() in _OFF or not (
                codes.get("record") or codes.get("transfer")):
            return None
        return InCallCodes(clock, codes.get("record", ""), codes.get("transfer", ""),
                           lambda leg: self._keyedRecord(call, leg),
                           lambda leg, number: self._keyedTransfer(call, leg, number))

    def _keyedRecord(self, call, leg) -> None:
        status, reason = self.toggleRecording(call)
        _log.info("call {call}: record code keyed by {leg}: {status} {reason}",
                  call=call, leg=leg, status=status, reason=reason)

    def _keyedTransfer(self, call, leg, number: str) -> None:
        """The transfer code and C{number} keyed by C{leg}'s party: the
        other party goes to C{number}, as with the C{*2} dial code."""
        started = leg.call is call and transferCall(call, leg, number)
        _log.info("call {call}: transfer to {number} keyed by {leg}: {outcome}",
                  call=call, number=number, leg=leg,
                  outcome="started" if started else "no call to transfer")

    _HANDLERS = {
        "pickup": _pickup,
        "directedPickup": _pickup,
        "record": _record,
        "transfer": _transfer,
        "park": _park,
        "unpark": _unpark,
    }
