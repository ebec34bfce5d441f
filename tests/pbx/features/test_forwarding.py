"""
Tests for L{tpbx.pbx.features.forwarding}: forwarding rules (SPEC B3).
"""

import pytest
from zope.interface.verify import verifyObject

from tests.pbx.features.fakes import NOW, FeatureDirectory, context, extensions, follow, numbers
from tpbx.model import Extension, ForwardingRule, RingGroup
from tpbx.pbx.features.forwarding import ForwardingStep, selectRules
from tpbx.pbx.features.plan import featureSteps
from tpbx.pbx.routing import CONTINUE, Destination, IRouteStep, Reject, Targets

URI = "sip:{number}@10.0.0.5:5060"


def rule(condition, action, extension="101", **kw):
    return ForwardingRule(extension, condition, action, **kw)


def setup(rules=(), exts=None, **kw):
    directory = FeatureDirectory(exts or extensions("100", "101", "102", "103"), rules=rules,
                                 settings={"externalCallUri": URI}, **kw)
    return directory, ForwardingStep(directory)


def test_interface():
    """The step is an IRouteStep."""
    assert verifyObject(IRouteStep, setup()[1])


def test_notAnExtension():
    """Numbers that are no extension are for later steps."""
    directory, step = setup()
    assert step.route(context("555")) is CONTINUE


def test_noRules():
    """Without rules the extension rings for the default time and every
    failure is the caller's plain failure."""
    directory, step = setup()
    result = step.route(context("101"))
    assert result.destinations == (Destination("extension", "101"),)
    assert result.ringTime is None
    for outcome in ("no-answer", "busy", "not-registered", "failed"):
        assert result.onFailure(outcome) is None


def test_noAnswerDelayIsRingTime():
    """A no-answer rule's delay is how long the extension rings."""
    directory, step = setup([rule("no-answer", "extension:102", delay=12)])
    result = step.route(context("101"))
    assert result.ringTime == 12
    assert numbers(result.onFailure("no-answer")) == ["102"]


@pytest.mark.parametrize("condition", ["no-answer", "busy", "not-registered"])
def test_eachCondition(condition):
    """Each condition applies its own rule and only that one."""
    directory, step = setup([rule(condition, "extension:102")])
    result = step.route(context("101"))
    for outcome in ("no-answer", "busy", "not-registered", "failed"):
        follow = result.onFailure(outcome)
        assert (follow is not None) == (outcome == condition)


@pytest.mark.parametrize("action, expected", [
    ("extension:102", Targets((Destination("extension", "102"),))),
    ("voicemail", Reject(480, "Voicemail not available")),
    ("voicemail:103", Reject(480, "Voicemail not available")),
    ("end", Reject(480)),
])
def test_actions(action, expected):
    """Every action: another extension, voicemail (placeholder), end."""
    directory, step = setup([rule("no-answer", action)])
    result = step.route(context("101")).onFailure("no-answer")
    if isinstance(expected, Targets):
        assert result.destinations == expected.destinations
    else:
        assert result == expected


def test_actionExternal():
    """external:NUM goes to the configured URI."""
    directory, step = setup([rule("busy", "external:0612345678")])
    result = step.route(context("101")).onFailure("busy")
    assert result.destinations == (Destination("uri", "sip:0612345678@10.0.0.5:5060"),)


def test_endAfterBusyIsBusy():
    """A busy rule that ends the call gives the caller busy."""
    directory, step = setup([rule("busy", "end")])
    assert step.route(context("101")).onFailure("busy") == Reject(486)


def test_statusSelectsRules():
    """Only the rules of the callee's current status apply."""
    rules = [rule("no-answer", "extension:102", status="available"),
             rule("no-answer", "extension:103", status="away")]
    for status, target in (("available", "102"), ("away", "103"), ("lunch", None)):
        directory, step = setup(rules, extensions("100", "102", "103")
                                + [Extension("101", status=status)])
        result = step.route(context("101")).onFailure("no-answer")
        assert (numbers(result) == [target]) if target else result is None


@pytest.mark.parametrize("office, target", [(True, "102"), (False, "103")])
def test_officeHours(office, target):
    """Office-hours rules apply in office hours, outside rules outside,
    asked of the directory for the call's time."""
    rules = [rule("no-answer", "extension:102", hours="office"),
             rule("no-answer", "extension:103", hours="outside")]
    directory, step = setup(rules, officeHours=office)
    assert numbers(step.route(context("101")).onFailure("no-answer")) == [target]
    assert set(directory.hoursAsked) == {NOW}


@pytest.mark.parametrize("caller, target", [("100", "102"), (None, "103")])
def test_internalExternalCaller(caller, target):
    """Internal callers (an extension) and external callers (none) get
    their own rules."""
    rules = [rule("busy", "extension:102", caller="internal"),
             rule("busy", "extension:103", caller="external")]
    directory, step = setup(rules)
    assert numbers(step.route(context("101", caller=caller)).onFailure("busy")) == [target]


def test_mostSpecificRuleWins():
    """Of matching rules, exact hours and caller beat 'any'; ties go to
    the first."""
    rules = [rule("busy", "extension:100"),
             rule("busy", "extension:102", caller="internal"),
             rule("busy", "extension:103", caller="internal", hours="office"),
             rule("busy", "extension:100", caller="internal", hours="office")]
    assert selectRules(rules, "available", True, True)["busy"] is rules[2]
    assert selectRules(rules, "available", False, True)["busy"] is rules[1]
    assert selectRules(rules, "available", False, False)["busy"] is rules[0]


def test_dndBusyRuleAtOnce():
    """DND: the phone does not ring; the busy rule applies at once."""
    rules = [rule("busy", "extension:102", status="dnd"),
             rule("no-answer", "extension:103", status="dnd")]
    directory, step = setup(rules, extensions("100", "102", "103")
                            + [Extension("101", status="dnd")])
    assert numbers(step.route(context("101"))) == ["102"]


def test_dndNoAnswerRule():
    """DND without a busy rule: nobody will answer, the no-answer rule."""
    directory, step = setup([rule("no-answer", "voicemail", status="dnd")],
                            extensions("100") + [Extension("101", status="dnd")])
    assert step.route(context("101")) == Reject(480, "Voicemail not available")


def test_dndWithoutRules():
    """DND without rules: 486."""
    directory, step = setup((), [Extension("101", status="dnd")])
    assert step.route(context("101")) == Reject(486, "Do Not Disturb")


def test_callWaitingOffAndBusy():
    """Call waiting off and already on a call: busy at once, with the busy
    rule or 486."""
    exts = extensions("100", "102") + [Extension("101", callWaiting=False)]
    directory = FeatureDirectory(exts, rules=[rule("busy", "extension:102")])
    step = ForwardingStep(directory, isBusy=lambda number: number == "101")
    assert numbers(step.route(context("101"))) == ["102"]
    directory.rules = []
    assert step.route(context("101")) == Reject(486)


def test_callWaitingOn():
    """With call waiting on, a busy extension still rings."""
    directory, _ = setup()
    step = ForwardingStep(directory, isBusy=lambda number: True)
    assert numbers(step.route(context("101"))) == ["101"]


def test_chainFollowsNextRules():
    """Forwarding to an extension applies that extension's rules too."""
    rules = [rule("no-answer", "extension:102"),
             rule("no-answer", "extension:103", extension="102", delay=7)]
    directory, step = setup(rules)
    rung, final = follow(step.route(context("101")), "no-answer")
    assert [numbers(t) for t in rung] == [["101"], ["102"], ["103"]]
    assert rung[1].ringTime == 7 and final is None


def test_loopDetected():
    """A forwards to B forwards to A: after maxHops forwards, 482."""
    rules = [rule("no-answer", "extension:102"),
             rule("no-answer", "extension:101", extension="102")]
    directory, step = setup(rules)
    rung, final = follow(step.route(context("101")), "no-answer")
    assert len(rung) == step.maxHops + 1
    assert final == Reject(482, "Loop Detected")


def test_dndLoopDetected():
    """Two extensions in DND forwarding to each other end at once in 482,
    not in endless recursion."""
    rules = [rule("busy", "extension:102", status="dnd"),
             rule("busy", "extension:101", extension="102", status="dnd")]
    directory, step = setup(rules, [Extension("101", status="dnd"),
                                    Extension("102", status="dnd")])
    assert step.route(context("101")) == Reject(482, "Loop Detected")


def test_forwardToMissingExtension():
    """A rule naming a deleted extension: 404 for the caller."""
    directory, step = setup([rule("busy", "extension:109")])
    assert step.route(context("101")).onFailure("busy").status == 404


def test_forwardToRingGroup():
    """A rule may forward to a ring group number, which rings the group."""
    directory = FeatureDirectory(extensions("100", "101", "102", "103"),
                                 groups=[RingGroup("600", members=("102", "103"))],
                                 rules=[rule("no-answer", "extension:600")])
    steps = featureSteps(directory, "pbx.example", lambda n, s: None)
    result = steps[2].route(context("101")).onFailure("no-answer")
    assert numbers(result) == ["102", "103"]


def test_forwardToRingGroupWithoutHook():
    """Without the ring group hook, a group number is no extension: 404."""
    directory = FeatureDirectory(extensions("100", "101"), groups=[RingGroup("600")],
                                 rules=[rule("busy", "extension:600")])
    assert ForwardingStep(directory).route(context("101")).onFailure("busy").status == 404
