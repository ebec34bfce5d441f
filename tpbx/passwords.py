# -*- test-case-name: tests.store.test_passwords -*-
"""
Secrets tpbx makes and checks: generated SIP passwords and PINs, the weak
password test (SPEC B5), and salted hashes for the admin password.

There are no default passwords anywhere (DESIGN.md, "Secure by default"):
whatever an administrator leaves empty is generated here from L{secrets},
and whatever they type is checked against the mistakes that SIP scanners
(sipvicious and friends) try first: the extension number, short or
all-digit passwords and the usual dictionary words.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string

__all__ = [
    "PASSWORD_LENGTH", "PIN_LENGTH", "generatePassword", "generatePin",
    "weakPasswordReason", "hashSecret", "verifySecret",
]

PASSWORD_LENGTH = 16
PIN_LENGTH = 6
MIN_PASSWORD_LENGTH = 8

# Letters and digits only: every phone's keypad and web form can enter
# them, and they need no quoting in provisioning templates.  Look-alikes
# (0/O, 1/l/I) are left out because people copy these by hand.
_ALPHABET = "".join(
    c for c in string.ascii_letters + string.digits if c not in "0O1lI")

# The passwords SIP brute-force tools try first (sipvicious' svcrack
# dictionary, the top of the public breach lists), lower-cased.
_COMMON = frozenset("""
password passw0rd password1 password123 p@ssw0rd admin admin123 administrator
root toor test test123 guest user secret changeme default welcome welcome1
letmein qwerty qwertyuiop azerty asdfgh asdfghjkl zxcvbnm iloveyou monkey
dragon master sunshine princess football baseball superman trustno1 abc123
abcdef abcdefgh abcd1234 qwerty123 1q2w3e4r 1qaz2wsx voip sip phone pbx
asterisk freepbx 3cx voicemail extension
""".split())

# scrypt cost parameters (RFC 7914 sec. 2): ~16 MiB and tens of ms per
# check, which is fine for an admin login and costly for a guesser.
_SCRYPT_N = 2 ** 14
_SCRYPT_R = 8
_SCRYPT_P = 1


def generatePassword(length: int = PASSWORD_LENGTH) -> str:
    """
    Make a strong random SIP password.

    @param length: how many characters (at least 8).
    @return: letters and digits with at least one lower-case letter, one
        upper-case letter and one digit, so that no password policy of a
        phone or provider refuses it.
    """
    if length < MIN_PASSWORD_LENGTH:
        raise ValueError(f"length must be at least {MIN_PASSWORD_LENGTH}")
    while True:
        candidate = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if (any(c.islower() for c in candidate)
                and any(c.isupper() for c in candidate)
                and any(c.isdigit() for c in candidate)):
            return candidate


def generatePin(length: int = PIN_LENGTH) -> str:
    """
    Make a random numeric PIN (voicemail and portal login, SPEC B1).

    @return: C{length} digits, never one repeated digit.
    """
    while True:
        pin = "".join(secrets.choice(string.digits) for _ in range(length))
        if len(set(pin)) > 1:
            return pin


def weakPasswordReason(password: str, *related: str) -> str | None:
    """
    Say why C{password} is weak, or that it is not (SPEC B5).

    @param password: the candidate password.
    @param related: identifiers a guesser knows (extension number, auth
        ID); the password may not equal them, nor contain those of four
        characters or more.
    @return: a short human reason, or L{None} when the password is fine.
    """
    lowered = password.lower()
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"shorter than {MIN_PASSWORD_LENGTH} characters"
    if password.isdigit():
        return "only digits"
    if len(set(password)) < 3:
        return "too few different characters"
    if lowered in _COMMON:
        return "a commonly used password"
    for word in related:
        word = word.lower()
        if word == lowered or (len(word) >= 4 and word in lowered):
            return "contains the extension number or auth ID"
    return None


def hashSecret(secret: str) -> str:
    """
    Hash a secret for storage with a random salt.

    @return: C{"scrypt$N$r$p$salt$hash"}, base64 fields; self-describing
        so the cost can be raised later without breaking old hashes.
    """
    salt = secrets.token_bytes(16)
    digest = _scrypt(secret, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    return "$".join([
        "scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P),
        _b64(salt), _b64(digest)])


def verifySecret(secret: str, stored: str) -> bool:
    """
    Check C{secret} against a value made by L{hashSecret}.

    @return: C{True} when it matches; C{False} for a mismatch or for a
        stored value that is malformed (never an exception).
    """
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest, validate=True)
        actual = _scrypt(secret, base64.b64decode(salt, validate=True),
                         int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=64 * 1024 * 1024, dklen=32)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
