# -*- test-case-name: tests.store.test_validation -*-
"""
Tests for L{tpbx.store.validation}: each refused edit names its field.
"""

import pytest

from tpbx.errors import ValidationError
from tpbx.model import Extension
from tpbx.store.validation import (
    canonicalNetwork, checkHostPort, cleanExtension, parseBool,
)

BASE = {"number": "100", "firstName": "Ann", "password": "Tr1cky-Secret"}


@pytest.mark.parametrize("changes, field", [
    ({"number": ""}, "number"),
    ({"number": "1a0"}, "number"),
    ({"number": "١٠٠"}, "number"),  # Arabic-Indic digits are not ASCII
    ({"number": "123456789"}, "number"),
    ({"firstName": ""}, "firstName"),
    ({"firstName": "A\x00n"}, "firstName"),
    ({"lastName": "x" * 101}, "lastName"),
    ({"email": "ann@"}, "email"),
    ({"email": "ann example@x.org"}, "email"),
    ({"email": "ann@localhost"}, "email"),
    ({"authId": "ann lee"}, "authId"),
    ({"authId": "ann@lee"}, "authId"),
    ({"authId": ""}, "authId"),
    ({"password": ""}, "password"),
    ({"password": " Tr1cky-Secret"}, "password"),
    ({"password": "short1A"}, "password"),
    ({"password": "12345678901"}, "password"),
    ({"password": "Password"}, "password"),
    ({"pin": "123"}, "pin"),
    ({"pin": "12a4"}, "pin"),
    ({"pin": "1" * 13}, "pin"),
    ({"lanOnly": "maybe"}, "lanOnly"),
    ({"colour": "red"}, "colour"),
    ({"firstName": 7}, "firstName"),
])
def test_refusedFieldIsNamed(changes, field):
    """Every refused value raises ValidationError naming its field."""
    with pytest.raises(ValidationError) as caught:
        cleanExtension({**BASE, **changes})
    assert caught.value.field == field
    assert caught.value.message


def test_cleanNormalises():
    """Text is stripped and booleans parsed from CSV-style words."""
    clean = cleanExtension({**BASE, "firstName": " Ann ", "lanOnly": "Yes",
                            "email": " ann@example.com", "pin": "0042"})
    assert clean == {**BASE, "firstName": "Ann", "lanOnly": True,
                     "email": "ann@example.com", "pin": "0042"}


def test_digitsSetting():
    """With a digit count, the number must have exactly that length."""
    cleanExtension({**BASE, "number": "1000"}, digits=4)
    with pytest.raises(ValidationError, match="exactly 3 digits"):
        cleanExtension({**BASE, "number": "1000"}, digits=3)


def test_allowWeakPassword():
    """C{allowWeakPassword} accepts a weak password and is not stored."""
    clean = cleanExtension({**BASE, "password": "1234",
                            "allowWeakPassword": True})
    assert clean["password"] == "1234"
    assert "allowWeakPassword" not in clean


def test_updateIsPartial():
    """An update needs no required field and keeps the number."""
    current = Extension("100", "Ann", authId="ann.lee")
    assert cleanExtension({"lastName": "Lee"}, current) == {
        "lastName": "Lee"}
    with pytest.raises(ValidationError) as caught:
        cleanExtension({"password": "ann.lee-secret-9"}, current)
    assert caught.value.field == "password"


@pytest.mark.parametrize("text, expected", [
    ("true", True), ("1", True), ("ON", True), ("", False), ("no", False),
    (False, False),
])
def test_parseBool(text, expected):
    """Booleans come as JSON or as the usual words."""
    assert parseBool("lanOnly", text) is expected


@pytest.mark.parametrize("text, expected", [
    ("192.0.2.7", "192.0.2.7"), ("10.9.8.7/8", "10.0.0.0/8"),
    ("2001:DB8::1", "2001:db8::1"), (" 192.0.2.0/24 ", "192.0.2.0/24"),
])
def test_canonicalNetwork(text, expected):
    """Networks are stored in one canonical spelling."""
    assert canonicalNetwork("network", text) == expected


@pytest.mark.parametrize("text", ["mail", "mail.example.com:587"])
def test_hostPort(text):
    """SMTP hosts are C{host} or C{host:port}."""
    assert checkHostPort("smtpHost", text) == text


@pytest.mark.parametrize("text", ["", "mail:0", "mail:x", "a b"])
def test_badHostPort(text):
    """Anything else names the field."""
    with pytest.raises(ValidationError) as caught:
        checkHostPort("smtpHost", text)
    assert caught.value.field == "smtpHost"
