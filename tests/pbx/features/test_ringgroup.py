"""
Tests for L{tpbx.pbx.features.ringgroup}: ring groups (SPEC E3) and
paging headers (E4).
"""

import pytest
from zope.interface.verify import verifyObject

from tests.pbx.features.fakes import FeatureDirectory, context, extensions, follow, numbers
from tpbx.model import Extension, ForwardingRule, RingGroup
from tpbx.pbx.features.plan import featureSteps
from tpbx.pbx.features.ringgroup import PagingTargets, RingGroupStep, autoAnswerHeaders
from tpbx.pbx.routing import CONTINUE, IRouteStep, Reject, Targets

HOST = "pbx.example"
MEMBERS = ("101", "102", "103")


def group(strategy, members=MEMBERS, noAnswer="extension:109", ringTime=15):
    return RingGroup("600", "Sales", strategy, ringTime, members, noAnswer)


def setup(ringGroup, exts=None, isBusy=None):
    directory = FeatureDirectory(exts or extensions("100", *MEMBERS, "109"),
                                 groups=[ringGroup])
    return directory, RingGroupStep(directory, HOST, isBusy=isBusy)


def test_interface():
    """The step is an IRouteStep."""
    assert verifyObject(IRouteStep, setup(group("hunt"))[1])


def test_notAGroup():
    """Numbers that are no ring group are for later steps."""
    assert setup(group("hunt"))[1].route(context("101")) is CONTINUE


def test_huntInOrder():
    """Hunt rings one member at a time, in order, ringTime each, then the
    no-answer destination."""
    directory, step = setup(group("hunt"))
    rung, final = follow(step.route(context("600")), "no-answer")
    assert [numbers(t) for t in rung] == [["101"], ["102"], ["103"], ["109"]]
    assert [t.ringTime for t in rung[:3]] == [15, 15, 15]
    assert final is None


@pytest.mark.parametrize("outcome", ["busy", "not-registered", "failed", "no-answer"])
def test_huntMovesOnAfterAnyFailure(outcome):
    """A busy, refusing or unregistered member passes the call on (an
    unregistered one at once: the call reports it without ringing)."""
    directory, step = setup(group("hunt"))
    first = step.route(context("600"))
    assert numbers(first.onFailure(outcome)) == ["102"]


def test_huntMixedOutcomes():
    """Members failing differently still hunt through to the end."""
    outcomes = iter(["not-registered", "busy", "no-answer", "no-answer"])
    directory, step = setup(group("hunt", noAnswer="end"))
    rung, final = follow(step.route(context("600")), lambda targets: next(outcomes))
    assert [numbers(t) for t in rung] == [["101"], ["102"], ["103"]]
    assert final == Reject(480)


def test_ringAll():
    """Ring all rings every member at once for ringTime, then the
    no-answer destination whatever the failure."""
    directory, step = setup(group("ringall"))
    result = step.route(context("600"))
    assert numbers(result) == list(MEMBERS) and result.ringTime == 15
    assert all(d.headers == () for d in result.destinations)
    for outcome in ("no-answer", "busy", "failed", "not-registered"):
        assert numbers(result.onFailure(outcome)) == ["109"]


def test_paging():
    """Paging rings every member with the auto-answer headers, as
    L{PagingTargets} (a one-way page keeping every answer); ring-all and
    hunt stay plain L{Targets}."""
    directory, step = setup(group("paging", noAnswer="end"))
    result = step.route(context("600"))
    assert type(result) is PagingTargets and isinstance(result, Targets)
    assert type(setup(group("ringall"))[1].route(context("600"))) is Targets
    assert type(setup(group("hunt"))[1].route(context("600"))) is Targets
    assert numbers(result) == list(MEMBERS)
    assert all(d.headers == autoAnswerHeaders(HOST) for d in result.destinations)
    assert result.onFailure("no-answer") == Reject(480)


def test_multicastPaging():
    """
    A paging group with a multicast address rings nobody, whoever is
    registered: its L{PagingTargets} carry the group's address and port
    and no destination.  Paging without one still rings the members.
    """
    multicast = RingGroup("600", "Overhead", "paging", 15, (), "end", multicast="239.255.0.1:5004")
    result = setup(multicast, exts=extensions("100"))[1].route(context("600"))
    assert type(result) is PagingTargets
    assert (result.destinations, result.multicast) == ((), ("239.255.0.1", 5004))
    assert setup(group("paging"))[1].route(context("600")).multicast is None


def test_badMulticastRefused():
    """A multicast address the store would have refused (written into the
    database by hand) makes the call fail with 500, not a traceback."""
    bad = RingGroup("600", "Overhead", "paging", 15, (), "end", multicast="10.0.0.1:5004")
    assert setup(bad)[1].route(context("600")) == Reject(500, "Bad ring group configured")


def test_autoAnswerHeaders():
    """The headers phones honour: Call-Info answer-after=0 naming the PBX,
    Alert-Info alert-autoanswer, RFC 5373 Answer-Mode."""
    assert autoAnswerHeaders("10.0.0.1") == (
        ("Call-Info", "<sip:10.0.0.1>;answer-after=0"),
        ("Alert-Info", "<http://127.0.0.1>;info=alert-autoanswer"),
        ("Answer-Mode", "Auto"))


def test_membersLeftOut():
    """Unknown members, members in DND, busy members without call waiting,
    duplicates and the caller are not rung."""
    exts = [Extension("100"), Extension("101", status="dnd"),
            Extension("102", callWaiting=False), Extension("103"), Extension("104")]
    ringGroup = group("ringall", members=("100", "101", "102", "103", "107", "103", "104"))
    directory, step = setup(ringGroup, exts, isBusy=lambda number: number in ("102", "104"))
    assert numbers(step.route(context("600", caller="100"))) == ["103", "104"]


def test_nobodyLeft():
    """With no member to ring, the no-answer destination applies at once."""
    directory, step = setup(group("hunt", members=("101",), noAnswer="voicemail"),
                            [Extension("101", status="dnd")])
    assert step.route(context("600")) == Reject(480, "Voicemail not available")


def test_noRingTime():
    """A ring time of 0 means the default ring time."""
    directory, step = setup(group("ringall", ringTime=0))
    assert step.route(context("600")).ringTime is None


def test_unknownStrategy():
    """A strategy this version does not know refuses with 500, not a crash."""
    directory, step = setup(group("random"))
    assert step.route(context("600")) == Reject(500, "Bad ring group configured")


def test_noAnswerFollowsForwarding():
    """Wired with forwarding (featureSteps), a no-answer extension's own
    rules apply."""
    directory = FeatureDirectory(extensions("100", *MEMBERS, "109", "110"),
                                 groups=[group("ringall")],
                                 rules=[ForwardingRule("109", "no-answer", "extension:110")])
    steps = featureSteps(directory, HOST, lambda n, s: None)
    rung, final = follow(steps[1].route(context("600")), "no-answer")
    assert [numbers(t) for t in rung] == [list(MEMBERS), ["109"], ["110"]]


def test_groupLoopDetected():
    """A group whose no-answer destination leads back to itself ends in 482."""
    directory = FeatureDirectory(extensions("100", *MEMBERS),
                                 groups=[group("ringall", noAnswer="extension:600")])
    steps = featureSteps(directory, HOST, lambda n, s: None)
    rung, final = follow(steps[1].route(context("600")), "no-answer")
    assert len(rung) == 6 and final == Reject(482, "Loop Detected")


def test_emptyGroupLoopDetected():
    """An empty group forwarding to itself stops at once with 482."""
    directory = FeatureDirectory(groups=[group("hunt", members=(), noAnswer="extension:600")])
    steps = featureSteps(directory, HOST, lambda n, s: None)
    assert steps[1].route(context("600")) == Reject(482, "Loop Detected")
