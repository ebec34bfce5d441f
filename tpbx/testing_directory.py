# -*- test-case-name: tests.pbx.test_auth -*-
"""
An in-memory L{IDirectory} built from a few L{Extension} records (and ring
groups, forwarding rules, an office-hours answer), for tests of everything
that consults the directory (authentication, registrar, routing) without a
store.
"""

from __future__ import annotations

from typing import Callable, Iterable

from zope.interface import implementer

from tpbx.interfaces import IDirectory
from tpbx.model import Extension, ForwardingRule, RingGroup
from tpbx.store.callvalidation import effectiveDialCodes

__all__ = ["FakeDirectory"]


@implementer(IDirectory)
class FakeDirectory:
    """
    Extensions by number and by auth ID (which defaults to the number, as
    in the store), plus a settings dict, ring groups, forwarding rules
    (in the order given) and office hours.

    @ivar officeHours: what L{isOfficeHours} answers: a bool, or a
        function of C{now}; tests may change it.
    """

    def __init__(self, extensions: Iterable[Extension] = (), settings: dict | None = None,
                 *, ringGroups: Iterable[RingGroup] = (),
                 forwarding: Iterable[ForwardingRule] = (),
                 officeHours: bool | Callable[[float], bool] = True):
        self._byNumber = {e.number: e for e in extensions}
        self._byAuthId = {(e.authId or e.number): e for e in self._byNumber.values()}
        self._settings = dict(settings or {})
        self._groups = {g.number: g for g in ringGroups}
        self._rules: dict[str, tuple[ForwardingRule, ...]] = {}
        for rule in forwarding:
            self._rules[rule.extension] = self._rules.get(rule.extension, ()) + (rule,)
        self.officeHours = officeHours

    def extensionByNumber(self, number):
        return self._byNumber.get(number)

    def extensionByAuthId(self, authId):
        return self._byAuthId.get(authId)

    def setting(self, name, default=None):
        return self._settings.get(name, default)

    def ringGroup(self, number):
        return self._groups.get(number)

    def forwardingRules(self, number):
        return self._rules.get(number, ())

    def isOfficeHours(self, now):
        if callable(self.officeHours):
            return self.officeHours(now)
        return self.officeHours

    def dialCodes(self):
        return effectiveDialCodes(self._settings.get("dialCodes"))
