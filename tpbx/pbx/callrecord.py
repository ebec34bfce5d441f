# -*- test-case-name: tests.pbx.test_callrecord -*-
"""
What is written about a call when it ends (SPEC E7): the record a call
fills in as it goes, and the call detail records made from it.

L{CallRecord} is the mutable twin of L{tpbx.model.CallDetail}: its CDR
attributes have the same names, so L{callDetails} copies them by the
CallDetail field list and names only what a leg's record changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from tpbx.model import CallDetail
from tpbx.pbx.routing import Reject

__all__ = ["CallRecord", "LegSummary", "callDetails", "bestFailure", "refuseCaller"]


@dataclass(slots=True)
class CallRecord:
    """
    What a CDR needs (SPEC E7), filled in as the call goes: every
    L{CallDetail} field but C{leg}, by the same name (see L{callDetails}),
    and what only the call needs.

    @ivar disposition: C{answered}, C{busy}, C{no-answer}, C{failed},
        C{cancelled}.
    @ivar hangupSide: C{caller}, C{callee} or C{pbx}.
    @ivar status: the final status the caller got when the call failed.
    @ivar legs: a L{LegSummary} per callee leg rung, set as the call ends.
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
    """What a call's CDRs say of one callee leg (L{callDetails})."""

    callId: str
    target: str
    answered: bool


# The CallDetail fields a CallRecord holds under the same name.
_COPIED = tuple(f.name for f in fields(CallDetail) if f.name != "leg")

# What a callee leg that was rung but not answered says.
_NOT_ANSWERED = {"answer": None, "disposition": "not-answered",
                 "hangupSide": "", "codec": ""}


def _detail(record: CallRecord, **changes) -> CallDetail:
    """@return: C{record} as a L{CallDetail}, with C{changes}."""
    row = {name: getattr(record, name) for name in _COPIED}
    row.update(changes)
    return CallDetail(**row)


def callDetails(record: CallRecord) -> list[CallDetail]:
    """
    The CDRs of a finished call (SPEC E7): one for the call, one per callee
    leg that was rung (C{callId} = the leg's Call-ID, C{leg} = C{"b"}).
    """
    end = record.end if record.end is not None else record.start
    details = [_detail(record, end=end)]
    for leg in record.legs:
        outcome = {"disposition": "answered"} if leg.answered else _NOT_ANSWERED
        details.append(_detail(record, callId=leg.callId, callee=leg.target,
                               end=end, leg="b", **outcome))
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


def refuseCaller(a, record: CallRecord, follow, outcome: str, failures) -> None:
    """
    End a call nobody answered: the caller's leg C{a} gets the final
    status and C{record} the disposition (for a L{tpbx.pbx.call.Call} and a
    L{tpbx.pbx.paging.Page} alike).

    @param follow: what the dial plan gave for C{outcome} (a L{Reject}, or
        L{None}).
    @param outcome: C{no-answer}, C{busy}, C{not-registered} ...
    @param failures: the statuses the callee legs ended with.
    """
    if isinstance(follow, Reject):
        final, reason = follow.status, follow.reason
    elif outcome == "no-answer":
        final, reason = 480, "No Answer"
    else:
        final, reason = bestFailure(failures), None
    record.disposition = {"no-answer": "no-answer", "busy": "busy"}.get(
        outcome, "busy" if final in (486, 600) else "failed")
    record.status = final
    a.respond(a.session.invite, final, reason=reason)
