"""
Tests for L{tpbx.pbx.auth.DigestAuthenticator}.
"""

import re

import pytest
from zope.interface.verify import verifyObject

from tests.pbx.sipfixtures import ALICE, BOB, PHONE, answer, directory, register
from tpbx.interfaces import IDirectory
from tpbx.pbx.auth import DigestAuthenticator
from tpbx.sip.digest import NonceSigner, digestAuthorization, parseChallenge
from tpbx.testing_directory import FakeDirectory

NOW = 1_700_000_000.0


class RecordingGuard:
    """Records authFailed calls."""

    def __init__(self):
        self.failures = []

    def authFailed(self, host, now, user):
        self.failures.append((host, now, user))


def makeAuth(secret=b"k" * 32, **kw):
    guard = RecordingGuard()
    auth = DigestAuthenticator(directory(), NonceSigner(secret), "pbx.example",
                               guard=guard, **kw)
    return auth, guard


def challenged(auth, request, now=NOW):
    result = auth.authenticate(request, PHONE, now)
    assert not result.ok and result.response.status == 401
    return result.response


def test_fakeDirectoryProvidesIDirectory():
    """The test directory is a real IDirectory; auth ID defaults to number."""
    d = directory()
    assert verifyObject(IDirectory, d)
    assert d.extensionByAuthId("alice-auth") is ALICE
    assert d.extensionByAuthId("1002") is BOB
    assert d.extensionByNumber("9999") is None and d.setting("x", 3) == 3
    assert FakeDirectory().extensionByAuthId("a") is None


def test_challengeOffersSha256ThenMd5():
    """
    RFC 8760 sec. 2.4: one challenge per algorithm, preferred first, each
    with qop=auth and the same fresh nonce.
    """
    auth, _ = makeAuth()
    headers = auth.challenge(NOW)
    assert [name for name, _ in headers] == ["WWW-Authenticate"] * 2
    first, second = (parseChallenge(value) for _, value in headers)
    assert (first.algorithm, second.algorithm) == ("SHA-256", "MD5")
    assert first.nonce == second.nonce and first.qop == ("auth",)
    assert not first.stale
    assert parseChallenge(auth.challenge(NOW, stale=True, proxy=True)[0][1]).stale
    assert auth.challenge(NOW, proxy=True)[0][0] == "Proxy-Authenticate"


def test_noCredentialsGetsChallengeNotCounted():
    """A first request without credentials is challenged, not a failure."""
    auth, guard = makeAuth()
    result = auth.authenticate(register(), PHONE, NOW)
    assert (result.ok, result.reason, result.failed) == (False, "missing", False)
    assert len(result.response.headers.getAll("WWW-Authenticate")) == 2
    assert "tag=" in result.response.headers.get("To")
    assert guard.failures == []


@pytest.mark.parametrize("index", [0, 1])
def test_validCredentialsByAuthId(index):
    """
    Credentials answering either challenge (SHA-256 or MD5) authenticate
    the extension whose auth ID is the digest username.
    """
    auth, guard = makeAuth()
    request = register()
    answer(request, challenged(auth, request), "alice-auth", ALICE.password, index=index)
    result = auth.authenticate(request, PHONE, NOW + 1)
    assert (result.ok, result.extension, result.reason, result.response) == (
        True, ALICE, "ok", None)
    assert guard.failures == []


def test_proxyAuthentication():
    """With proxy=True the challenge is a 407 and Proxy-Authorization is read."""
    auth, _ = makeAuth()
    request = register(method="INVITE")
    result = auth.authenticate(request, PHONE, NOW, proxy=True)
    assert result.response.status == 407
    answer(request, result.response, "1002", BOB.password, proxy=True)
    assert auth.authenticate(request, PHONE, NOW, proxy=True).extension is BOB


def normalized(response):
    """The response bytes without the parts that are random by design."""
    text = response.toBytes().decode()
    text = re.sub(r'nonce="[^"]*"', 'nonce="N"', text)
    return re.sub(r"tag=[0-9a-f]+\r", "tag=T\r", text)


def test_unknownUserLooksLikeWrongPassword():
    """
    Anti-enumeration: an unknown auth ID and a wrong password get the same
    reason and byte-identical responses (but for nonce and To tag), and
    both count as failures.
    """
    auth, guard = makeAuth()
    responses = []
    for user, password in (("alice-auth", "wrong"), ("nobody", "wrong")):
        request = register()
        answer(request, challenged(auth, request), user, password)
        result = auth.authenticate(request, PHONE, NOW)
        assert (result.ok, result.reason, result.stale) == (False, "failed", False)
        responses.append(normalized(result.response))
    assert responses[0] == responses[1]
    assert [f[2] for f in guard.failures] == ["alice-auth", "nobody"]


def test_staleNonceWithRightPassword():
    """An expired nonce with the right password: 401 stale=true, no failure."""
    auth, guard = makeAuth(nonceTTL=300)
    request = register()
    answer(request, challenged(auth, request), "alice-auth", ALICE.password)
    result = auth.authenticate(request, PHONE, NOW + 301)
    assert (result.reason, result.stale) == ("stale", True)
    values = result.response.headers.getAll("WWW-Authenticate")
    assert all(parseChallenge(v).stale for v in values)
    assert guard.failures == []


def test_staleNonceWithWrongPasswordIsFailure():
    """stale=true is only for the right password (RFC 7616 sec. 3.3)."""
    auth, guard = makeAuth()
    request = register()
    answer(request, challenged(auth, request), "alice-auth", "nope")
    result = auth.authenticate(request, PHONE, NOW + 10_000)
    assert (result.reason, result.stale) == ("failed", False)
    assert len(guard.failures) == 1


def test_nonceFromBeforeRestartIsStale():
    """A nonce signed with another secret but a right password is stale."""
    old, _ = makeAuth(secret=b"old")
    new, guard = makeAuth(secret=b"new")
    request = register()
    answer(request, challenged(old, request), "1002", BOB.password)
    assert new.authenticate(request, PHONE, NOW).reason == "stale"
    assert guard.failures == []


def test_replayRejected():
    """The same credentials (nonce, nc) twice: the second is refused."""
    auth, guard = makeAuth()
    request = register()
    challenge = challenged(auth, request)
    answer(request, challenge, "1002", BOB.password, nc=1)
    assert auth.authenticate(request, PHONE, NOW).ok
    replay = auth.authenticate(request, PHONE, NOW + 1)
    assert (replay.ok, replay.reason, replay.stale) == (False, "replay", True)
    answer(request, challenge, "1002", BOB.password, nc=2)
    assert auth.authenticate(request, PHONE, NOW + 2).ok
    assert guard.failures == []


def test_legacyClientWithoutQop():
    """An RFC 2069 client (no qop) is accepted, its nonce once."""
    auth, _ = makeAuth()
    request = register()
    nonce = parseChallenge(challenged(auth, request).headers.get("WWW-Authenticate")).nonce
    request.headers.set("Authorization", digestAuthorization(
        f'Digest realm="pbx.example", nonce="{nonce}", algorithm=MD5',
        "REGISTER", request.uri, "1002", BOB.password))
    assert auth.authenticate(request, PHONE, NOW).ok
    assert auth.authenticate(request, PHONE, NOW).reason == "replay"


def test_otherRealmIgnored():
    """Credentials for another realm are skipped (RFC 3261 sec. 22.3)."""
    auth, guard = makeAuth()
    request = register()
    request.headers.add("Authorization", 'Digest username="1002", realm="other", '
                        'nonce="n", uri="sip:pbx.example", response="00"')
    assert auth.authenticate(request, PHONE, NOW).reason == "missing"
    assert guard.failures == []


def test_uriChecked():
    """
    The credentials' uri must be the Request-URI: equal text or the same
    scheme/user/host/port; otherwise 400.
    """
    auth, _ = makeAuth()
    request = register()
    challenge = challenged(auth, request)
    request.uri = "sip:pbx.example;transport=udp"
    answer(request, challenge, "1002", BOB.password)
    request.uri = "sip:pbx.example"
    assert auth.authenticate(request, PHONE, NOW).ok
    answer(request, challenge, "1002", BOB.password, nc=2)
    request.uri = "sip:elsewhere.example"
    result = auth.authenticate(request, PHONE, NOW)
    assert (result.reason, result.response.status) == ("uri-mismatch", 400)


def test_malformedCredentialsAre400():
    """Garbage in Authorization is a 400, not a challenge or a crash."""
    auth, guard = makeAuth()
    request = register()
    request.headers.add("Authorization", 'Digest username="a, realm=')
    result = auth.authenticate(request, PHONE, NOW)
    assert (result.reason, result.response.status) == ("malformed", 400)
    assert result.response.reason == "Malformed Authorization"


def test_algorithmNotOfferedIsRechallenged():
    """Credentials with an algorithm we did not offer get a new challenge."""
    auth, guard = makeAuth(algorithms=("MD5",))
    request = register()
    challenge = challenged(auth, request)
    value = challenge.headers.get("WWW-Authenticate").replace("MD5", "SHA-256")
    request.headers.set("Authorization", digestAuthorization(
        value, "REGISTER", request.uri, "1002", BOB.password))
    result = auth.authenticate(request, PHONE, NOW)
    assert (result.reason, result.response.status) == ("unsupported", 401)
    assert guard.failures == []


def test_unknownAlgorithmRefusedAtConstruction():
    """Configuring an algorithm hashlib cannot compute is an error."""
    with pytest.raises(ValueError):
        DigestAuthenticator(directory(), NonceSigner(b"k"), "r", algorithms=("SHA-1",))
