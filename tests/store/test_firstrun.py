# -*- test-case-name: tests.store.test_firstrun -*-
"""
Tests for L{tpbx.store.firstrun}: first-run settings and the hashed admin
password (SPEC A2).
"""

import pytest

from tpbx.errors import Conflict, ValidationError
from tpbx.store import (
    SetupChoices, initialise, isInitialised, setAdminPassword,
    verifyAdminPassword,
)

ADMIN = "Corr3ct-Horse-Battery"


def test_initialiseStoresSettings(store, clock):
    """init stores the answers, the defaults, and marks the store set up."""
    assert not isInitialised(store)
    initialise(store, ADMIN, SetupChoices(
        digits=4, operator="1000", bindAddress="192.0.2.5",
        smtpHost="mail.example.com:587", smtpFrom="pbx@example.com"))
    assert isInitialised(store)
    settings = store.readDirectory().settings
    assert {name: settings[name] for name in (
        "extensionDigits", "voicemailNumber", "operatorExtension",
        "bindAddress", "smtpHost", "smtpFrom", "initialisedAt")} == {
        "extensionDigits": 4, "voicemailNumber": "999",
        "operatorExtension": "1000", "bindAddress": "192.0.2.5",
        "smtpHost": "mail.example.com:587", "smtpFrom": "pbx@example.com",
        "initialisedAt": clock.seconds()}
    assert "publicIp" not in settings


def test_adminPasswordHashed(store):
    """The admin password is stored only as a salted hash and verifies."""
    initialise(store, ADMIN, SetupChoices())
    stored = store.getSetting("adminPasswordHash")
    assert ADMIN not in stored and stored.startswith("scrypt$")
    assert verifyAdminPassword(store, ADMIN)
    assert not verifyAdminPassword(store, ADMIN.lower())


def test_noAdminPasswordNeverVerifies(store):
    """Before setup, no password logs in."""
    assert not verifyAdminPassword(store, "")


def test_setAdminPassword(store):
    """The admin password can be changed; weak ones are refused."""
    setAdminPassword(store, ADMIN)
    setAdminPassword(store, "Another-Str0ng-One")
    assert verifyAdminPassword(store, "Another-Str0ng-One")
    with pytest.raises(ValidationError) as caught:
        setAdminPassword(store, "admin123")
    assert caught.value.field == "adminPassword"
    setAdminPassword(store, "admin123", allowWeak=True)
    assert verifyAdminPassword(store, "admin123")


def test_reinitRefusedWithoutForce(store):
    """A set-up store is not set up again unless forced."""
    initialise(store, ADMIN, SetupChoices())
    with pytest.raises(Conflict):
        initialise(store, ADMIN, SetupChoices(digits=4, operator="1000"))
    initialise(store, ADMIN, SetupChoices(digits=4, operator="1000"),
               force=True)
    assert store.getSetting("extensionDigits") == 4


@pytest.mark.parametrize("choices, field", [
    (SetupChoices(digits=1), "extensionDigits"),
    (SetupChoices(digits=9), "extensionDigits"),
    (SetupChoices(operator="1000"), "operatorExtension"),
    (SetupChoices(voicemailNumber="9x9"), "voicemailNumber"),
    (SetupChoices(bindAddress="eth0"), "bindAddress"),
    (SetupChoices(publicIp="1.2.3"), "publicIp"),
    (SetupChoices(smtpHost="mail server"), "smtpHost"),
    (SetupChoices(smtpFrom="pbx"), "smtpFrom"),
])
def test_badChoices(store, choices, field):
    """Each wrong answer is refused naming its setting; nothing stored."""
    with pytest.raises(ValidationError) as caught:
        initialise(store, ADMIN, choices)
    assert caught.value.field == field
    assert not isInitialised(store)
