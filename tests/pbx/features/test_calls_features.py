"""
The feature steps driving real calls through the B2BUA (the
L{tests.pbx.callstack} bench): hunting past an unregistered member,
forwarding on busy and on no answer, intercom and paging headers on the
wire -- and nothing left behind.
"""

from tests.pbx.callstack import DAVE, Bench
from tests.pbx.features.fakes import FeatureDirectory
from tests.pbx.sipfixtures import ALICE, BOB, CAROL
from tpbx.model import ForwardingRule, RingGroup
from tpbx.pbx.features.plan import featureSteps


def bench(groups=(), rules=(), registered=("A", "B", "D")):
    directory = FeatureDirectory([ALICE, BOB, CAROL, DAVE], groups=groups, rules=rules)
    steps = featureSteps(directory, "pbx.example", lambda number, status: None)
    return Bench(registered=registered, steps=steps)


def finish(b, caller, callee):
    callee.answer()
    b.run()
    assert caller.got(200)
    caller.hangup()
    b.run()
    b.assertIdle()


def test_huntSkipsUnregisteredMember():
    """A hunt group whose first member is not registered rings the next at
    once; a busy member passes the call on to the one after."""
    b = bench(groups=[RingGroup("600", strategy="hunt", ringTime=10,
                                members=("1003", "1002", "1004"))])
    b.dial(b.A, "600")
    assert b.B.kinds() == ["INVITE"] and b.D.kinds() == []
    b.B.reject(486)
    b.run()
    assert b.D.kinds() == ["INVITE"]
    finish(b, b.A, b.D)


def test_huntNoAnswerMovesOn():
    """A member that does not answer within the ring time is CANCELed and
    the next member rung."""
    b = bench(groups=[RingGroup("600", strategy="hunt", ringTime=10,
                                members=("1002", "1004"))])
    b.dial(b.A, "600")
    b.run(10)
    assert b.B.kinds()[:2] == ["INVITE", "CANCEL"]
    assert b.D.kinds() == ["INVITE"]
    finish(b, b.A, b.D)


def test_forwardOnBusy():
    """Bob busy with a busy rule to Dave: Dave rings."""
    b = bench(rules=[ForwardingRule("1002", "busy", "extension:1004")])
    b.dial(b.A, "1002")
    b.B.reject(486)
    b.run()
    assert b.D.kinds() == ["INVITE"]
    finish(b, b.A, b.D)


def test_forwardOnNoAnswerAfterDelay():
    """A no-answer rule rings Bob for its delay, then Dave."""
    b = bench(rules=[ForwardingRule("1002", "no-answer", "extension:1004", delay=7)])
    b.dial(b.A, "1002")
    b.run(6.9)
    assert b.D.kinds() == []
    b.run(0.2)
    assert b.D.kinds() == ["INVITE"]
    finish(b, b.A, b.D)


def test_forwardNotRegistered():
    """Carol has no phone registered: her not-registered rule rings Bob."""
    b = bench(rules=[ForwardingRule("1003", "not-registered", "extension:1002")])
    b.dial(b.A, "1003")
    assert b.B.kinds() == ["INVITE"]
    finish(b, b.A, b.B)


def test_intercomHeaders():
    """*9 + extension reaches the phone with the auto-answer headers."""
    b = bench()
    b.dial(b.A, "*91002")
    invite = b.B.got("INVITE")[0]
    assert invite.headers.get("Call-Info") == "<sip:pbx.example>;answer-after=0"
    assert invite.headers.get("Alert-Info") == "<http://127.0.0.1>;info=alert-autoanswer"
    finish(b, b.A, b.B)


def test_pagingHeaders():
    """A paging group's INVITEs all carry the auto-answer headers."""
    b = bench(groups=[RingGroup("700", strategy="paging", members=("1002", "1004"))])
    b.dial(b.A, "700")
    for phone in (b.B, b.D):
        assert phone.got("INVITE")[0].headers.get("Answer-Mode") == "Auto"
    finish(b, b.A, b.B)

