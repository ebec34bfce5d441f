# -*- test-case-name: tests.store.test_validation -*-
"""
Every rule a configuration edit must pass, in one place, so the CLI, the
CSV import, the REST API and the console refuse the same things with the
same words.

Each check raises L{tpbx.errors.ValidationError} naming the field as the
API spells it (C{firstName}, C{authId} ...); callers that speak another
dialect (CSV columns, CLI options) translate with L{COLUMN_OF}.
Uniqueness is not checked here: it needs the database, and the
repositories raise L{tpbx.errors.Conflict} for it.
"""

from __future__ import annotations

import ipaddress
import re
import string

from tpbx.errors import Conflict, ValidationError
from tpbx.model import AccessEntry, Extension
from tpbx.passwords import weakPasswordReason
from tpbx.store.schema import ACCESS_KINDS

__all__ = [
    "EXTENSION_FIELDS", "COLUMN_OF", "ALLOW_WEAK", "cleanExtension",
    "checkNumber", "checkEmail", "parseBool", "checkKind", "cleanAccess",
    "canonicalNetwork", "checkIpAddress", "checkHostPort", "checkStatus",
    "STATUSES", "cleanText", "FieldConflict",
]

# API field name -> database column / CSV column (SPEC B4).
COLUMN_OF = {
    "number": "number",
    "firstName": "first_name",
    "lastName": "last_name",
    "email": "email",
    "password": "password",
    "pin": "pin",
    "authId": "auth_id",
    "lanOnly": "lan_only",
    "status": "status",
    "callWaiting": "call_waiting",
    "recordCalls": "record_calls",
    "directMedia": "direct_media",
}
EXTENSION_FIELDS = tuple(COLUMN_OF)

# Not a stored field: set it to C{True} to accept a weak SIP password.
ALLOW_WEAK = "allowWeakPassword"

DEFAULT_NUMBER_LENGTHS = range(2, 9)
NAME_MAX = 100
EMAIL_MAX = 254
PASSWORD_MAX = 128
PIN_LENGTHS = range(4, 13)
AUTH_ID_MAX = 64

# RFC 3261 sec. 25.1 "unreserved" (alphanum / mark): what a SIP user part
# and a digest username carry without escaping.
_AUTH_ID_CHARS = frozenset(string.ascii_letters + string.digits
                           + "-_.!~*'()")
_EMAIL = re.compile(r"[^@\s]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_HOST = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
# Presence statuses (SPEC B3); custom ones are lowercase words.
STATUSES = ("available", "away", "out-of-office", "dnd")
STATUS_MAX = 32
_STATUS_CHARS = frozenset(string.ascii_lowercase + string.digits + "-")
_TRUE = frozenset(["1", "true", "yes", "y", "on"])
_FALSE = frozenset(["0", "false", "no", "n", "off", ""])


class FieldConflict(Conflict):
    """
    A L{Conflict} that names the field holding the duplicate value, so a
    CSV import or a form can point at it.

    @ivar field: the API field name (C{number} or C{authId}).
    """

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def cleanExtension(fields: dict, current: Extension | None = None,
                   digits: int | None = None,
                   reserved: dict | None = None) -> dict:
    """
    Validate an extension edit and return it normalised.

    @param fields: API field names to values; may include L{ALLOW_WEAK}.
    @param current: the stored extension for an update, L{None} for a
        creation (then C{number} and C{firstName} are required).
    @param digits: the configured extension length (C{extensionDigits}),
        or L{None} to accept 2 to 8 digits.
    @param reserved: numbers that may not become extensions, mapped to
        what they are (C{{"999": "the voicemail access number"}}).
    @return: the changed fields, stripped, typed, without L{ALLOW_WEAK}.
    @raise ValidationError: naming the first offending field.
    """
    fields = dict(fields)
    allowWeak = parseBool(ALLOW_WEAK, fields.pop(ALLOW_WEAK, False))
    for name in fields:
        if name not in COLUMN_OF:
            raise ValidationError(name, "unknown field")
    clean = {name: _CLEANERS[name](name, value)
             for name, value in fields.items()}
    if current is None:
        _checkCreation(clean, digits, reserved or {})
    elif clean.get("number", current.number) != current.number:
        raise ValidationError("number", "cannot be changed")
    if "password" in clean and not allowWeak:
        number = current.number if current else clean["number"]
        authId = clean.get("authId") or (current.authId if current else "")
        _checkStrength(clean["password"], number, authId)
    return clean


def _checkCreation(clean: dict, digits: int | None, reserved: dict) -> None:
    for name in ("number", "firstName"):
        if not clean.get(name):
            raise ValidationError(name, "is required")
    checkNumber("number", clean["number"], digits)
    if clean["number"] in reserved:
        raise ValidationError("number", "is " + reserved[clean["number"]])


def _checkStrength(password: str, number: str, authId: str) -> None:
    reason = weakPasswordReason(password, number, authId)
    if reason is not None:
        raise ValidationError(
            "password", f"is weak ({reason}); leave it out to get a "
            "generated one, or allow weak passwords explicitly")


def checkNumber(field: str, value: str, digits: int | None = None) -> str:
    """
    An extension-style number: digits only, of the configured length.

    @raise ValidationError: otherwise.
    """
    if not value.isascii() or not value.isdigit():
        raise ValidationError(field, "must contain digits only")
    if digits is not None and len(value) != digits:
        raise ValidationError(field, f"must have exactly {digits} digits")
    if digits is None and len(value) not in DEFAULT_NUMBER_LENGTHS:
        raise ValidationError(field, "must have 2 to 8 digits")
    return value


def checkEmail(field: str, value: str) -> str:
    """
    A plausible e-mail address (syntax only; nothing is sent).
    """
    if len(value) > EMAIL_MAX or not _EMAIL.fullmatch(value):
        raise ValidationError(field, "is not a valid e-mail address")
    return value


def parseBool(field: str, value) -> bool:
    """
    A boolean from JSON (C{true}) or text (C{yes}, C{1}, C{false}, empty).
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise ValidationError(field, "must be yes or no (true/false, 1/0)")


def checkStatus(field: str, value) -> str:
    """
    A presence status: one of L{STATUSES} or a custom name (lowercase
    letters, digits and C{-}, starting with a letter, up to 32).

    @raise ValidationError: otherwise.
    """
    value = cleanText(field, value, STATUS_MAX).lower()
    if not (value and value[0].isalpha() and value.isascii()
            and _STATUS_CHARS.issuperset(value)):
        raise ValidationError(field, "must be available, away, "
                              "out-of-office, dnd or a custom name "
                              "(letters, digits and -)")
    return value


def cleanText(field: str, value, maximum: int) -> str:
    """
    Text without control characters, stripped, at most C{maximum} long.

    @raise ValidationError: otherwise.
    """
    return _text(field, value, maximum)


def _text(field: str, value, maximum: int) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, "must be text")
    value = value.strip()
    if len(value) > maximum:
        raise ValidationError(field, f"is longer than {maximum} characters")
    if any(c < " " or c == "\x7f" for c in value):
        raise ValidationError(field, "contains control characters")
    return value


def _cleanName(field: str, value) -> str:
    return _text(field, value, NAME_MAX)


def _cleanNumber(field: str, value) -> str:
    # Shape only; the length rule needs the settings (L{_checkCreation}).
    value = _text(field, value, 16)
    if value and not (value.isascii() and value.isdigit()):
        raise ValidationError(field, "must contain digits only")
    return value


def _cleanEmail(field: str, value) -> str:
    value = _text(field, value, EMAIL_MAX)
    return checkEmail(field, value) if value else value


def _cleanAuthId(field: str, value) -> str:
    value = _text(field, value, AUTH_ID_MAX)
    if not value:
        raise ValidationError(field, "must not be empty")
    if not _AUTH_ID_CHARS.issuperset(value):
        raise ValidationError(
            field, "may contain only letters, digits and - _ . ! ~ * ' ( )")
    return value


def _cleanPassword(field: str, value) -> str:
    if not isinstance(value, str) or value != value.strip():
        raise ValidationError(field, "must be text without surrounding "
                                     "spaces")
    value = _text(field, value, PASSWORD_MAX)
    if not value:
        raise ValidationError(field, "must not be empty")
    return value


def _cleanPin(field: str, value) -> str:
    value = _text(field, value, max(PIN_LENGTHS))
    if value and not (value.isascii() and value.isdigit()
                      and len(value) in PIN_LENGTHS):
        raise ValidationError(field, "must be 4 to 12 digits")
    return value


_CLEANERS = {
    "number": _cleanNumber,
    "firstName": _cleanName,
    "lastName": _cleanName,
    "email": _cleanEmail,
    "authId": _cleanAuthId,
    "password": _cleanPassword,
    "pin": _cleanPin,
    "lanOnly": parseBool,
    "status": checkStatus,
    "callWaiting": parseBool,
    "recordCalls": parseBool,
    "directMedia": parseBool,
}


def cleanAccess(kind: str, entry: AccessEntry) -> AccessEntry:
    """
    Validate a blacklist/whitelist entry (SPEC I3).

    @return: the entry with its network in canonical form (C{10.0.0.0/8},
        C{192.0.2.7}, C{2001:db8::/32}).
    @raise ValidationError: for an unknown kind or a bad network.
    """
    checkKind(kind)
    return AccessEntry(network=canonicalNetwork("network", entry.network),
                       until=entry.until,
                       reason=_text("reason", entry.reason, 255))


def checkKind(kind: str) -> str:
    """
    @raise ValidationError: C{kind} is not C{blacklist} or C{whitelist}.
    """
    if kind not in ACCESS_KINDS:
        raise ValidationError("kind", "must be blacklist or whitelist")
    return kind


def canonicalNetwork(field: str, value: str) -> str:
    """
    @return: C{value} as a single address or a CIDR network, normalised.
    """
    try:
        if "/" not in value:
            return str(ipaddress.ip_address(value.strip()))
        network = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ValidationError(field, "is not an IP address or network")
    return str(network)


def checkIpAddress(field: str, value: str) -> str:
    """
    @return: C{value} if it is an IPv4 or IPv6 address.
    """
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValidationError(field, "is not an IP address")


def checkHostPort(field: str, value: str) -> str:
    """
    @return: C{value} if it is C{host} or C{host:port}.
    """
    host, sep, port = value.rpartition(":") if ":" in value else (
        value, "", "")
    if not _HOST.fullmatch(host) or (
            sep and not (port.isdigit() and 0 < int(port) < 65536)):
        raise ValidationError(field, "must be a host name or host:port")
    return value
