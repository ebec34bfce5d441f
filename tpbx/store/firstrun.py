# -*- test-case-name: tests.store.test_firstrun -*-
"""
First-run setup (SPEC A2) and the admin password, shared by
C{tpbx-admin init} and the console's first-run page.

The admin password is only ever stored as a salted scrypt hash
(L{tpbx.passwords.hashSecret}); the web API checks logins with
L{verifyAdminPassword}.
"""

from __future__ import annotations

from tpbx.errors import Conflict, ValidationError
from tpbx.passwords import hashSecret, verifySecret, weakPasswordReason
from tpbx.store.repositories import DIGITS_SETTING, VOICEMAIL_SETTING
from tpbx.store.validation import (
    DEFAULT_NUMBER_LENGTHS, checkEmail, checkHostPort, checkIpAddress,
    checkNumber,
)

__all__ = ["SetupChoices", "defaultOperator", "initialise", "isInitialised",
           "setAdminPassword", "verifyAdminPassword", "ADMIN_HASH_SETTING",
           "INITIALISED_SETTING", "OPERATOR_SETTING"]

ADMIN_HASH_SETTING = "adminPasswordHash"
INITIALISED_SETTING = "initialisedAt"
OPERATOR_SETTING = "operatorExtension"


class SetupChoices:
    """
    The answers to the first-run questions, with the manual's defaults.

    @ivar digits: extension number length (3).
    @ivar voicemailNumber: number dialled to reach voicemail (999).
    @ivar operator: default destination of inbound calls; L{None} means
        the first extension number of the configured length (100, 1000).
    @ivar bindAddress: the address SIP and the web listen on (all).
    @ivar publicIp: the public address for NAT, if any.
    @ivar smtpHost: C{host} or C{host:port} of the mail relay.
    @ivar smtpFrom: the sender address of notifications.
    """

    def __init__(self, digits: int = 3, voicemailNumber: str = "999",
                 operator: str | None = None, bindAddress: str | None = None,
                 publicIp: str | None = None, smtpHost: str | None = None,
                 smtpFrom: str | None = None):
        self.digits = digits
        self.voicemailNumber = voicemailNumber
        self.operator = operator
        self.bindAddress = bindAddress
        self.publicIp = publicIp
        self.smtpHost = smtpHost
        self.smtpFrom = smtpFrom

    def settings(self) -> dict:
        """
        @return: the validated settings to store.
        @raise ValidationError: naming the setting that is wrong.
        """
        if self.digits not in DEFAULT_NUMBER_LENGTHS:
            raise ValidationError(DIGITS_SETTING, "must be 2 to 8")
        values = {
            DIGITS_SETTING: self.digits,
            VOICEMAIL_SETTING: checkNumber(VOICEMAIL_SETTING,
                                           self.voicemailNumber),
            OPERATOR_SETTING: checkNumber(
                OPERATOR_SETTING,
                self.operator or defaultOperator(self.digits), self.digits),
        }
        optional = [("bindAddress", self.bindAddress, checkIpAddress),
                    ("publicIp", self.publicIp, checkIpAddress),
                    ("smtpHost", self.smtpHost, checkHostPort),
                    ("smtpFrom", self.smtpFrom, checkEmail)]
        for name, value, check in optional:
            if value:
                values[name] = check(name, value)
        return values


def defaultOperator(digits: int) -> str:
    """
    @return: the first extension number of C{digits} digits (C{"100"}).
    """
    return "1" + "0" * (digits - 1)


def isInitialised(store) -> bool:
    """@return: whether first-run setup has been completed."""
    return store.getSetting(INITIALISED_SETTING) is not None


def initialise(store, adminPassword: str, choices: SetupChoices,
               force: bool = False, allowWeak: bool = False) -> None:
    """
    Store the first-run answers and the admin password in one transaction.

    @param force: set up again over an initialised store.
    @param allowWeak: accept a weak admin password.
    @raise Conflict: the store is initialised and C{force} is false.
    @raise ValidationError: an answer is wrong.
    """
    if isInitialised(store) and not force:
        raise Conflict("the store is initialised already "
                       "(use --force to set it up again)")
    values = choices.settings()
    values[ADMIN_HASH_SETTING] = _adminHash(adminPassword, allowWeak)
    values[INITIALISED_SETTING] = store.now()
    store.setSettings(values)


def setAdminPassword(store, password: str, allowWeak: bool = False) -> None:
    """
    Replace the admin password.

    @raise ValidationError: (field C{adminPassword}) when it is weak.
    """
    store.setSetting(ADMIN_HASH_SETTING, _adminHash(password, allowWeak))


def verifyAdminPassword(store, password: str) -> bool:
    """
    Check an admin login in constant time.

    @return: C{False} also when no admin password was ever set.
    """
    stored = store.getSetting(ADMIN_HASH_SETTING)
    return isinstance(stored, str) and verifySecret(password, stored)


def _adminHash(password: str, allowWeak: bool) -> str:
    reason = weakPasswordReason(password, "admin")
    if reason is not None and not allowWeak:
        raise ValidationError("adminPassword", f"weak password ({reason})")
    if not password:
        raise ValidationError("adminPassword", "must not be empty")
    return hashSecret(password)
