# -*- test-case-name: tests.sip.test_sessiontimer -*-
"""
Session timers (RFC 4028), sans-IO.

A B2BUA relaying media must not keep a call up forever when one phone
vanishes without a BYE.  RFC 4028 makes the session expire unless one
side (the refresher) re-INVITEs or UPDATEs it every half interval; the
other side hangs up when the refresh does not come.  This module holds
the negotiation (what a UAS answers to a request's Session-Expires and
Min-SE, what a UAC learns from the 2xx, the 422 dance) and the timing
object L{SessionTimer} that says when to refresh and when to give up.
The INVITE session (L{tpbx.sip.invite}) drives both.
"""

from __future__ import annotations

from dataclasses import dataclass

from tpbx.errors import ProtocolError
from tpbx.sip.message import Message, Request, Response

__all__ = ["SessionTimerPolicy", "Negotiated", "TooSmall", "SessionTimer",
           "parseSessionExpires", "parseMinSE", "supportsTimer",
           "MIN_SE_FLOOR"]

# RFC 4028 sec. 4: Min-SE may never be below 90 seconds.
MIN_SE_FLOOR = 90
_REFRESHERS = ("uac", "uas")


def _deltaSeconds(text: str, what: str) -> int:
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        raise ProtocolError(f"Malformed {what}")
    return int(text)


def parseSessionExpires(message: Message) -> tuple[int, str | None] | None:
    """
    Read Session-Expires (RFC 4028 sec. 4): C{delta-seconds
    [;refresher=uac|uas]}.

    @return: C{(interval, refresher)} (refresher L{None} when absent), or
        L{None} without the header.
    @raise ProtocolError: (400) when malformed.
    """
    value = message.headers.get("Session-Expires")
    if value is None:
        return None
    delta, *params = value.split(";")
    interval = _deltaSeconds(delta, "Session-Expires")
    if interval < 1:
        raise ProtocolError("Malformed Session-Expires")
    refresher = None
    for param in params:
        name, _, arg = param.partition("=")
        if name.strip().lower() == "refresher":
            refresher = arg.strip().lower()
            if refresher not in _REFRESHERS:
                raise ProtocolError("Malformed Session-Expires refresher")
    return interval, refresher


def parseMinSE(message: Message) -> int | None:
    """
    @return: the Min-SE value (RFC 4028 sec. 5), or L{None}.
    @raise ProtocolError: (400) when malformed.
    """
    value = message.headers.get("Min-SE")
    if value is None:
        return None
    return _deltaSeconds(value.split(";")[0], "Min-SE")


def supportsTimer(message: Message) -> bool:
    """@return: whether Supported or Require lists the C{timer} tag."""
    tags = message.headers.getList("Supported") + message.headers.getList("Require")
    return any(tag.lower() == "timer" for tag in tags)


@dataclass(frozen=True, slots=True)
class Negotiated:
    """
    The session interval agreed for one refresh transaction.

    @ivar interval: seconds.
    @ivar refresher: C{"uac"} or C{"uas"}, relative to that transaction.
    @ivar required: whether the 2xx carries C{Require: timer} (the UAC
        supports the extension, RFC 4028 sec. 9).
    """

    interval: int
    refresher: str
    required: bool = True

    def responseHeaders(self) -> list[tuple[str, str]]:
        """@return: the header lines a UAS puts in its 2xx (sec. 9)."""
        headers = [("Session-Expires", f"{self.interval};refresher={self.refresher}")]
        if self.required:
            headers.append(("Require", "timer"))
        return headers

    def weRefresh(self, weAreUAC: bool) -> bool:
        """@return: whether we refresh, being the UAC of the transaction or not."""
        return (self.refresher == "uac") == weAreUAC


@dataclass(frozen=True, slots=True)
class TooSmall:
    """
    A request whose Session-Expires is below our Min-SE: answer 422 with
    C{Min-SE: minSE} (RFC 4028 sec. 9).
    """

    minSE: int
    status: int = 422

    def responseHeaders(self) -> list[tuple[str, str]]:
        """@return: the header lines of the 422."""
        return [("Min-SE", str(self.minSE))]


@dataclass(frozen=True, slots=True)
class SessionTimerPolicy:
    """
    Our session-timer settings.

    @ivar sessionExpires: the interval we ask for, seconds.
    @ivar minSE: the smallest interval we accept (at least 90).
    @ivar refresher: who refreshes when a UAS may choose (C{"uac"} or
        C{"uas"}; RFC 4028 sec. 9 lets the UAS decide).
    @ivar refreshAlone: whether a UAC whose peer does not support the
        extension runs the timer alone, as refresher (sec. 7.2).
    """

    sessionExpires: int = 1800
    minSE: int = MIN_SE_FLOOR
    refresher: str = "uac"
    refreshAlone: bool = True

    def __post_init__(self):
        if self.minSE < MIN_SE_FLOOR or self.sessionExpires < self.minSE:
            raise ValueError("need 90 <= minSE <= sessionExpires")
        if self.refresher not in _REFRESHERS:
            raise ValueError("refresher must be 'uac' or 'uas'")

    def requestHeaders(self, interval: int | None = None,
                       refresher: str | None = None,
                       minSE: int | None = None) -> list[tuple[str, str]]:
        """
        The header lines of a session-refresh request (RFC 4028 sec. 7.1,
        7.4): Supported, Session-Expires and Min-SE.

        @param interval: the current interval (a refresh keeps it); ours
            by default.
        @param refresher: asked for in the request; none by default (the
            UAS chooses).
        @param minSE: a raised Min-SE learnt from a 422.
        """
        expires = str(interval or self.sessionExpires)
        if refresher is not None:
            expires += f";refresher={refresher}"
        return [("Supported", "timer"), ("Session-Expires", expires),
                ("Min-SE", str(max(minSE or 0, self.minSE)))]

    def uasNegotiate(self, request: Request) -> Negotiated | TooSmall:
        """
        What a UAS answers to a session-refresh request (RFC 4028 sec. 9).

        A request asking for less than our Min-SE gets L{TooSmall} when
        the UAC supports timers; otherwise we raise it to our Min-SE
        (errata 1687: rejecting a UAC that does not know the extension
        would only fail the call).  We may lower the interval to ours but
        never below the request's Min-SE.  Without a UAC that supports
        the extension, we are the refresher.

        @raise ProtocolError: (400) on a malformed Session-Expires/Min-SE.
        """
        asked = parseSessionExpires(request)
        floor = max(self.minSE, parseMinSE(request) or 0)
        supported = supportsTimer(request)
        if asked is None:
            interval, refresher = max(self.sessionExpires, floor), None
        else:
            interval, refresher = asked
            if interval < self.minSE and supported:
                return TooSmall(self.minSE)
            interval = max(min(interval, self.sessionExpires), floor)
        if not supported:
            refresher = "uas"
        return Negotiated(interval, refresher or self.refresher, supported)

    def uacNegotiate(self, response: Response) -> Negotiated | None:
        """
        What a UAC learns from the 2xx to its session-refresh request
        (RFC 4028 sec. 7.2): the interval and refresher of its
        Session-Expires, the UAC refreshing when the parameter is
        missing.  Without Session-Expires the UAS does not support the
        extension: we refresh alone at our own interval if
        C{refreshAlone}, else there is no timer.

        @return: the L{Negotiated} result, or L{None} for no timer.
        @raise ProtocolError: (400) on a malformed Session-Expires.
        """
        got = parseSessionExpires(response)
        if got is None:
            if not self.refreshAlone:
                return None
            return Negotiated(self.sessionExpires, "uac", False)
        interval, refresher = got
        return Negotiated(interval, refresher or "uac")

    def after422(self, response: Response) -> int:
        """
        A 422 named the Min-SE the other side needs (RFC 4028 sec. 7.3).

        @return: the interval (and Min-SE) to retry the request with.
        @raise ProtocolError: (400) when it has no Min-SE.
        """
        minSE = parseMinSE(response)
        if minSE is None:
            raise ProtocolError("422 without Min-SE")
        return max(minSE, self.minSE)


class SessionTimer:
    """
    The running timer of one session (RFC 4028 sec. 10), sans-IO.

    When we are the refresher a refresh is due at half the interval;
    either way the session expires, without a refresh, at the interval
    minus min(32, interval/3) seconds, and whoever holds the timer then
    sends a BYE.

    @ivar interval: the session interval, seconds.
    @ivar weRefresh: whether we are the refresher.
    @ivar refreshAt: when to refresh, or L{None} (not ours, or done).
    @ivar expiresAt: when the session lapses.
    """

    __slots__ = ("interval", "weRefresh", "refreshAt", "expiresAt")

    def __init__(self, interval: int, weRefresh: bool, now: float):
        self.refreshed(interval, weRefresh, now)

    def refreshed(self, interval: int, weRefresh: bool, now: float) -> None:
        """A refresh transaction succeeded at C{now}: start over."""
        self.interval = interval
        self.weRefresh = weRefresh
        self.refreshAt = now + interval / 2 if weRefresh else None
        self.expiresAt = now + interval - min(32, interval / 3)

    def nextDeadline(self) -> float:
        """@return: when L{due} must next be asked."""
        if self.refreshAt is not None:
            return min(self.refreshAt, self.expiresAt)
        return self.expiresAt

    def due(self, now: float) -> str | None:
        """
        @return: C{"expired"} (send BYE), C{"refresh"} (send a re-INVITE
            or UPDATE; said once per interval) or L{None}.
        """
        if now >= self.expiresAt:
            return "expired"
        if self.refreshAt is not None and now >= self.refreshAt:
            self.refreshAt = None
            return "refresh"
        return None
