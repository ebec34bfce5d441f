# -*- test-case-name: tests.pbx.features.test_forwarding -*-
"""
Forwarding rules (SPEC B3): what happens to a call for an extension that
is busy, does not answer, is not registered, or is in do-not-disturb.

An extension's rules apply by its presence status, by office hours (D7,
through L{tpbx.interfaces.IDirectory.isOfficeHours}) and by whether the
caller is internal (an extension) or external.  The step rings the
extension and hangs the matching rules on L{Targets.onFailure}, so the
call itself reports which condition happened:

  - C{no-answer}: the no-answer rule's C{delay} is the ring time;
  - C{busy}: every device refused busy (486/600), or -- call waiting off
    -- the extension is already on a call, known before ringing;
  - C{not-registered}: no device to ring;
  - DND status: the phone never rings: the busy rule applies at once,
    else the no-answer rule (nobody will answer), else 486.

Where several rules of a condition match, the most specific wins (exact
hours and exact caller beat C{any}), then the first in order.  No rule:
the caller gets the plain failure.

Forwarding to another extension follows that extension's own rules
(forwarding to a ring group rings the group); a chain longer than
C{maxHops} (A to B to A ...) ends with 482 Loop Detected (RFC 3261 sec.
21.4.20), so a misconfiguration costs a few ring times, never an
endless call.
"""

from __future__ import annotations

from zope.interface import implementer

from tpbx.pbx.features.destinations import resolveDestination
from tpbx.pbx.routing import CONTINUE, Destination, IRouteStep, Reject, RouteContext, Targets

__all__ = ["ForwardingStep", "selectRules"]

DND = "dnd"


def _specificity(rule) -> int:
    return (rule.hours != "any") + (rule.caller != "any")


def selectRules(rules, status: str, officeHours: bool, internal: bool) -> dict:
    """
    The rule for each condition, for a callee in C{status}.

    @param rules: the extension's L{tpbx.model.ForwardingRule}s, in order.
    @param status: the callee's presence status.
    @param officeHours: whether it is office hours now.
    @param internal: whether the caller is an extension.
    @return: C{{condition: rule}}.
    """
    hours = ("any", "office" if officeHours else "outside")
    caller = ("any", "internal" if internal else "external")
    chosen: dict = {}
    for rule in rules:
        if rule.status != status or rule.hours not in hours or rule.caller not in caller:
            continue
        best = chosen.get(rule.condition)
        if best is None or _specificity(rule) > _specificity(best):
            chosen[rule.condition] = rule
    return chosen


@implementer(IRouteStep)
class ForwardingStep:
    """
    Dialling an extension rings it under its forwarding rules.  Put it
    where L{tpbx.pbx.routing.ExtensionStep} would go: it answers for the
    same numbers.

    @ivar maxHops: how many forwards one call may follow before 482.
    """

    def __init__(self, directory, isBusy=None, maxHops: int = 5, ringGroup=None):
        """
        @param directory: the L{tpbx.interfaces.IDirectory}.
        @param isBusy: C{f(number) -> bool}, whether the extension is on a
            call now (for call waiting off); L{None}: never known busy.
        @param maxHops: the forwarding chain limit.
        @param ringGroup: C{f(group, context, hops)} ringing a ring group
            a rule forwards to (L{RingGroupStep.ringGroup}); L{None}: ring
            group numbers are not forwarding targets.
        """
        self.directory = directory
        self._isBusy = isBusy
        self.maxHops = maxHops
        self._ringGroup = ringGroup

    def route(self, context: RouteContext):
        extension = self.directory.extensionByNumber(context.dialled)
        if extension is None:
            return CONTINUE
        return self.ringExtension(extension, context, 0)

    def ringNumber(self, number: str, context: RouteContext, hops: int):
        """
        Ring C{number}, the target of a forward: a ring group, or an
        extension under its own rules.

        @param hops: how many forwards led here, this one included.
        @return: L{Targets} or L{Reject}.
        """
        if hops > self.maxHops:
            return Reject(482, "Loop Detected")
        if self._ringGroup is not None:
            group = self.directory.ringGroup(number)
            if group is not None:
                return self._ringGroup(group, context, hops)
        extension = self.directory.extensionByNumber(number)
        if extension is None:
            return Reject(404, "No such extension")
        return self.ringExtension(extension, context, hops)

    def ringExtension(self, extension, context: RouteContext, hops: int):
        """
        Ring C{extension} (a L{tpbx.model.Extension}) under its rules.

        @return: L{Targets} or L{Reject}.
        """
        number = extension.number
        rules = selectRules(self.directory.forwardingRules(number), extension.status,
                            self.directory.isOfficeHours(context.now),
                            context.caller is not None)
        follow = _Follow(self, number, context, hops, rules)
        if extension.status == DND:
            return follow.dnd()
        if not extension.callWaiting and self._isBusy is not None and self._isBusy(number):
            return follow("busy") or Reject(486)
        noAnswer = rules.get("no-answer")
        return Targets((Destination("extension", number),),
                       ringTime=noAnswer.delay if noAnswer is not None else None,
                       onFailure=follow)


class _Follow:
    """
    The C{onFailure} of one ringing extension: applies its rule for the
    outcome, or gives the caller the plain failure (L{None}).
    """

    def __init__(self, step: ForwardingStep, number: str, context: RouteContext,
                 hops: int, rules: dict):
        self._step = step
        self._number = number
        self._context = context
        self._hops = hops
        self._rules = rules

    def __call__(self, outcome: str):
        rule = self._rules.get(outcome)
        if rule is None:
            return None
        return resolveDestination(rule.action, self._step.directory, owner=self._number,
                                  outcome=outcome, ringNumber=self._next)

    def dnd(self):
        """Do not disturb: never ring; the busy or no-answer rule, or 486."""
        for condition in ("busy", "no-answer"):
            result = self(condition)
            if result is not None:
                return result
        return Reject(486, "Do Not Disturb")

    def _next(self, number: str):
        return self._step.ringNumber(number, self._context, self._hops + 1)
