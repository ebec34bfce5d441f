# -*- test-case-name: tests.pbx.test_journal -*-
"""
Tests for L{tpbx.pbx.journal}: binding changes are batched, latest wins,
written in one call, kept on a database error, and survive the round trip
through a real store.
"""

from __future__ import annotations

from twisted.logger import capturedLogs

from tpbx.pbx.journal import BindingJournal, bindingFromRow, bindingToRow
from tpbx.pbx.location import Binding
from tpbx.sip.peer import Peer
from tpbx.store import openStore
from tpbx.testing import ManualRunner

NOW = 1_700_000_000.0
PHONE = Peer("udp", "198.51.100.7", 40000, local=("192.0.2.1", 5060))


def binding(aor="1001", contact="sip:1001@192.168.1.10:5062", expiresAt=NOW + 3600,
            **fields) -> Binding:
    values = dict(q=1.0, callId="call-1", cseq=1, peer=PHONE)
    values.update(fields)
    return Binding(aor, contact, expiresAt, **values)


class Writes:
    """A C{write} callable recording its batches; fails while C{failing}."""

    def __init__(self):
        self.batches: list[tuple[list, list]] = []
        self.failing = False

    def __call__(self, saved, deleted):
        if self.failing:
            raise OSError("database is locked")
        self.batches.append((saved, deleted))


def test_flushWritesOneBatch():
    """Added bindings become rows, removed ones keys, in one write."""
    writes = Writes()
    journal = BindingJournal(writes)
    a, b = binding(), binding("1002", "sip:1002@192.168.1.11")
    journal.changed((a,), ())
    journal.changed((), (b,))
    journal.flush()
    assert writes.batches == [([bindingToRow(a)], [("1002", "sip:1002@192.168.1.11")])]
    assert journal.pending == {}


def test_latestChangeWins():
    """
    A binding added then removed within one interval is only deleted; one
    refreshed twice is written once, with its latest state.
    """
    writes = Writes()
    journal = BindingJournal(writes)
    first, refreshed = binding(cseq=1), binding(cseq=2, expiresAt=NOW + 7200)
    gone = binding("1002", "sip:1002@192.168.1.11")
    journal.changed((first, gone), ())
    journal.changed((refreshed,), (gone,))
    journal.flush()
    [(saved, deleted)] = writes.batches
    assert saved == [bindingToRow(refreshed)]
    assert deleted == [("1002", "sip:1002@192.168.1.11")]


def test_removedAndAddedInOneChangeKeepsTheBinding():
    """
    The registrar reports a contact rewritten in one REGISTER as removed
    and added: the addition is applied last.
    """
    writes = Writes()
    journal = BindingJournal(writes)
    b = binding()
    journal.changed((b,), (b,))
    journal.flush()
    assert writes.batches == [([bindingToRow(b)], [])]


def test_nothingPendingWritesNothing():
    """An idle second costs no database write."""
    writes = Writes()
    BindingJournal(writes).flush()
    assert writes.batches == []


def test_failedWriteIsRetried():
    """
    A database error is logged and the changes stay pending; changes made
    meanwhile are merged, the newer winning, and the next flush writes all.
    """
    writes = Writes()
    journal = BindingJournal(writes)
    old, other = binding(cseq=1), binding("1002", "sip:1002@192.168.1.11")
    journal.changed((old, other), ())
    writes.failing = True
    with capturedLogs() as events:
        journal.flush()
    assert any(e.get("log_failure") is not None for e in events)
    assert set(journal.pending) == {("1001", old.contact), ("1002", other.contact)}
    newer = binding(cseq=2)
    journal.changed((newer,), ())
    writes.failing = False
    journal.flush()
    [(saved, deleted)] = writes.batches
    assert sorted(saved, key=lambda r: r["aor"]) == [bindingToRow(newer), bindingToRow(other)]
    assert deleted == [] and journal.pending == {}


def test_oneWriteAtATime():
    """
    While a write runs in its thread, a flush starts no second one; the
    changes made meanwhile go in the next write, after the first ended.
    """
    writes, threads = Writes(), ManualRunner()
    journal = BindingJournal(writes, threads)
    first, second = binding(cseq=1), binding("1002", "sip:1002@192.168.1.11")
    journal.changed((first,), ())
    journal.flush()
    journal.changed((second,), ())
    journal.flush()
    assert len(threads.running) == 1 and writes.batches == []
    threads.finish()
    journal.flush()
    threads.finish()
    assert writes.batches == [([bindingToRow(first)], []), ([bindingToRow(second)], [])]


def test_stopWaitsAndWritesTheRest():
    """Stop waits for the write in flight, then writes what is still pending."""
    writes, threads = Writes(), ManualRunner()
    journal = BindingJournal(writes, threads)
    first, second = binding(cseq=1), binding("1002", "sip:1002@192.168.1.11")
    journal.changed((first,), ())
    journal.flush()
    journal.changed((second,), ())
    stopped = journal.stop()
    threads.finish()
    assert not stopped.called
    threads.finish()
    assert stopped.called and journal.pending == {}
    assert writes.batches == [([bindingToRow(first)], []), ([bindingToRow(second)], [])]


def test_rowRoundTrip():
    """
    A binding survives L{bindingToRow} / L{bindingFromRow} except its flow
    and local socket (gone with the old process).
    """
    b = binding(q=0.5, userAgent="Phone/2", instanceId='"<urn:uuid:1>"', regId=1,
                peer=Peer("tcp", "2001:db8::7", 5070, flow=42))
    back = bindingFromRow(bindingToRow(b))
    assert back.peer == Peer("tcp", "2001:db8::7", 5070)
    assert (back.aor, back.contact, back.expiresAt, back.q, back.callId, back.cseq,
            back.userAgent, back.instanceId, back.regId) == (
        b.aor, b.contact, b.expiresAt, b.q, b.callId, b.cseq, b.userAgent,
        b.instanceId, b.regId)


def test_rowDefaults():
    """Rows with the optional columns empty give the binding defaults."""
    row = bindingToRow(binding())
    row.update(q=None, userAgent=None, instanceId=None, regId=None)
    back = bindingFromRow(row)
    assert (back.q, back.userAgent, back.instanceId, back.regId) == (1.0, "", None, None)


def test_journalOverRealStore(tmp_path):
    """
    Flushed into the store's C{flushBindings}, bindings load back as they
    were, and deletions take effect.
    """
    store = openStore(str(tmp_path), seconds=lambda: NOW)
    try:
        journal = BindingJournal(store.flushBindings)
        keep, drop = binding(userAgent="Phone/2"), binding("1002", "sip:1002@192.168.1.11")
        journal.changed((keep, drop), ())
        journal.flush()
        journal.changed((), (drop,))
        journal.flush()
        [row] = store.loadBindings(NOW)
        assert bindingFromRow(row) == bindingFromRow(bindingToRow(keep))
    finally:
        store.close()
