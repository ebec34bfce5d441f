# -*- test-case-name: tests.pbx.test_routing -*-
"""
The dial plan: a chain of small route steps (repro's processor chain,
STYLE.md sec. 6), each of which looks at the dialled number and either
passes, names the destinations to ring, or refuses the call.

Steps are plain objects providing L{IRouteStep}; the chain is built by the
service from the configuration and rebuilt when it changes.  Routing is
synchronous and does no I/O: it reads the in-memory directory only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from zope.interface import Interface, implementer

from tpbx.model import Extension

__all__ = ["IRouteStep", "RouteContext", "Destination", "Targets", "Reject",
           "CONTINUE", "DialPlan", "ExtensionStep", "dialledNumber"]


class IRouteStep(Interface):
    """One step of the dial plan."""

    def route(context):
        """
        @param context: the L{RouteContext}.
        @return: L{CONTINUE}, L{Targets} or L{Reject}.
        """


@dataclass(frozen=True, slots=True)
class RouteContext:
    """
    @ivar dialled: the number or user part dialled (Request-URI user).
    @ivar caller: the authenticated calling L{Extension}, or L{None} for a
        call from outside (trunks, later).
    @ivar now: epoch seconds (office hours, later).
    """

    dialled: str
    caller: Extension | None
    now: float


@dataclass(frozen=True, slots=True)
class Destination:
    """
    Something to ring.

    @ivar kind: C{"extension"} (every registered contact of it) or
        C{"uri"} (a SIP URI reached directly).
    @ivar target: the extension number or the URI.
    @ivar headers: extra headers for the INVITE (auto-answer for paging
        and intercom: C{Call-Info: <uri>;answer-after=0}, C{Alert-Info}).
    """

    kind: str
    target: str
    headers: tuple = ()


@dataclass(frozen=True, slots=True)
class Targets:
    """
    Ring these, all at once (the first to answer wins).

    @ivar ringTime: seconds before giving up, or L{None} for the default.
    @ivar onFailure: called with the outcome (C{"busy"}, C{"no-answer"},
        C{"not-registered"}, C{"failed"}) when nobody answered; returns the
        next L{Targets} (hunting, forwarding), a L{Reject}, or L{None} for
        the callees' own best failure.
    """

    destinations: tuple[Destination, ...]
    ringTime: float | None = None
    onFailure: object = None


@dataclass(frozen=True, slots=True)
class Reject:
    """Refuse the call with C{status} and C{reason}."""

    status: int
    reason: str | None = None


class _Continue:
    """This step has nothing to say; ask the next one."""

    def __repr__(self) -> str:
        return "CONTINUE"


CONTINUE = _Continue()


def dialledNumber(requestUser: str | None) -> str:
    """
    The digits a phone dialled, from the Request-URI user part: visual
    separators (RFC 3966 sec. 5.1.1: C{-.()} and spaces) dropped.
    """
    if not requestUser:
        return ""
    return "".join(ch for ch in requestUser if ch not in "-.() ")


@implementer(IRouteStep)
class ExtensionStep:
    """Dialling an extension number rings that extension."""

    def __init__(self, directory):
        self._directory = directory

    def route(self, context: RouteContext):
        if self._directory.extensionByNumber(context.dialled) is None:
            return CONTINUE
        return Targets((Destination("extension", context.dialled),))


@dataclass
class DialPlan:
    """
    Runs the steps in order; the first that does not continue decides.
    Nothing matched: 404.
    """

    steps: Sequence[IRouteStep] = field(default_factory=list)

    def route(self, context: RouteContext):
        for step in self.steps:
            result = step.route(context)
            if result is not CONTINUE:
                return result
        return Reject(404)
