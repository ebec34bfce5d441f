# -*- test-case-name: tests.sip.test_offeranswer_stamp -*-
"""
One leg's SDP origin (C{o=}) as the PBX keeps it between offers and
answers (RFC 3264 sec. 8, RFC 8866 sec. 5.2): a constant session id, a
version raised for every changed description, and what the last
description sent said (its body, its telephone-event type).

Why apart from L{tpbx.sip.offeranswer}: that module decides what an
offer or answer says; this one is per-leg state a held call keeps for
hours, so it stays small and holds no parsed description.
"""

from __future__ import annotations

from tpbx.sip.reply import randomBytes
from tpbx.sip.sdp import Origin, SessionDescription, addressType, joinLines, parseSDP

__all__ = ["LocalSession"]


class LocalSession:
    """
    One leg's C{o=} line: a constant session id, and a version raised by
    one for every changed description sent on the leg, kept for an
    unchanged one (RFC 3264 sec. 8, RFC 8866 sec. 5.2).

    A held call keeps one of these per leg: it holds the last body sent and
    an int, not the description.

    @ivar sessionId: the C{sess-id}.
    @ivar version: the version of the last description stamped.
    @ivar lastBody: the last description stamped, as sent, or L{None}.
    """

    __slots__ = ("address", "username", "sessionId", "version", "lastBody",
                 "_eventType")

    def __init__(self, address: str, username: str = "tpbx",
                 sessionId: str | None = None):
        """
        @param address: the PBX address written in C{o=}.
        @param username: the C{o=} username.
        @param sessionId: the session id; random when L{None}.
        """
        self.address = address
        self.username = username
        # Unique, not secret (RFC 8866 sec. 5.2): from the identifiers' pool.
        self.sessionId = sessionId or str((int.from_bytes(randomBytes(4), "big") >> 1) + 1)
        self.version = 1
        self.lastBody: bytes | None = None
        self._eventType: int | None = None

    def _origin(self) -> Origin:
        return Origin(self.username, self.sessionId, self.version, "IN",
                      addressType(self.address), self.address)

    def stampBody(self, sdp: SessionDescription) -> bytes:
        """
        Stamp C{sdp} without copying it: what L{stamp} does, for a caller
        that only sends the body.

        @param sdp: a description about to be sent on this leg (left
            alone).
        @return: its body with this leg's C{o=} line (L{lastBody}).
        """
        lines: list[str] = []
        sdp.writeLines(lines)
        # The body is compared with the last one under the current version:
        # the same body keeps it, another one is rewritten with version + 1.
        lines[1] = f"o={self._origin()}"
        body = joinLines(lines)
        if self.lastBody is not None and body != self.lastBody:
            self.version += 1
            lines[1] = f"o={self._origin()}"
            body = joinLines(lines)
        self.lastBody = body
        self._eventType = sdp.eventType()
        return body

    def stamp(self, sdp: SessionDescription) -> SessionDescription:
        """
        @param sdp: a description about to be sent on this leg.
        @return: a copy with this leg's C{o=} line (see L{stampBody}).
        """
        self.stampBody(sdp)
        result = sdp.copy()
        result.origin = self._origin()
        return result

    @property
    def last(self) -> SessionDescription | None:
        """The last description stamped (a fresh copy), or L{None}."""
        return None if self.lastBody is None else parseSDP(self.lastBody)

    @property
    def lastEventType(self) -> int | None:
        """
        The payload type of telephone-event at 8000 Hz (RFC 4733 sec.
        7.1.1) in the first live audio stream of the last description
        stamped (L{SessionDescription.eventType}), or L{None}; what
        C{last.eventType()} gives, without parsing L{lastBody}.
        """
        return self._eventType
