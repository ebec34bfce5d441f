# -*- test-case-name: tests.pbx.test_calls_fork -*-
"""
Calls that ring several devices or several destinations (issue 3 part
1): every registered contact of an extension at once (the first 200
wins, the rest are CANCELed, a 200 that crossed the CANCEL is ACKed and
BYEd), and fallback plans (L{Targets.onFailure}: hunting, forwarding,
refusing) -- with nothing left behind after each.
"""

from __future__ import annotations

from tests.pbx.callstack import Bench
from tpbx.pbx.calls import CallSettings
from tpbx.pbx.routing import CONTINUE, Destination, Reject, Targets
from tpbx.sip.invite import InviteState


def test_ringsEveryContact():
    """An extension with two registered devices: both get the INVITE, a
    180 from either reaches the caller."""
    bench = Bench(registered=("A", "B", "B2"))
    bench.dial(bench.A, "1002")
    assert bench.B.kinds() == ["INVITE"] and bench.B2.kinds() == ["INVITE"]
    assert bench.calls.counts()["legs"] == 3
    bench.B2.ring()
    bench.run()
    assert bench.A.kinds() == [407, 180]
    bench.A.hangup()
    bench.run(0.2)   # B's CANCEL waits for its 100 Trying (sec. 9.1)
    assert bench.B.kinds() == ["INVITE", "CANCEL", "ACK"]
    assert bench.B2.kinds() == ["INVITE", "CANCEL", "ACK"]
    bench.assertIdle()


def test_firstAnswerWins():
    """B answers: A is connected to B, B2 gets CANCEL (and 487s its
    INVITE); the call then runs between A and B only."""
    bench = Bench(registered=("A", "B", "B2"))
    bench.dial(bench.A, "1002")
    bench.B.ring()
    bench.B2.ring()
    bench.run()
    bench.B.answer()
    bench.run()
    assert bench.B2.kinds() == ["INVITE", "CANCEL", "ACK"]
    assert bench.B2.session().state is InviteState.DISCONNECTED
    assert bench.A.got(200)
    bench.A.hangup()
    bench.run()
    assert bench.B.kinds()[-1] == "BYE"
    assert bench.records[0].callee == "1002"
    bench.assertIdle()


def test_lateAnswerFromOtherFork():
    """
    B and B2 answer at the same moment: B's 200 wins; B2's 200 crossed
    the CANCEL, so B2 gets an ACK and then a BYE (RFC 3261 sec. 9.1,
    13.2.2.4), and the caller sees one answer only.
    """
    bench = Bench(registered=("A", "B", "B2"))
    bench.dial(bench.A, "1002")
    bench.B.ring()
    bench.B2.ring()
    bench.run()
    bench.B.answer()
    bench.B2.answer()
    bench.run()
    assert bench.B2.kinds() == ["INVITE", "CANCEL", "ACK", "BYE"]
    assert len(bench.A.got(200)) == 1
    assert bench.B.session().state is InviteState.CONFIRMED
    bench.B.hangup()
    bench.run()
    bench.assertIdle()


def test_everyForkBusy():
    """Both devices busy: the caller gets 486 once both said so."""
    bench = Bench(registered=("A", "B", "B2"))
    bench.dial(bench.A, "1002")
    bench.B.reject(486)
    bench.run()
    assert bench.A.kinds() == [407]
    bench.B2.reject(486)
    bench.run()
    assert bench.A.kinds() == [407, 486]
    bench.assertIdle()


def test_oneForkDeclinesOtherAnswers():
    """One device refusing does not fail the call while another rings."""
    bench = Bench(registered=("A", "B", "B2"))
    bench.dial(bench.A, "1002")
    bench.B2.reject(603)
    bench.B.answer()
    bench.run()
    assert bench.A.kinds() == [407, 200]
    bench.A.hangup()
    bench.run()
    bench.assertIdle()


class _Hunt:
    """Dialling 1002 rings Bob, then the next plan on failure."""

    def __init__(self, next_, ringTime=10):
        self.next = next_
        self.ringTime = ringTime
        self.outcomes = []

    def route(self, context):
        if context.dialled != "1002":
            return CONTINUE
        return Targets((Destination("extension", "1002"),), self.ringTime, self.onFailure)

    def onFailure(self, outcome):
        self.outcomes.append(outcome)
        return self.next(outcome)


def _toCarol(outcome):
    return Targets((Destination("extension", "1003"),), 10)


def test_huntAfterNoAnswer():
    """
    A plan that hunts to Carol when Bob does not answer within its ring
    time: Bob is CANCELed, Carol rings and answers, A is connected to
    her (with one relay session for the whole call).
    """
    hunt = _Hunt(_toCarol)
    bench = Bench(registered=("A", "B", "C"), steps=[hunt])
    bench.dial(bench.A, "1002")
    bench.B.ring()
    bench.run(10.5)
    assert hunt.outcomes == ["no-answer"]
    assert bench.B.kinds() == ["INVITE", "CANCEL", "ACK"]
    assert bench.C.kinds() == ["INVITE"]
    bench.C.ring()
    bench.C.answer()
    bench.run()
    assert bench.A.kinds() == [407, 180, 180, 200]
    assert len(bench.relay.allocated) == 1
    bench.run(20)   # the first ring timer must not fire any more
    assert bench.C.session().state is InviteState.CONFIRMED
    bench.C.hangup()
    bench.run()
    assert bench.records[0].callee == "1003"
    bench.assertIdle()


def test_forwardWhenBusy():
    """A busy Bob forwards to Carol; when Carol does not answer either
    (her targets have no plan of their own), the caller gets 480."""
    hunt = _Hunt(lambda outcome: _toCarol(outcome) if outcome == "busy" else None)
    bench = Bench(registered=("A", "B", "C"), steps=[hunt])
    bench.dial(bench.A, "1002")
    bench.B.reject(486)
    bench.run()
    assert bench.C.kinds() == ["INVITE"]
    bench.run(10.5)
    assert hunt.outcomes == ["busy"]
    assert bench.A.kinds() == [407, 480]
    assert bench.C.kinds() == ["INVITE", "CANCEL", "ACK"]
    bench.assertIdle()


def test_forwardWhenNotRegistered():
    """A plan's not-registered outcome can send the call elsewhere."""
    hunt = _Hunt(_toCarol)
    bench = Bench(registered=("A", "C"), steps=[hunt])
    bench.dial(bench.A, "1002")
    assert hunt.outcomes == ["not-registered"]
    bench.C.answer()
    bench.run()
    assert bench.A.kinds() == [407, 200]
    bench.A.hangup()
    bench.run()
    bench.assertIdle()


def test_planRejects():
    """A plan may end the call with a status of its own."""
    hunt = _Hunt(lambda outcome: Reject(486, "Busy Here"))
    bench = Bench(registered=("A", "B"), steps=[hunt])
    bench.dial(bench.A, "1002")
    bench.run(10.5)
    assert bench.A.kinds() == [407, 486]
    assert bench.A.got(486)[0].reason == "Busy Here"
    bench.assertIdle()


def test_callerCancelsDuringHunt():
    """A hangs up while the second destination rings: both attempts end."""
    hunt = _Hunt(_toCarol)
    bench = Bench(registered=("A", "B", "C"), steps=[hunt])
    bench.dial(bench.A, "1002")
    bench.run(10.5)
    bench.C.ring()
    bench.run()
    bench.A.hangup()
    bench.run()
    assert bench.A.kinds()[-1] == 487
    assert bench.C.kinds() == ["INVITE", "CANCEL", "ACK"]
    bench.assertIdle()


def test_defaultRingTime():
    """Targets without a ring time use the configured one."""
    bench = Bench(settings=CallSettings(ringTime=5))
    bench.dial(bench.A, "1002")
    bench.run(5.5)
    assert bench.A.kinds() == [407, 480]
    bench.assertIdle()
