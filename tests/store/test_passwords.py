# -*- test-case-name: tests.store.test_passwords -*-
"""
Tests for L{tpbx.passwords}: generated secrets are strong, weak ones are
recognised, admin password hashes verify.
"""

import pytest

from tpbx.passwords import (
    generatePassword, generatePin, hashSecret, verifySecret,
    weakPasswordReason,
)


def test_generatedPasswordsAreStrong():
    """Generated passwords pass the weak check and differ each time."""
    passwords = {generatePassword() for _ in range(50)}
    assert len(passwords) == 50
    for password in passwords:
        assert len(password) == 16 and password.isalnum()
        assert weakPasswordReason(password) is None


def test_generatedPasswordMinimumLength():
    """Too short a generated password is refused outright."""
    with pytest.raises(ValueError):
        generatePassword(6)


def test_generatedPin():
    """Generated PINs are digits, never one repeated digit."""
    for _ in range(50):
        pin = generatePin()
        assert len(pin) == 6 and pin.isdigit() and len(set(pin)) > 1


@pytest.mark.parametrize("password, related", [
    ("short1A", ()), ("1234567890", ()), ("aaaaaaaaab", ()),
    ("Password", ()), ("qwerty123", ()), ("lee.ann.100", ("lee.ann",)),
    ("ann.lee", ("100", "ann.lee")),
])
def test_weak(password, related):
    """Short, digit-only, common or identifier-based passwords are weak."""
    assert weakPasswordReason(password, *related)


def test_strong():
    """A long mixed password unrelated to the number is fine."""
    assert weakPasswordReason("Tr1cky-Sip-Secret", "100", "100") is None


def test_hashRoundTrip():
    """A hash verifies its secret only, and is salted."""
    stored = hashSecret("Admin-Secret-1")
    assert stored.startswith("scrypt$")
    assert verifySecret("Admin-Secret-1", stored)
    assert not verifySecret("admin-secret-1", stored)
    assert hashSecret("Admin-Secret-1") != stored


@pytest.mark.parametrize("stored", [
    "", "plain", "md5$1$2$3$4$5", "scrypt$x$8$1$AAAA$AAAA",
    "scrypt$16384$8$1$!!$AAAA",
])
def test_malformedHashNeverMatches(stored):
    """A damaged stored hash is a mismatch, not an exception."""
    assert verifySecret("anything", stored) is False
