# -*- test-case-name: tests.pbx.features.test_destinations -*-
"""
Destination specs: the one small language forwarding rules (SPEC B3) and
ring groups (E3) use to say where a call goes next.

    end                 end the call
    voicemail           the voicemail of the extension the rule belongs to
    voicemail:EXT       the voicemail of extension EXT
    extension:EXT       ring extension (or ring group) EXT
    external:NUMBER     call NUMBER outside (through the C{externalCallUri}
                        setting, e.g. C{sip:{number}@10.0.0.5:5060}, until
                        outbound rules exist)

A spec is text in the store, so it is checked twice: by
L{parseDestinationSpec} when an administrator saves it (a
L{tpbx.errors.ValidationError} naming the field), and again when a call
uses it, where a bad one must not break the call: the caller gets a 500
and the log says why.

C{end} refuses with the status the caller would expect for the condition
that led there: 486 Busy Here after a busy callee, else 480 Temporarily
Unavailable (RFC 3261 sec. 21.4.18: "currently unavailable", the honest
answer when nobody picked up).  603 Decline was not chosen: it claims the
callee refused, and phones show it as "declined".
"""

from __future__ import annotations

from dataclasses import dataclass

from twisted.logger import Logger

from tpbx.errors import ValidationError
from tpbx.pbx.routing import Destination, Reject, Targets

__all__ = ["DestinationSpec", "parseDestinationSpec", "resolveDestination", "voicemail"]

_log = Logger()

_DIGITS = frozenset("0123456789")
_DIAL = frozenset("0123456789*#")
_MAX_NUMBER = 32

# kind -> (argument required, argument allowed)
_KINDS = {
    "end": (False, False),
    "voicemail": (False, True),
    "extension": (True, True),
    "external": (True, True),
}


@dataclass(frozen=True, slots=True)
class DestinationSpec:
    """
    A parsed destination spec.

    @ivar kind: C{end}, C{voicemail}, C{extension} or C{external}.
    @ivar argument: the extension or number, C{""} when there is none.
    """

    kind: str
    argument: str = ""


def _checkArgument(kind: str, argument: str, field: str) -> None:
    if kind == "external":
        argument = argument.removeprefix("+")
        if not argument or not _DIAL.issuperset(argument):
            raise ValidationError(field, "external number: digits, * and #, optionally after +")
    if len(argument) > _MAX_NUMBER:
        raise ValidationError(field, f"{kind} number longer than {_MAX_NUMBER} characters")
    if kind != "external" and not _DIGITS.issuperset(argument):
        raise ValidationError(field, f"{kind}: the extension number must be digits")


def parseDestinationSpec(spec: str, field: str = "destination") -> DestinationSpec:
    """
    Parse and check a destination spec.

    @param spec: the text, e.g. C{"extension:101"}.
    @param field: the field name for the error.
    @return: the L{DestinationSpec}.
    @raise ValidationError: the spec is not one of the forms above.
    """
    if not isinstance(spec, str):
        raise ValidationError(field, "a destination must be text")
    kind, colon, argument = spec.strip().partition(":")
    rule = _KINDS.get(kind)
    if rule is None:
        raise ValidationError(field, f"unknown destination {kind!r}: expected one of "
                                     + ", ".join(sorted(_KINDS)))
    required, allowed = rule
    if colon and not allowed:
        raise ValidationError(field, f"{kind} takes no argument")
    if required and not argument:
        raise ValidationError(field, f"{kind} needs a number: {kind}:NUMBER")
    if colon and not argument:
        raise ValidationError(field, f"{kind}: empty number after ':'")
    if argument:
        _checkArgument(kind, argument, field)
    return DestinationSpec(kind, argument)


def voicemail(extension: str | None) -> Reject:
    """
    Where "voicemail" goes.  A placeholder until the voicemail issue:
    everything that sends a call to voicemail comes through here.

    @param extension: whose mailbox, or L{None} when unknown.
    @return: a refusal for now.
    """
    return Reject(480, "Voicemail not available")


def _external(directory, number: str):
    template = directory.setting("externalCallUri")
    if not template:
        return Reject(503, "No route to external numbers")
    try:
        uri = str(template).format(number=number)
    except (KeyError, IndexError, ValueError):
        _log.error("externalCallUri {template!r} is not a template with {{number}}",
                   template=template)
        return Reject(503, "No route to external numbers")
    return Targets((Destination("uri", uri),))


def _extension(directory, number: str):
    if directory.extensionByNumber(number) is None:
        return Reject(404, "No such extension")
    return Targets((Destination("extension", number),))


def resolveDestination(spec: str, directory, owner: str | None = None,
                       outcome: str | None = None, ringNumber=None):
    """
    What a spec means for a call now.

    @param spec: the destination spec.
    @param directory: the L{tpbx.interfaces.IDirectory} (extensions and
        the C{externalCallUri} setting).
    @param owner: the extension whose rule or group it is (plain
        C{voicemail} means its mailbox).
    @param outcome: the failure that led here (C{busy}, C{no-answer},
        C{not-registered}, C{failed}), or L{None}; picks C{end}'s status.
    @param ringNumber: C{f(number)} returning the L{Targets} or L{Reject}
        for C{extension:NUMBER} (so forwarding can follow that
        extension's own rules, or ring a ring group of that number);
        L{None} rings an extension plainly.
    @return: L{Targets} or L{Reject}.
    """
    try:
        parsed = parseDestinationSpec(spec)
    except ValidationError as e:
        _log.error("bad destination {spec!r} of {owner}: {error}",
                   spec=spec, owner=owner, error=e.message)
        return Reject(500, "Bad destination configured")
    if parsed.kind == "end":
        return Reject(486) if outcome == "busy" else Reject(480)
    if parsed.kind == "voicemail":
        return voicemail(parsed.argument or owner)
    if parsed.kind == "external":
        return _external(directory, parsed.argument)
    if ringNumber is not None:
        return ringNumber(parsed.argument)
    return _extension(directory, parsed.argument)
