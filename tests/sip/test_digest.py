"""
Tests for L{tpbx.sip.digest}: digest math, header syntax, stateless nonces
and nonce-count replay protection.
"""

import base64
import hashlib
import hmac
import os
import tracemalloc

import pytest
from hypothesis import given, strategies as st

from tpbx.errors import ProtocolError
from tpbx.sip import digest
from tpbx.sip.digest import (
    ALGORITHMS, DigestChallenge, NonceCounter, NonceSigner, computeHA1,
    computeResponse, digestAuthorization, formatChallenge, parseAuthParams,
    parseChallenge, parseCredentials,
)

# RFC 7616 sec. 3.9.1 (with erratum 4495: "Circle of Life").
RFC7616_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
RFC7616_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"


def rfc7616Authorization(algorithm, response):
    return (f'Digest username="Mufasa", realm="http-auth@example.org", '
            f'uri="/dir/index.html", algorithm={algorithm}, '
            f'nonce="{RFC7616_NONCE}", nc=00000001, cnonce="{RFC7616_CNONCE}", '
            f'qop=auth, response="{response}", opaque="{RFC7616_OPAQUE}"')


@pytest.mark.parametrize("algorithm, expected", [
    ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
])
def test_rfc7616Vectors(algorithm, expected):
    """
    The responses of RFC 7616 sec. 3.9.1 come out of the parsed
    Authorization header and the password "Circle of Life".
    """
    c = parseCredentials(rfc7616Authorization(algorithm, expected))
    assert (c.username, c.realm, c.algorithm, c.qop, c.nc) == (
        "Mufasa", "http-auth@example.org", algorithm, "auth", 1)
    ha1 = computeHA1(c.algorithm, c.username, c.realm, "Circle of Life")
    assert computeResponse(c.algorithm, ha1, c.nonce, "GET", c.uri, c.qop,
                           c.nc, c.cnonce) == expected


def test_rfc2617Vector():
    """The MD5 example of RFC 2617 sec. 3.5 ("Circle Of Life")."""
    ha1 = computeHA1("MD5", "Mufasa", "testrealm@host.com", "Circle Of Life")
    assert computeResponse("MD5", ha1, "dcd98b7102dd2f0e8b11d0f600bfb0c093",
                           "GET", "/dir/index.html", "auth", 1,
                           "0a4f113b") == "6629fae49393a05397450978507c4ef1"


def test_rfc2069WithoutQop():
    """Without qop the response is H(HA1:nonce:HA2) (RFC 2069 clients)."""
    md5 = lambda s: hashlib.md5(s.encode()).hexdigest()
    ha1 = computeHA1("MD5", "bob", "pbx", "pw")
    assert ha1 == md5("bob:pbx:pw")
    assert computeResponse("MD5", ha1, "n", "REGISTER", "sip:pbx") == md5(
        f"{ha1}:n:{md5('REGISTER:sip:pbx')}")


def test_sessVariant():
    """C{-sess} hashes HA1 again with nonce and cnonce (RFC 7616 sec. 3.4.2)."""
    sha = lambda s: hashlib.sha256(s.encode()).hexdigest()
    assert computeHA1("SHA-256-sess", "u", "r", "p", "n", "c") == sha(
        f"{sha('u:r:p')}:n:c")


@pytest.mark.skipif("SHA-512-256" not in ALGORITHMS, reason="no SHA-512/256")
def test_sha512_256IsTruncatedSha512():
    """SHA-512-256 is FIPS 180-4 SHA-512/256 (its own IV, not a cut SHA-512)."""
    ha1 = computeHA1("SHA-512-256", "abc", "", "")
    assert ha1 == hashlib.new("sha512_256", b"abc::").hexdigest()
    assert hashlib.new("sha512_256", b"abc").hexdigest() == (
        "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23")


def test_paramsAnyOrderQuotedEscaped():
    """
    Parameters come in any order, quoted or not, with escapes undone,
    commas inside quotes kept, and any case in names and scheme.
    """
    params = parseAuthParams(
        'DIGEST Realm="a\\"b, c" ,NONCE=tok,  username="x\\\\y",uri="sip:h"')
    assert params == {"realm": 'a"b, c', "nonce": "tok", "username": "x\\y",
                      "uri": "sip:h"}


@pytest.mark.parametrize("value", [
    'Basic dXNlcjpwYXNz', 'Digest realm="a", realm="b"', 'Digest realm="a',
    'Digest realm', 'Digest =x', 'Digest realm=a b', 'Digest realm="a" x',
    'Digest realm="' + "x" * 2000 + '"',
])
def test_malformedParams(value):
    """Wrong scheme, repeats, bad quoting and oversize values are 400s."""
    with pytest.raises(ProtocolError) as e:
        parseAuthParams(value)
    assert e.value.statusHint == 400


@pytest.mark.parametrize("value", [
    'Digest username="a", realm="r", nonce="n", uri="u"',
    'Digest username="a", realm="r", nonce="n", uri="u", response="x", qop=auth',
    'Digest username="a", realm="r", nonce="n", uri="u", response="x", '
    'qop=auth, cnonce="c", nc=1',
])
def test_credentialsMissingParts(value):
    """A missing response, or qop without a well-formed nc and cnonce, is 400."""
    with pytest.raises(ProtocolError):
        parseCredentials(value)


@given(st.text(max_size=200))
def test_garbageNeverCrashes(text):
    """Any text either parses or raises ProtocolError."""
    for parse in (parseAuthParams, parseCredentials, parseChallenge):
        try:
            parse("Digest " + text)
        except ProtocolError:
            pass


def test_challengeRoundTrip():
    """A formatted challenge parses back to the same values."""
    challenge = DigestChallenge("pbx.example", "abc=", "SHA-256", ("auth",),
                                "op", True)
    value = formatChallenge(challenge)
    assert value.startswith('Digest realm="pbx.example", nonce="abc=", algorithm=SHA-256')
    assert parseChallenge(value) == challenge


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_clientAnswersChallenge(algorithm):
    """
    L{digestAuthorization} answers a challenge with credentials whose
    response the server's math accepts, for every algorithm.
    """
    challenge = formatChallenge(DigestChallenge("r", "n0", algorithm, ("auth",), "o"))
    value = digestAuthorization(challenge, "REGISTER", "sip:r", "alice", "pw",
                                nc=3, cnonce="cn")
    c = parseCredentials(value)
    assert (c.qop, c.nc, c.cnonce, c.opaque, c.algorithm) == ("auth", 3, "cn", "o", algorithm)
    ha1 = computeHA1(algorithm, "alice", "r", "pw", "n0", "cn")
    assert c.response == computeResponse(algorithm, ha1, "n0", "REGISTER",
                                         "sip:r", "auth", 3, "cn")


def test_clientWithoutQop():
    """A challenge without qop gets an RFC 2069 answer (no nc, no cnonce)."""
    value = digestAuthorization('Digest realm="r", nonce="n"', "INVITE",
                                "sip:x@r", "a", "p")
    c = parseCredentials(value)
    assert (c.qop, c.nc, c.cnonce, c.algorithm) == (None, None, None, "MD5")
    assert c.response == computeResponse("MD5", computeHA1("MD5", "a", "r", "p"),
                                         "n", "INVITE", "sip:x@r")


@pytest.mark.parametrize("challenge", [
    'Digest realm="r", nonce="n", algorithm=SHA-1',
    'Digest realm="r", nonce="n", qop="auth-int"',
])
def test_clientRefusesUnknown(challenge):
    """An algorithm or qop the client cannot do is a 488-hinted error."""
    with pytest.raises(ProtocolError) as e:
        digestAuthorization(challenge, "REGISTER", "sip:r", "a", "p")
    assert e.value.statusHint == 488


def test_nonceLifecycle():
    """A nonce is ok within maxAge, stale after, bound to its realm."""
    signer = NonceSigner(b"secret")
    nonce = signer.issue(1000.0, "pbx")
    assert signer.check(nonce, 1000.0, 300, "pbx") == "ok"
    assert signer.check(nonce, 1300.0, 300, "pbx") == "ok"
    assert signer.check(nonce, 1301.0, 300, "pbx") == "stale"
    assert signer.check(nonce, 1000.0, 300, "other") == "bad"
    assert signer.issuedAt(nonce) == 1000
    assert NonceSigner(b"other").check(nonce, 1000.0, 300, "pbx") == "bad"


def test_nonceForgeries():
    """Tampered, truncated, garbage and future nonces are bad."""
    signer = NonceSigner(b"secret")
    nonce = signer.issue(1000.0)
    raw = bytearray(base64.b64decode(nonce))
    raw[3] ^= 1
    tampered = base64.b64encode(bytes(raw)).decode()
    for bad in (tampered, nonce[:-4], "", "!" * len(nonce), "x" * 3000):
        assert signer.check(bad, 1000.0, 300) == "bad"
        assert signer.issuedAt(bad) is None or bad == tampered
    assert signer.check(nonce, 990.0, 300) == "bad"


@pytest.mark.parametrize("secret", [b"", b"s", b"k" * 32, b"k" * 64, b"k" * 200])
def test_nonceMacIsHmacSha256(secret):
    """
    A nonce's MAC, computed from the key's padded hash states, is
    HMAC-SHA-256 of its head and realm (RFC 2104), for keys shorter than,
    as long as and longer than the hash's block; so nonces issued before
    the states were kept still check.
    """
    signer = NonceSigner(secret, randomBytes=lambda n: b"\x01" * n)
    raw = base64.b64decode(signer.issue(1234.0, "pbx"))
    head = raw[:-32]
    assert raw[-32:] == hmac.digest(secret, head + b"pbx", "sha256")
    assert signer.check(signer.issue(1234.0, "pbx"), 1234.0, 300, "pbx") == "ok"


def test_noncesAreUnique():
    """Two nonces issued in the same second differ (random part)."""
    signer = NonceSigner(b"s")
    assert signer.issue(5.0) != signer.issue(5.0)


def test_replayRejected():
    """The same or a lower nonce-count is a replay; a higher one is fine."""
    counter = NonceCounter(maxAge=300)
    assert counter.use("n", 100, 1, 100.0) == "ok"
    assert counter.use("n", 100, 1, 101.0) == "replay"
    assert counter.use("n", 100, 2, 102.0) == "ok"
    assert counter.use("n", 100, 1, 103.0) == "replay"
    assert counter.use("m", 100, 0, 103.0) == "ok"
    assert counter.use("m", 100, 0, 104.0) == "replay"


def test_counterPrunedByAge():
    """Entries first used more than maxAge ago are forgotten."""
    counter = NonceCounter(maxAge=300)
    counter.use("a", 0, 1, 0.0)
    counter.use("b", 200, 1, 200.0)
    counter.use("c", 400, 1, 400.0)
    assert len(counter) == 2


def test_counterBoundNeverOpensReplay():
    """
    When the bound evicts a live nonce, that nonce (and any older one) is
    refused as stale rather than accepted again.
    """
    counter = NonceCounter(maxAge=300, maxEntries=2)
    counter.use("a", 10, 1, 10.0)
    counter.use("b", 11, 1, 11.0)
    counter.use("c", 12, 1, 12.0)
    assert len(counter) == 2
    assert counter.use("a", 10, 1, 13.0) == "stale"
    assert counter.use("d", 20, 1, 20.0) == "ok"


def test_counterEntriesSmall():
    """
    An entry keeps neither the nonce's text nor a tuple: 20,000 nonces
    used once cost under 200 bytes each (the 65,536 of the bound about
    10 MB), though every call set up in the last 5 minutes has one.
    """
    counter = NonceCounter(maxAge=300)
    tracemalloc.start()
    try:
        for _ in range(20_000):
            counter.use(base64.b64encode(os.urandom(45)).decode(), 1000, 1, 1000.0)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(counter) == 20_000 and held / 20_000 < 200


def _generalParams(value: str):
    """L{parseAuthParams} without its one-step path for plain parameters."""
    plain = digest._plainParams
    digest._plainParams = lambda rest: None
    try:
        return parseAuthParams(value)
    except ProtocolError as e:
        return ("error", e.reason)
    finally:
        digest._plainParams = plain


def _anyParams(value: str):
    try:
        return parseAuthParams(value)
    except ProtocolError as e:
        return ("error", e.reason)


@pytest.mark.parametrize("value", [
    'Digest username="100",realm="r",nc=00000001,qop=auth,uri="sip:a@b:5060",'
    'response="0a",algorithm=MD5',
    "Digest  a=b ,, c = d,",
    'Digest a="x\\"y",b=c',
    'Digest a="",b=c',
    "Digest a=,b=c",
    "Digest a=b c",
    'Digest a="b"x',
    "Digest a=b,A=c",
    "Digest uri=sip:a@b",
    "Digest a=b\n",
    "Digest",
])
def test_plainParamsAgree(value):
    """
    The one-step path for plain parameters gives exactly what the general
    loop gives (or leaves the value to it, errors included).
    """
    assert _anyParams(value) == _generalParams(value)


@given(st.text(alphabet='Digest ab=",\\ \t\r\n:/', max_size=40))
def test_plainParamsAgreeOnAnything(value):
    """Whatever the text, both paths agree (hypothesis)."""
    assert _anyParams(value) == _generalParams(value)


def test_plainParamsLimits():
    """The limits hold on the one-step path too: too many parameters or
    too long a value are refused as before."""
    many = "Digest " + ",".join(f"p{i}=v" for i in range(40))
    assert _anyParams(many) == ("error", "Digest parameters too long")
    long = 'Digest a="' + "x" * 2000 + '"'
    assert _anyParams(long) == ("error", "Digest parameters too long")
