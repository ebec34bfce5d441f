# -*- test-case-name: tests.pbx.test_callfeatures -*-
"""
What the call manager does with dial codes that act on calls (SPEC E2, E5,
E6): pickup of a ringing call, directed pickup, recording on demand; codes
that only change a setting (DND) are confirmed in the reason phrase.

Recognising the codes is L{tpbx.pbx.features.dialcodes}'s job; this module
carries them out on the live calls.
"""

from __future__ import annotations

import os
import time

from twisted.logger import Logger

from tpbx.pbx.features.dialcodes import FeatureDone, FeatureRequest
from tpbx.pbx.transfer import transferCall

__all__ = ["CallFeatures", "recordingPath"]

_log = Logger()


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
    """

    def __init__(self, manager, recordingsDir: str | None = None, recorderFactory=None):
        """
        @param recorderFactory: C{path -> recorder} (a
            L{tpbx.media.recorder.CallRecorder}).
        """
        self._manager = manager
        self.recordingsDir = recordingsDir
        self._recorder = recorderFactory

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
        picker = self._manager.callerLeg(request, transaction, caller.number)
        if not call.pickUp(picker):
            picker.respond(request, 488, reason="Cannot pick up this call")

    def _record(self, argument, request, transaction, caller) -> None:
        call = self._manager.activeCall(caller.number)
        if call is None:
            self._manager.refuse(transaction, 480, "No call to record")
        elif call.recorder is not None:
            path = call.stopRecording()
            self._manager.refuse(transaction, 480, "Recording stopped")
            _log.info("recording {path} written", path=path)
        elif self.startRecording(call):
            self._manager.refuse(transaction, 480, "Recording started")
        else:
            self._manager.refuse(transaction, 503, "Recording not available")

    def _transfer(self, argument, request, transaction, caller) -> None:
        """C{*2} + number: transfer the caller's current call's other party."""
        call = self._manager.activeCall(caller.number)
        leg = None
        if call is not None:
            leg = call.a if call.record.caller == caller.number else call.b
        if leg is None or not argument or not transferCall(call, leg, argument):
            self._manager.refuse(transaction, 480, "No call to transfer")
            return
        self._manager.refuse(transaction, 480, "Transfer started")

    def startRecording(self, call) -> bool:
        """Start recording C{call}; @return: whether it could."""
        if self.recordingsDir is None or self._recorder is None or call.relay is None:
            return False
        os.makedirs(self.recordingsDir, exist_ok=True)
        path = recordingPath(self.recordingsDir, call.record.callId, self._manager.now())
        call.startRecording(self._recorder(path))
        return True

    _HANDLERS = {
        "pickup": _pickup,
        "directedPickup": _pickup,
        "record": _record,
        "transfer": _transfer,
    }
