# -*- test-case-name: tests.pbx.features.test_ringgroup -*-
"""
Ring groups (SPEC E3) and the auto-answer headers paging and intercom
(E4) send.

A ring group is a virtual number.  Its strategy decides how members ring:

  - C{hunt}: one member at a time, in order, C{ringTime} each; busy, no
    answer, refused or not registered moves to the next member (an
    unregistered member costs no ring time: the call reports
    C{not-registered} at once and the chained C{onFailure} moves on);
  - C{ringall}: every member at once for C{ringTime};
  - C{paging}: every member at once with auto-answer headers; every
    member that answers hears the caller (one-way), see below.

When nobody answers, the group's C{noAnswer} destination spec applies
(L{tpbx.pbx.features.destinations}).  Members in DND, members already on
a call with call waiting off, unknown members and the caller itself are
left out; a group with nobody left goes straight to C{noAnswer}.

Auto-answer: there is no single standard, so every INVITE that should be
answered by the phone's speaker carries three headers, each ignored by
phones that do not know it:

  - C{Call-Info: <sip:PBX>;answer-after=0} -- the BroadSoft convention.
    Honoured by Cisco SPA/MPP phones (auto answer page on), Grandstream
    ("Allow Auto Answer by Call-Info"), Yealink (intercom allowed), Snom
    (intercom policy, C{answer_after_policy}), Gigaset, AudioCodes (where
    C{answer-after} takes precedence over the Alert-Info forms) and
    baresip (account C{sip_autoanswer=yes}).
  - C{Alert-Info: <http://127.0.0.1>;info=alert-autoanswer} -- the
    Sylantro/Aastra form: what Snom phones themselves send for intercom;
    honoured by Snom, Yealink (configured C{account.X.alert_info}),
    Mitel/Aastra, Gigaset, AudioCodes, baresip.  Polycom matches
    Alert-Info against C{voIpProt.SIP.alertInfo.N.value} mapped to the
    ring class C{autoAnswer}: provision C{info=alert-autoanswer} there.
  - C{Answer-Mode: Auto} -- RFC 5373 sec. 5; baresip's default intercom
    method.  Sent without C{Require: answermode}, so a phone that does
    not support it rings normally instead of refusing (sec. 7.3).

A paging group's result is a L{PagingTargets}: the call manager turns it
into a one-way page that keeps every member that answers
(L{tpbx.pbx.paging}) rather than a call the first answer wins.  Reached
any other way (a forward or a transfer to the group's number) it rings
as a ring-all group with the auto-answer headers.
"""

from __future__ import annotations

from dataclasses import dataclass

from twisted.logger import Logger
from zope.interface import implementer

from tpbx.pbx.features.destinations import resolveDestination
from tpbx.pbx.routing import CONTINUE, Destination, IRouteStep, Reject, RouteContext, Targets

__all__ = ["PagingTargets", "RingGroupStep", "autoAnswerHeaders"]

_log = Logger()


@dataclass(frozen=True, slots=True)
class PagingTargets(Targets):
    """
    The members of a paging group (SPEC E4): ring them all with the
    auto-answer headers and keep every one that answers, hearing the
    caller one-way (L{tpbx.pbx.paging.Page}).  Anything that only knows
    L{Targets} rings them as a ring-all group.

    @ivar multicast: C{(group address, port)} of a multicast paging group:
        the caller's audio goes there and no member is rung (no
        destinations); L{None} for paging by SIP.
    """

    multicast: tuple[str, int] | None = None


def autoAnswerHeaders(pbxHost: str) -> tuple:
    """
    The headers that ask a phone to answer at once (see the module
    docstring for which phones honour which).

    @param pbxHost: the PBX's SIP host (the Call-Info URI).
    @return: C{(name, value)} pairs for L{Destination.headers}.
    """
    return (("Call-Info", f"<sip:{pbxHost}>;answer-after=0"),
            ("Alert-Info", "<http://127.0.0.1>;info=alert-autoanswer"),
            ("Answer-Mode", "Auto"))


@implementer(IRouteStep)
class RingGroupStep:
    """Dialling a ring group's number rings its members."""

    def __init__(self, directory, pbxHost: str, isBusy=None, ringNumber=None):
        """
        @param directory: the L{tpbx.interfaces.IDirectory}.
        @param pbxHost: the PBX's SIP host, for the paging headers.
        @param isBusy: C{f(number) -> bool}, whether the extension is on a
            call now; L{None}: never known busy.
        @param ringNumber: C{f(number, context, hops)} ringing the number
            of an C{extension:} no-answer destination
            (L{tpbx.pbx.features.forwarding.ForwardingStep.ringNumber}, so
            that extension's forwarding applies and loops are caught);
            L{None} rings an extension plainly.
        """
        self._directory = directory
        self._headers = autoAnswerHeaders(pbxHost)
        self._isBusy = isBusy
        self._ringNumber = ringNumber
        self._strategies = {"hunt": self._hunt, "ringall": self._ringAll,
                            "paging": self._paging}

    def route(self, context: RouteContext):
        group = self._directory.ringGroup(context.dialled)
        if group is None:
            return CONTINUE
        return self.ringGroup(group, context, 0)

    def ringGroup(self, group, context: RouteContext, hops: int):
        """
        Ring C{group} (a L{tpbx.model.RingGroup}).

        @param hops: how many forwards led here (see
            L{tpbx.pbx.features.forwarding}).
        @return: L{Targets} or L{Reject}.
        """
        strategy = self._strategies.get(group.strategy)
        if strategy is None:
            _log.error("ring group {number} has unknown strategy {strategy!r}",
                       number=group.number, strategy=group.strategy)
            return Reject(500, "Bad ring group configured")
        if group.strategy == "paging" and group.multicast:
            return self._multicast(group)
        noAnswer = self._noAnswer(group, context, hops)
        members = self._available(group, context)
        if not members:
            return noAnswer("not-registered")
        return strategy(group, members, noAnswer)

    def _multicast(self, group):
        """A multicast paging group: nobody rung, the page sent to the
        group (a value the store would have refused is a 500, logged)."""
        try:
            return PagingTargets((), multicast=group.multicastGroup())
        except ValueError as e:
            _log.error("ring group {number} has a bad multicast address: {error}",
                       number=group.number, error=e)
            return Reject(500, "Bad ring group configured")

    def _available(self, group, context) -> list:
        """The members worth ringing, in order."""
        caller = context.caller.number if context.caller is not None else None
        members = []
        for number in group.members:
            extension = self._directory.extensionByNumber(number)
            if extension is None or number == caller or extension.status == "dnd":
                continue
            if (not extension.callWaiting and self._isBusy is not None
                    and self._isBusy(number)):
                continue
            if number not in members:
                members.append(number)
        return members

    def _ringTime(self, group):
        return group.ringTime if group.ringTime > 0 else None

    def _noAnswer(self, group, context, hops: int):
        """The C{onFailure} that sends the call to the group's C{noAnswer}."""
        ring = None
        if self._ringNumber is not None:
            ring = lambda number: self._ringNumber(number, context, hops + 1)  # noqa: E731
        return lambda outcome: resolveDestination(
            group.noAnswer, self._directory, owner=group.number,
            outcome="no-answer", ringNumber=ring)

    def _hunt(self, group, members, noAnswer, index: int = 0):
        """Member C{index} alone; on any failure the next, then C{noAnswer}."""
        if index == len(members):
            return noAnswer("no-answer")
        return Targets((Destination("extension", members[index]),),
                       ringTime=self._ringTime(group),
                       onFailure=lambda outcome: self._hunt(group, members, noAnswer, index + 1))

    def _ringAll(self, group, members, noAnswer, headers: tuple = (), kind=Targets):
        return kind(tuple(Destination("extension", number, headers) for number in members),
                    ringTime=self._ringTime(group), onFailure=noAnswer)

    def _paging(self, group, members, noAnswer):
        return self._ringAll(group, members, noAnswer, self._headers, PagingTargets)
