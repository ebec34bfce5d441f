# -*- test-case-name: tests.pbx.test_callrecord -*-
"""
Tests for L{tpbx.pbx.callrecord}: the CDRs made from a finished call's
record, the record kept in step with L{CallDetail}, and the best failure
status.
"""

from dataclasses import fields

from tpbx.model import CallDetail
from tpbx.pbx.callrecord import CallRecord, LegSummary, bestFailure, callDetails


def test_recordHoldsEveryDetailField():
    """
    Every L{CallDetail} field but C{leg} is a L{CallRecord} field of the
    same name (L{callDetails} copies them by name), and the record is still
    built positionally as the call manager does.
    """
    recordFields = [f.name for f in fields(CallRecord)]
    detailFields = [f.name for f in fields(CallDetail) if f.name != "leg"]
    assert recordFields[:len(detailFields)] == detailFields
    record = CallRecord("c@h", "1001", "1002", "1002", 5.0)
    assert (record.answer, record.end, record.disposition, record.legs) == (
        None, None, "failed", [])


def test_answeredCallDetails():
    """
    An answered call gives one record for the call and one per callee leg
    rung: the answered leg carries the answer time, hang-up side and
    codec; the leg that was not answered has none of them.
    """
    record = CallRecord("a@h", "1001", "1002", "2000", 10.0, answer=12.0,
                        end=40.0, disposition="answered", hangupSide="caller",
                        codec="PCMU", status=0,
                        legs=[LegSummary("b1@h", "1002", True),
                              LegSummary("b2@h", "1003", False)])
    assert callDetails(record) == [
        CallDetail("a@h", "1001", "1002", "2000", 10.0, 12.0, 40.0,
                   "answered", "caller", "PCMU"),
        CallDetail("b1@h", "1001", "1002", "2000", 10.0, 12.0, 40.0,
                   "answered", "caller", "PCMU", leg="b"),
        CallDetail("b2@h", "1001", "1003", "2000", 10.0, None, 40.0,
                   "not-answered", "", "", leg="b"),
    ]


def test_unfinishedRecordEndsAtStart():
    """A record without an end time (a call that never got going) ends at
    its start: zero duration, no legs."""
    record = CallRecord("a@h", "1001", "1002", "1002", 10.0)
    [detail] = callDetails(record)
    assert (detail.end, detail.duration, detail.disposition, detail.leg) == (
        10.0, 0.0, "failed", "")


def test_bestFailure():
    """Busy or decline wins (RFC 3261 sec. 16.7), then the lowest final
    status other than 408/487, then 480."""
    assert bestFailure([404, 486, 603]) == 486
    assert bestFailure([404, 603]) == 603
    assert bestFailure([487, 408, 503, 404]) == 404
    assert bestFailure([487, 408]) == 480
    assert bestFailure([]) == 480
