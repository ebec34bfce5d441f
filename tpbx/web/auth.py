# -*- test-case-name: tests.web.test_auth -*-
"""
Administrator authentication for the web API: HTTP Basic plus lockout.

Why here and not in each route: every byte under C{/api} is for the
administrator, so one wrapper resource checks credentials before any routing
happens -- an unknown path answers 401 like a known one, and no route can
forget the check.  Failed logins are counted per client address
(SPEC I3: "IP blacklist after N failed authentications (SIP and web)"): the
address is locked out for a while, and each failure is also reported to the
PBX-wide L{IAccessGuard} when there is one, which may blacklist it for SIP
too.

Password checks are expensive on purpose (bcrypt/argon2) and Basic sends
the password with every request, so a success is remembered for a short
time under a keyed hash; see L{AdminAuthenticator}.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import math
import os
from collections import deque
from collections.abc import Callable

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource

from tpbx.interfaces import IAccessGuard
from tpbx.web.jsonio import ApiError, internalError, writeError

__all__ = ["LoginThrottle", "AdminAuthenticator", "AuthenticatedResource",
           "REALM", "clientHost", "basicCredentials"]

REALM = "tpbx"

_CHALLENGE = f'Basic realm="{REALM}", charset="UTF-8"'.encode("ascii")

_log = Logger()


def clientHost(request: IRequest) -> str:
    """
    @return: the client's IP address as text (C{"local"} for a UNIX socket).
        Forwarding headers are not trusted.
    """
    return getattr(request.getClientAddress(), "host", "local")


class LoginThrottle:
    """
    Failed logins per client address, in a sliding window; an address with
    C{maxFailures} failures within C{window} seconds is locked out for
    C{lockout} seconds.

    Memory stays bounded by the addresses that failed within one window:
    stale entries are swept, at most once per window, once more than
    C{maxTracked} addresses are known.
    """

    def __init__(self, clock: IReactorTime, maxFailures: int = 10,
                 window: float = 60.0, lockout: float = 300.0,
                 maxTracked: int = 4096):
        """
        @param clock: the time source (a L{task.Clock} in tests).
        @param maxFailures: failures that trigger a lockout.
        @param window: seconds over which failures are counted.
        @param lockout: seconds an address stays locked out.
        @param maxTracked: addresses known before a sweep is considered.
        """
        self._clock = clock
        self.maxFailures = maxFailures
        self.window = window
        self.lockout = lockout
        self._maxTracked = maxTracked
        self._failures: dict[str, deque[float]] = {}
        self._lockedUntil: dict[str, float] = {}
        self._nextSweep = 0.0

    def lockedFor(self, host: str) -> float:
        """
        @return: seconds left of C{host}'s lockout; C{0.0} when it may try.
        """
        until = self._lockedUntil.get(host)
        if until is None:
            return 0.0
        left = until - self._clock.seconds()
        if left <= 0:
            del self._lockedUntil[host]
            return 0.0
        return left

    def failed(self, host: str) -> bool:
        """
        Count one failed login from C{host}.

        @return: C{True} when this failure locked C{host} out.
        """
        now = self._clock.seconds()
        times = self._failures.setdefault(host, deque())
        times.append(now)
        while times[0] <= now - self.window:
            times.popleft()
        if len(times) >= self.maxFailures:
            del self._failures[host]
            self._lockedUntil[host] = now + self.lockout
            return True
        if len(self._failures) > self._maxTracked and now >= self._nextSweep:
            self._sweep(now)
        return False

    def succeeded(self, host: str) -> None:
        """
        C{host} logged in: forget its earlier failures.
        """
        self._failures.pop(host, None)

    def _sweep(self, now: float) -> None:
        """
        Forget failures older than the window and lockouts that ended.
        """
        self._nextSweep = now + self.window
        oldest = now - self.window
        self._failures = {host: times for host, times in self._failures.items()
                          if times[-1] > oldest}
        self._lockedUntil = {host: until
                             for host, until in self._lockedUntil.items()
                             if until > now}

    def tracked(self) -> int:
        """
        @return: how many addresses have failures or lockouts on record.
        """
        return len(self._failures) + len(self._lockedUntil)


def basicCredentials(request: IRequest) -> tuple[str, str] | None:
    """
    Decode an C{Authorization: Basic} header (RFC 7617 sec. 2, UTF-8 as
    announced by the challenge's C{charset}, sec. 2.1).

    @return: C{(user, password)}, or L{None} when the header is missing,
        another scheme, or malformed.
    """
    header = request.getHeader(b"authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(b" ")
    if scheme.lower() != b"basic":
        return None
    try:
        decoded = binascii.a2b_base64(token.strip(), strict_mode=True)
        user, colon, password = decoded.decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if colon else None


class AdminAuthenticator:
    """
    Decides whether a request comes from the administrator.

    A verified user name and password are remembered for C{cacheTTL}
    seconds under an HMAC with a per-process random key, so a console page
    making several calls costs one slow password check, not one each.  A
    changed admin password therefore stops working no later than
    C{cacheTTL} seconds after the change.
    """

    _maxCached = 8

    def __init__(self, checkPassword: Callable[[str, str], bool],
                 clock: IReactorTime, throttle: LoginThrottle | None = None,
                 guard: IAccessGuard | None = None, cacheTTL: float = 30.0):
        """
        @param checkPassword: C{(user, password) -> bool}; the only judge of
            credentials (it alone knows the admin user name and hash).
        @param clock: the time source.
        @param throttle: the per-address failure counter; a default
            L{LoginThrottle} on C{clock} when L{None}.
        @param guard: the PBX-wide anti-hacking policy, or L{None}.
        @param cacheTTL: seconds a verified password is remembered.
        """
        self._checkPassword = checkPassword
        self._clock = clock
        self.throttle = throttle if throttle is not None else \
            LoginThrottle(clock)
        self._guard = guard
        self._cacheTTL = cacheTTL
        self._cacheKey = os.urandom(32)
        self._verified: dict[bytes, float] = {}

    def authenticate(self, request: IRequest) -> str:
        """
        @return: the authenticated user name.
        @raise ApiError: 403 when the guard blacklists the client address,
            429 with C{Retry-After} (RFC 6585 sec. 4) while it is locked
            out, 401 with a C{WWW-Authenticate} challenge (RFC 7235 sec.
            3.1) when credentials are missing or wrong.
        """
        host = clientHost(request)
        if self._guard is not None and \
                not self._guard.allowPacket(host, self._clock.seconds()):
            raise ApiError(403, "forbidden", "this address is blocked")
        left = self.throttle.lockedFor(host)
        if left:
            raise ApiError(429, "locked-out",
                           "too many failed logins; try again later",
                           headers=[(b"retry-after",
                                     b"%d" % math.ceil(left))])
        credentials = basicCredentials(request)
        if credentials is None:
            raise _challenge("authentication required")
        user, password = credentials
        if self._verify(user, password):
            self.throttle.succeeded(host)
            return user
        self._failed(host, user)
        raise _challenge("wrong user name or password")

    def _verify(self, user: str, password: str) -> bool:
        """
        @return: whether C{checkPassword} accepts the credentials, asking it
            only when they were not verified within C{cacheTTL}.
        """
        now = self._clock.seconds()
        key = hmac.digest(self._cacheKey,
                          f"{user}\0{password}".encode("utf-8"),
                          hashlib.sha256)
        if self._verified.get(key, 0.0) > now:
            return True
        self._verified.pop(key, None)
        if not self._checkPassword(user, password):
            return False
        if len(self._verified) >= self._maxCached:
            self._verified.clear()
        self._verified[key] = now + self._cacheTTL
        return True

    def _failed(self, host: str, user: str) -> None:
        """
        Record a failed login: log it (never the password), count it, and
        report it to the guard.
        """
        _log.info("web login failed for {user!r} from {host}",
                  user=user, host=host)
        if self.throttle.failed(host):
            _log.warn("web logins from {host} locked out for {seconds} s "
                      "after {failures} failures", host=host,
                      seconds=self.throttle.lockout,
                      failures=self.throttle.maxFailures)
        if self._guard is not None:
            self._guard.authFailed(host, self._clock.seconds(), user)


def _challenge(message: str) -> ApiError:
    """
    @return: a 401 carrying the Basic challenge (RFC 7617 sec. 2).
    """
    return ApiError(401, "unauthorized", message,
                    headers=[(b"www-authenticate", _CHALLENGE)])


class AuthenticatedResource(Resource):
    """
    Lets a request through to C{wrapped} only once the administrator is
    authenticated; answers JSON errors otherwise.
    """

    isLeaf = True

    def __init__(self, wrapped: IResource, authenticator: AdminAuthenticator):
        """
        @param wrapped: a leaf resource (the Klein app's) doing the routing.
        @param authenticator: who decides.
        """
        super().__init__()
        self._wrapped = wrapped
        self._authenticator = authenticator

    def render(self, request: IRequest) -> bytes | int:
        """
        Authenticate, then render C{wrapped}; never lets an exception out.
        """
        try:
            self._authenticator.authenticate(request)
        except ApiError as e:
            return writeError(request, e)
        except Exception:
            _log.failure("authenticating a web request failed")
            return writeError(request, internalError())
        return self._wrapped.render(request)
