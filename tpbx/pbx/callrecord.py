# -*- test-case-name: tests.pbx.test_calls -*-
"""
What is written about a call when it ends (SPEC E7): the record a call
fills in as it goes, and the call detail records made from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tpbx.model import CallDetail

__all__ = ["CallRecord", "LegSummary", "callDetails", "bestFailure"]


@dataclass
class CallRecord:
    """
    What a CDR needs (SPEC E7), filled in as the call goes.

    @ivar disposition: C{answered}, C{busy}, C{no-answer}, C{failed},
        C{cancelled}.
    @ivar hangupSide: C{caller}, C{callee} or C{pbx}.
    """

    callId: str
    caller: str
    callee: str
    dialled: str
    start: float
    answer: float | None = None
    end: float | None = None
    disposition: str = "failed"
    hangupSide: str = ""
    codec: str = ""
    status: int = 0
    legs: list = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LegSummary:
    callId: str
    target: str
    answered: bool


def callDetails(record: CallRecord) -> list:
    """
    The CDRs of a finished call (SPEC E7): one for the call, one per callee
    leg that was rung (C{leg} = the leg's Call-ID).
    """
    end = record.end if record.end is not None else record.start
    details = [CallDetail(record.callId, record.caller, record.callee, record.dialled,
                          record.start, record.answer, end, record.disposition,
                          record.hangupSide, record.codec)]
    for leg in record.legs:
        details.append(CallDetail(leg.callId, record.caller, leg.target, record.dialled,
                                  record.start, record.answer if leg.answered else None,
                                  end, "answered" if leg.answered else "not-answered",
                                  record.hangupSide if leg.answered else "",
                                  record.codec if leg.answered else "", leg="b"))
    return details


def bestFailure(statuses: list[int]) -> int:
    """
    The response to give the caller when every callee failed (after RFC
    3261 sec. 16.7's best-response rule): busy or decline if anyone said
    so, else the lowest class seen, 480 when nothing answered at all.
    """
    for preferred in (486, 600, 603):
        if preferred in statuses:
            return preferred
    finals = sorted(s for s in statuses if s >= 300 and s not in (408, 487))
    return finals[0] if finals else 480
