# -*- test-case-name: tests.pbx.test_auth -*-
"""
Digest authentication of requests against the extension directory
(RFC 3261 sec. 22, RFC 8760), as a sans-IO object fed with C{now}.

Scanners (sipvicious' svwar and svcrack) enumerate extensions by comparing
what a PBX answers for real and made-up users.  So an unknown auth ID and a
wrong password take the same path here: the response is computed against a
throw-away password and fails the same constant-time comparison, and both
get the same fresh challenge.  Whether the user exists is only revealed to
peers that authenticated (the 404 comes later, from the caller).
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

from tpbx.errors import ProtocolError
from tpbx.interfaces import IAccessGuard, IDirectory
from tpbx.model import Extension
from tpbx.sip.digest import (
    ALGORITHMS, DigestChallenge, DigestCredentials, NonceCounter, NonceSigner,
    computeHA1, computeResponse, formatChallenge, parseCredentials,
)
from tpbx.sip.message import Request, Response
from tpbx.sip.peer import Peer
from tpbx.sip.reply import makeResponse, newTag, statelessTag
from tpbx.sip.uri import parseURI

__all__ = ["AuthResult", "DigestAuthenticator"]

# Reasons that mean "the peer does not know the password": counted by the
# access guard.  The others (no credentials yet, stale or replayed nonce,
# an algorithm we did not offer) are part of a normal exchange.
_FAILURES = frozenset({"failed"})
# Reasons answered with 400 rather than a new challenge.
_BAD_REQUEST = {"malformed": "Malformed Authorization",
                "uri-mismatch": "Authorization URI mismatch"}


@dataclass(frozen=True, slots=True)
class AuthResult:
    """
    @ivar ok: the credentials are valid.
    @ivar extension: the authenticated L{Extension}, or L{None}.
    @ivar reason: C{"ok"}, C{"missing"} (no credentials for our realm),
        C{"malformed"}, C{"uri-mismatch"}, C{"unsupported"} (an algorithm or
        qop we did not offer), C{"stale"} (expired or unknown nonce, right
        password), C{"replay"} (nonce-count already used), C{"failed"}
        (unknown user or wrong password: deliberately one reason).
    @ivar stale: answer with C{stale=true} (RFC 7616 sec. 3.3).
    @ivar username: the auth ID the peer claimed, if any (for logs).
    @ivar response: when not C{ok}, the 401/407/400 to send back.
    """

    ok: bool
    extension: Extension | None
    reason: str
    stale: bool = False
    username: str | None = None
    response: Response | None = None

    @property
    def failed(self) -> bool:
        """@return: whether this counts as a failed authentication (I3)."""
        return self.reason in _FAILURES


def _sameURI(claimed: str, requestURI: str) -> bool:
    """
    Loose Request-URI match (RFC 7616 sec. 3.4.6 asks servers to check the
    C{uri} parameter): equal text, or the same scheme, user, host and port
    (clients differ in how they write parameters).
    """
    if claimed == requestURI:
        return True
    try:
        a, b = parseURI(claimed), parseURI(requestURI)
    except ProtocolError:
        return False
    return (a.scheme, a.user, a.host, a.port, a.opaque) == (b.scheme, b.user, b.host, b.port, b.opaque)


class DigestAuthenticator:
    """
    Challenges requests and checks their credentials.

    @ivar realm: the digest realm (the PBX's advertised host by default).
    @ivar algorithms: offered in this order of preference (RFC 8760 sec.
        2.4: one challenge header per algorithm).
    @ivar nonceTTL: seconds a nonce stays valid before C{stale=true}.
    """

    def __init__(self, directory: IDirectory, signer: NonceSigner, realm: str,
                 algorithms: tuple[str, ...] = ("SHA-256", "MD5"),
                 nonceTTL: float = 300, guard: IAccessGuard | None = None,
                 counter: NonceCounter | None = None):
        """
        @param guard: told about every failed authentication (SPEC I3).
        @param counter: the replay record; a fresh one by default.
        @raise ValueError: for an algorithm this Python cannot compute.
        """
        unknown = [a for a in algorithms if a not in ALGORITHMS]
        if unknown or not algorithms:
            raise ValueError(f"unsupported digest algorithms: {unknown}")
        self._directory = directory
        self._signer = signer
        self.realm = realm
        self.algorithms = tuple(algorithms)
        self.nonceTTL = nonceTTL
        self._guard = guard
        self._counter = counter if counter is not None else NonceCounter(nonceTTL)
        # The password unknown users are checked against: random, never
        # stored, so no auth ID without an extension can ever succeed.
        self._decoy = os.urandom(16).hex()
        # The key of challenges' To tags: a challenge is sent statelessly
        # (PBXCore._finishChallenge), and a retransmitted request must get
        # the same tag (RFC 3261 sec. 8.2.7).
        self._tagKey = os.urandom(16)

    def challenge(self, now: float, stale: bool = False,
                  proxy: bool = False) -> list[tuple[str, str]]:
        """
        @param proxy: build C{Proxy-Authenticate} (407) instead of
            C{WWW-Authenticate} (401).
        @return: one C{(name, value)} header per offered algorithm, best
            first, all with the same fresh nonce.
        """
        name = "Proxy-Authenticate" if proxy else "WWW-Authenticate"
        nonce = self._signer.issue(now, self.realm)
        return [(name, formatChallenge(DigestChallenge(
                    self.realm, nonce, algorithm, ("auth",), None, stale)))
                for algorithm in self.algorithms]

    def authenticate(self, request: Request, peer: Peer | None, now: float,
                     proxy: bool = False) -> AuthResult:
        """
        Check the request's credentials for our realm.

        @param peer: where it came from; its host is reported to the guard
            on failure.
        @param proxy: read C{Proxy-Authorization} and answer 407 instead of
            C{Authorization} and 401.
        @return: the L{AuthResult}; C{response} is set when not C{ok}.
        """
        result = self._check(request, now, proxy)
        if result.ok:
            return result
        if result.failed and self._guard is not None and peer is not None:
            self._guard.authFailed(peer.host, now, result.username)
        return AuthResult(False, None, result.reason, result.stale,
                          result.username, self._refusal(request, result, now, proxy))

    def _refusal(self, request: Request, result: AuthResult, now: float,
                 proxy: bool) -> Response:
        badRequest = _BAD_REQUEST.get(result.reason)
        if badRequest is not None:
            return makeResponse(request, 400, badRequest, toTag=newTag())
        return makeResponse(request, 407 if proxy else 401,
                            toTag=statelessTag(request, self._tagKey),
                            headers=self.challenge(now, result.stale, proxy))

    def _credentials(self, request: Request, proxy: bool) -> DigestCredentials | None:
        """
        @return: the first Digest credentials for our realm (RFC 3261 sec.
            22.3: skip those meant for other realms), or L{None}.
        @raise ProtocolError: when one of them is malformed.
        """
        name = "Proxy-Authorization" if proxy else "Authorization"
        for value in request.headers.getAll(name):
            if value.lstrip()[:7].lower() != "digest ":
                continue  # another scheme: not ours to judge (RFC 4475 3.3.8)
            credentials = parseCredentials(value)
            if credentials.realm == self.realm:
                return credentials
        return None

    def _check(self, request: Request, now: float, proxy: bool) -> AuthResult:
        try:
            credentials = self._credentials(request, proxy)
        except ProtocolError:
            return AuthResult(False, None, "malformed")
        if credentials is None:
            return AuthResult(False, None, "missing")
        c = credentials
        if c.algorithm not in self.algorithms or c.qop not in (None, "auth"):
            return AuthResult(False, None, "unsupported", username=c.username)
        if not _sameURI(c.uri, request.uri):
            return AuthResult(False, None, "uri-mismatch", username=c.username)
        extension = self._directory.extensionByAuthId(c.username)
        password = extension.password if extension is not None else self._decoy
        ha1 = computeHA1(c.algorithm, c.username, self.realm, password,
                         c.nonce, c.cnonce or "")
        expected = computeResponse(c.algorithm, ha1, c.nonce, request.method,
                                   c.uri, c.qop, c.nc, c.cnonce)
        matches = hmac.compare_digest(expected, c.response)
        if extension is None or not matches:
            return AuthResult(False, None, "failed", username=c.username)
        return self._checkNonce(c, extension, now)

    def _checkNonce(self, c: DigestCredentials, extension: Extension,
                    now: float) -> AuthResult:
        """
        The password is right; is the nonce fresh and its count new?  An
        unknown nonce (a restart with a new secret) is stale, not a failure,
        since the client proved it knows the password (RFC 7616 sec. 3.3).
        """
        state = self._signer.check(c.nonce, now, self.nonceTTL, self.realm)
        if state == "ok":
            state = self._counter.use(c.nonce, self._signer.issuedAt(c.nonce),
                                      c.nc or 0, now)
        if state != "ok":
            reason = "replay" if state == "replay" else "stale"
            return AuthResult(False, None, reason, True, c.username)
        return AuthResult(True, extension, "ok", False, c.username)
