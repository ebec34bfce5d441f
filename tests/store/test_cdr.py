# -*- test-case-name: tests.store.test_cdr -*-
"""
Tests for L{tpbx.store.cdr}: call detail records are appended cheaply and
queried by time, extension and page.
"""

import pytest
from sqlalchemy import event

from tpbx.errors import ValidationError
from tpbx.model import CallDetail


def detail(callId, start, caller="100", callee="101", answer=None, leg=""):
    return CallDetail(callId=callId, caller=caller, callee=callee,
                      dialled=callee, start=start, answer=answer,
                      end=start + 30, disposition="answered" if answer
                      else "no-answer", hangupSide="caller", codec="PCMU",
                      leg=leg)


def test_recordAndQueryRoundTrip(store):
    """A record reads back equal, answer None included, duration kept."""
    answered = detail("a@h", 100.0, answer=110.0)
    missed = detail("b@h", 200.0, leg="leg-1")
    store.recordCall(answered)
    store.recordCall(missed)
    assert store.queryCalls() == [missed, answered]
    assert store.queryCalls()[1].duration == 20.0


def test_recordIsOneInsertAndNoConfigChange(store):
    """
    Recording is one INSERT in its own transaction and does not bump the
    configuration version (the snapshot is not rebuilt for CDRs).
    """
    before = store.configVersion()
    statements = []
    event.listen(store.engine, "before_cursor_execute",
                 lambda conn, cursor, sql, *rest: statements.append(sql))
    store.recordCall(detail("a@h", 1.0))
    assert [s.split()[0] for s in statements
            if not s.startswith(("BEGIN", "COMMIT"))] == ["INSERT"]
    assert store.configVersion() == before


def test_queryFilters(store):
    """
    since is inclusive, until exclusive; extension matches caller or
    callee; limit and offset page newest first.
    """
    for i in range(10):
        store.recordCall(detail(f"c{i}", float(i), caller=str(100 + i % 3)))
    assert [d.callId for d in store.queryCalls(since=3, until=6)] == [
        "c5", "c4", "c3"]
    assert [d.callId for d in store.queryCalls(extension="102")] == [
        "c8", "c5", "c2"]
    assert len(store.queryCalls(extension="101")) == 10  # callee
    assert [d.callId for d in store.queryCalls(limit=2, offset=3)] == [
        "c6", "c5"]


@pytest.mark.parametrize("kwargs, field", [
    ({"limit": 0}, "limit"), ({"limit": 10001}, "limit"),
    ({"offset": -1}, "offset"), ({"limit": "x"}, "limit"),
])
def test_queryPagingValidated(store, kwargs, field):
    """Out-of-range paging is refused naming the argument."""
    with pytest.raises(ValidationError) as error:
        store.queryCalls(**kwargs)
    assert error.value.field == field
