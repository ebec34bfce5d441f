# -*- test-case-name: tests.pbx.test_replaces -*-
"""
A new INVITE with Replaces (RFC 3891) through the B2BUA
(L{tpbx.pbx.replaces}): call pickup of a ringing B leg, a new party
replacing one of an answered call, and every refusal of sec. 3 -- each
scenario ending with nothing left behind.
"""

from __future__ import annotations

import pytest

from tests.pbx.callstack import Bench, audio, connect
from tpbx.errors import ProtocolError
from tpbx.sip.dialog import newRequest
from tpbx.pbx.replaces import ReplacesTarget, parseReplacesHeader
from tpbx.sip.invite import InviteState


def _replaces(dialog, extra: str = "") -> tuple:
    """The Replaces header naming C{dialog} (a phone's own view of it)."""
    return ("Replaces", f"{dialog.callId};to-tag={dialog.remoteTag};"
                        f"from-tag={dialog.localTag}{extra}")


def _ringing(bench) -> None:
    """A calls B; B rings (its 180 has a To tag: an early dialog)."""
    bench.dial(bench.A, "1002")
    bench.B.ring()
    bench.run()


def _finalStatus(phone) -> int:
    return [m.status for m in phone.received if getattr(m, "status", 0) >= 200][-1]


def test_parseReplacesHeader():
    """Call-ID, both tags and early-only are read; two Replaces headers
    or a missing tag are 400 (RFC 3891 sec. 3, 6.1)."""
    def request(*values):
        return newRequest("INVITE", "sip:1002@h", "<sip:1003@h>", "<sip:1002@h>",
                          "sip:1003@h", "SIP/2.0/UDP h",
                          extraHeaders=[("Replaces", v) for v in values])
    assert parseReplacesHeader(request("c@h;to-tag=1;from-tag=2;early-only")) == \
        ReplacesTarget("c@h", "1", "2", True)
    assert not parseReplacesHeader(request("c@h;from-tag=2;to-tag=1")).earlyOnly
    for values in (("c@h;to-tag=1",), ("c@h;to-tag=1;from-tag=2", "d@h;to-tag=1;from-tag=2"),
                   ("c@h;to-tag=1;from-tag=2, d@h;to-tag=1;from-tag=2",)):
        with pytest.raises(ProtocolError) as e:
            parseReplacesHeader(request(*values))
        assert e.value.statusHint == 400


def test_pickupByReplaces():
    """
    C sends an INVITE with Replaces naming the PBX's ringing dialog with
    B (BLF pickup): C and A both get 200, B gets CANCEL, the relay's B
    side is aimed at C; the record names C.
    """
    bench = Bench(registered=("A", "B", "C"))
    _ringing(bench)
    relay = bench.relay.allocated[0]
    bench.dial(bench.C, "1002", headers=[_replaces(bench.B.incoming.dialog)])
    assert bench.C.kinds()[-2:] == [407, 200]
    assert bench.A.kinds()[-1] == 200
    assert "CANCEL" in bench.B.kinds()
    assert relay.b.target == ("192.168.1.30", 43000)
    assert audio(bench.C.got(200)[-1].body)[:2] == ("192.168.1.1", relay.b.port)
    assert len(bench.relay.allocated) == 1
    bench.A.hangup()
    bench.run()
    assert bench.C.kinds()[-1] == "BYE"
    bench.assertIdle()
    [record] = bench.records
    assert (record.caller, record.callee, record.disposition) == ("1001", "1003", "answered")


def test_replaceAnsweredCallee():
    """
    A talks to B; C sends an INVITE with Replaces naming B's dialog: C
    is answered on the relay's B side, which is re-aimed at C; B gets
    BYE; A gets no re-INVITE; A hanging up then ends C's leg.
    """
    bench = Bench(registered=("A", "B", "C"))
    connect(bench)
    relay = bench.relay.allocated[0]
    bench.dial(bench.C, "1002", headers=[_replaces(bench.B.session().dialog)])
    ok = bench.C.got(200)[-1]
    assert audio(ok.body)[:3] == ("192.168.1.1", relay.b.port, ["PCMU", "TELEPHONE-EVENT"])
    assert relay.b.target == ("192.168.1.30", 43000)
    assert bench.B.kinds()[-1] == "BYE"
    assert bench.A.got("INVITE") == []
    assert bench.calls.isBusy("1003") and not bench.calls.isBusy("1002")
    bench.A.hangup()
    bench.run()
    assert bench.C.kinds()[-1] == "BYE"
    bench.assertIdle()
    [record] = bench.records
    assert (record.caller, record.callee) == ("1001", "1003")


def test_replaceAnsweredCaller():
    """C replaces the caller A (tags in the other order): the relay's A
    side aims at C; B hanging up ends C's leg."""
    bench = Bench(registered=("A", "B", "C"))
    connect(bench)
    relay = bench.relay.allocated[0]
    dialog = bench.A.session().dialog
    value = f"{dialog.callId};from-tag={dialog.remoteTag};to-tag={dialog.localTag}"
    bench.dial(bench.C, "1001", headers=[("Replaces", value)])
    assert bench.C.kinds()[-1] == 200
    assert relay.a.target == ("192.168.1.30", 43000)
    assert bench.A.kinds()[-1] == "BYE"
    bench.B.hangup()
    bench.run()
    assert bench.C.kinds()[-1] == "BYE"
    bench.assertIdle()
    assert bench.records[0].caller == "1003"


def test_replaceWithoutSharedCodec():
    """A replacing INVITE without the call's codec gets 488; the call
    goes on untouched."""
    bench = Bench(registered=("A", "B", "C"))
    connect(bench)
    bench.dial(bench.C, "1002", body=bench.C.offer(codecs=("G722",)),
               headers=[_replaces(bench.B.session().dialog)])
    assert _finalStatus(bench.C) == 488
    assert bench.B.session().state is InviteState.CONFIRMED
    bench.hangUpAll()
    bench.assertIdle()


def test_unknownDialog():
    """A Replaces naming no dialog of the PBX: 481, and no call starts."""
    bench = Bench(registered=("A", "B", "C"))
    bench.dial(bench.C, "1002", headers=[("Replaces", "nope@h;to-tag=1;from-tag=2")])
    assert _finalStatus(bench.C) == 481
    assert bench.B.received == []
    bench.assertIdle()


def test_earlyOnlyConfirmed():
    """early-only naming a confirmed dialog: 486; the call goes on."""
    bench = Bench(registered=("A", "B", "C"))
    connect(bench)
    bench.dial(bench.C, "1002", headers=[_replaces(bench.B.session().dialog, ";early-only")])
    assert _finalStatus(bench.C) == 486
    assert bench.B.session().state is InviteState.CONFIRMED
    bench.hangUpAll()
    bench.assertIdle()


def test_earlyDialogNotOurs():
    """The caller's own early dialog (the PBX is its UAS) cannot be
    replaced: 481 (RFC 3891 sec. 3); A keeps ringing B."""
    bench = Bench(registered=("A", "B", "C"))
    _ringing(bench)
    bench.dial(bench.C, "1001", headers=[_replaces(bench.A.outgoing.dialog)])
    assert _finalStatus(bench.C) == 481
    bench.B.answer()
    bench.run()
    bench.hangUpAll()
    bench.assertIdle()


def test_malformed():
    """A Replaces without from-tag is 400."""
    bench = Bench(registered=("A", "B", "C"))
    bench.dial(bench.C, "1002", headers=[("Replaces", "c@h;to-tag=1")])
    assert _finalStatus(bench.C) == 400
    bench.assertIdle()


def test_terminatedDialog():
    """
    Bob's second phone B2 rang and was cancelled when B answered: its
    dialog is terminated while the call goes on, and a Replaces naming
    it is declined (603, RFC 3891 sec. 3).
    """
    bench = Bench(registered=("A", "B", "B2", "C"))
    bench.dial(bench.A, "1002")
    bench.B2.ring()
    bench.B.answer()
    bench.run()
    assert bench.B2.incoming.state is InviteState.DISCONNECTED
    bench.dial(bench.C, "1002", headers=[_replaces(bench.B2.incoming.dialog)])
    assert _finalStatus(bench.C) == 603
    bench.hangUpAll()
    bench.assertIdle()
