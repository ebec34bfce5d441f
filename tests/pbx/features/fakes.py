"""
A directory with the call-feature lookups (ring groups, forwarding rules,
office hours, dial codes) and a stand-in for L{tpbx.pbx.call.Call}'s way
of following a routing result, for the feature tests.
"""

from tpbx.model import Extension
from tpbx.pbx.routing import Reject, RouteContext, Targets

NOW = 1_700_000_000.0

CODES = {
    "pickup": "*8", "directedPickup": "**", "park": "*5", "unpark": "*6",
    "intercom": "*9", "record": "*1", "transfer": "*2", "dndOn": "*78",
    "dndOff": "*79", "voicemail": "*97",
}


class FeatureDirectory:
    """
    Extensions, ring groups, forwarding rules, an office-hours switch,
    dial codes and settings, all in memory.
    """

    def __init__(self, extensions=(), groups=(), rules=(), settings=None,
                 officeHours=True, codes=None):
        self.extensions = {e.number: e for e in extensions}
        self.groups = {g.number: g for g in groups}
        self.rules = list(rules)
        self.settings = dict(settings or {})
        self.officeHours = officeHours
        self.codes = dict(CODES if codes is None else codes)
        self.hoursAsked = []

    def extensionByNumber(self, number):
        return self.extensions.get(number)

    def extensionByAuthId(self, authId):
        return next((e for e in self.extensions.values() if (e.authId or e.number) == authId), None)

    def setting(self, name, default=None):
        return self.settings.get(name, default)

    def ringGroup(self, number):
        return self.groups.get(number)

    def forwardingRules(self, number):
        return tuple(r for r in self.rules if r.extension == number)

    def isOfficeHours(self, now):
        self.hoursAsked.append(now)
        return self.officeHours

    def dialCodes(self):
        return dict(self.codes)


def extensions(*numbers, **fields):
    """Extensions C{numbers}, each with C{fields}."""
    return [Extension(number, **fields) for number in numbers]


def context(dialled, caller="100", directory=None, now=NOW):
    """A L{RouteContext}; C{caller=None} for a call from outside."""
    extension = None
    if caller is not None:
        extension = (directory.extensionByNumber(caller) if directory is not None else None) \
            or Extension(caller)
    return RouteContext(dialled, extension, now)


def follow(result, outcome):
    """
    Play a call through C{result} as L{tpbx.pbx.call.Call} does, nobody
    ever answering.

    @param outcome: C{f(targets) -> outcome} (C{"no-answer"}, C{"busy"}
        ...), or one outcome for every ringing.
    @return: C{(rung, final)}: the L{Targets} rung in order, and the last
        result (a L{Reject}, or L{None} for the callees' own failure).
    """
    rung = []
    while isinstance(result, Targets):
        rung.append(result)
        if len(rung) > 100:
            raise AssertionError("endless plan")
        happened = outcome(result) if callable(outcome) else outcome
        result = result.onFailure(happened) if result.onFailure else None
    assert result is None or isinstance(result, Reject), result
    return rung, result


def numbers(targets):
    """The destination targets of a L{Targets}."""
    return [d.target for d in targets.destinations]
