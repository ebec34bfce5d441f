# -*- test-case-name: tests.pbx.features.test_dialcodes -*-
"""
Dial codes (SPEC E6): short codes a phone dials to use a feature instead
of calling someone.  The codes themselves are settings
(L{tpbx.interfaces.IDirectory.dialCodes}); this step recognises them.

Three kinds of answer come out:

  - intercom (C{*9} + extension): an ordinary L{Targets} with the
    auto-answer headers (E4; two-way, so no C{sendonly});
  - codes that only switch something (do-not-disturb on and off): the
    step does it through the C{setStatus} it was given and returns
    L{FeatureDone}, which the call manager answers with a short
    confirmation -- for now a 480 whose reason phrase says what was done;
  - codes that act on calls or need an application (pickup, directed
    pickup, park, unpark, record, transfer, voicemail): a
    L{FeatureRequest} the call manager carries out; this step only
    recognises them.

A feature name this module does not know (a newer setting) is ignored:
the number routes on as if it were no code.

Codes are matched longest first, so C{*78} wins over a shorter code that
is its prefix.  Feature codes need a calling extension: from outside
they are refused (403).
"""

from __future__ import annotations

from dataclasses import dataclass

from zope.interface import implementer

from tpbx.pbx.features.ringgroup import autoAnswerHeaders
from tpbx.pbx.routing import CONTINUE, Destination, IRouteStep, Reject, RouteContext, Targets

__all__ = ["DialCodeStep", "FeatureDone", "FeatureRequest",
           "matchDialCode"]

# What may follow each code: "" nothing, "?" optional digits, "+" digits.
_ARGUMENT = {
    "pickup": "",
    "directedPickup": "+",
    "park": "?",
    "unpark": "?",
    "intercom": "+",
    "record": "",
    "dndOn": "",
    "dndOff": "",
    "transfer": "?",
    "voicemail": "?",
}
_STATUS = {"dndOn": ("dnd", "DND on"), "dndOff": ("available", "DND off")}


@dataclass(frozen=True, slots=True)
class FeatureDone:
    """
    A dial code did what it is for; the caller only needs to hear so.

    @ivar message: what was done, for the reason phrase.
    """

    message: str


@dataclass(frozen=True, slots=True)
class FeatureRequest:
    """
    A dial code that acts on calls, for the call manager to carry out.

    @ivar kind: C{pickup} (a call ringing in the caller's group),
        C{directedPickup} (the call ringing at extension C{argument}),
        C{park} (to slot C{argument}, or any free one when empty),
        C{unpark} (slot C{argument}, or the caller's own parked call when
        empty), C{record} (start/stop recording the caller's call),
        C{transfer} (to C{argument}), C{voicemail} (listen to mailbox
        C{argument}, or the caller's own when empty).
    @ivar argument: the digits after the code, C{""} when none.
    """

    kind: str
    argument: str = ""


def matchDialCode(dialled: str, codes: dict):
    """
    @param dialled: the dialled digits.
    @param codes: C{{feature: code}}; empty codes are switched off.
    @return: C{(feature, argument)} for the longest code C{dialled} uses
        (of equally long ones, the first in C{codes}), or L{None}.
    """
    best, length = None, 0
    for feature, code in codes.items():   # every call is routed through here
        rule = _ARGUMENT.get(feature)
        if rule is None or not code or len(code) <= length or not dialled.startswith(code):
            continue
        argument = dialled[len(code):]
        if argument and (not rule or not argument.isdigit()):
            continue
        if rule == "+" and not argument:
            continue
        best, length = (feature, argument), len(code)
    return best


@implementer(IRouteStep)
class DialCodeStep:
    """Recognises dial codes; put it first in the dial plan."""

    def __init__(self, directory, setStatus, pbxHost: str):
        """
        @param directory: the L{tpbx.interfaces.IDirectory}.
        @param setStatus: C{f(number, status)} changing an extension's
            presence status in the store (DND on/off).
        @param pbxHost: the PBX's SIP host, for the intercom headers.
        """
        self._directory = directory
        self._setStatus = setStatus
        self._headers = autoAnswerHeaders(pbxHost)

    def route(self, context: RouteContext):
        match = matchDialCode(context.dialled, self._directory.dialCodes())
        if match is None:
            return CONTINUE
        feature, argument = match
        if context.caller is None:
            return Reject(403, "Dial codes are for extensions")
        if feature == "intercom":
            return self._intercom(argument)
        if feature in _STATUS:
            status, message = _STATUS[feature]
            self._setStatus(context.caller.number, status)
            return FeatureDone(message)
        return FeatureRequest(feature, argument)

    def _intercom(self, number: str):
        """Ring C{number} on auto-answer; DND is respected."""
        extension = self._directory.extensionByNumber(number)
        if extension is None:
            return Reject(404, "No such extension")
        if extension.status == "dnd":
            return Reject(486, "Do Not Disturb")
        return Targets((Destination("extension", number, self._headers),))
