# -*- test-case-name: tests.pbx.features.test_plan -*-
"""
The feature steps of the dial plan, built together because they refer to
each other: a forwarding rule may name a ring group, and a ring group's
no-answer destination an extension whose own forwarding then applies --
with one hop count across both, so a loop through either ends in 482.
"""

from __future__ import annotations

from tpbx.pbx.features.dialcodes import DialCodeStep
from tpbx.pbx.features.forwarding import ForwardingStep
from tpbx.pbx.features.ringgroup import RingGroupStep

__all__ = ["featureSteps"]


def featureSteps(directory, pbxHost: str, setStatus, isBusy=None, maxHops: int = 5) -> list:
    """
    The steps, in dial plan order: dial codes, ring groups, extensions
    (under their forwarding rules).  They replace
    L{tpbx.pbx.routing.ExtensionStep}; steps for other numbers (outbound
    rules) go after them.

    @param directory: the L{tpbx.interfaces.IDirectory}.
    @param pbxHost: the PBX's SIP host (auto-answer C{Call-Info} URI).
    @param setStatus: C{f(number, status)} saving an extension's presence
        status (the DND dial codes).
    @param isBusy: C{f(number) -> bool}, whether an extension is on a call
        now (call waiting off); L{None}: never known busy.
    @param maxHops: forwards one call may follow before 482.
    @return: a list of L{tpbx.pbx.routing.IRouteStep}.
    """
    groups = RingGroupStep(directory, pbxHost, isBusy,
                           ringNumber=lambda number, context, hops:
                           forwarding.ringNumber(number, context, hops))
    forwarding = ForwardingStep(directory, isBusy, maxHops, ringGroup=groups.ringGroup)
    return [DialCodeStep(directory, setStatus, pbxHost), groups, forwarding]
