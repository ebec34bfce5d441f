# -*- test-case-name: tests.sip.test_parser -*-
"""
Errors that carry the SIP status a peer should be told (h11's error_status_hint).
"""

__all__ = ["ProtocolError", "SIPParseError", "ValidationError", "NotFound",
           "Conflict"]


class ProtocolError(Exception):
    """
    A peer broke the protocol.

    @ivar statusHint: the SIP status code to answer with (400, 420, 481 ...).
    @ivar reason: the reason phrase to send; precise, never a traceback.
    """

    def __init__(self, reason: str, statusHint: int = 400):
        super().__init__(reason)
        self.reason = reason
        self.statusHint = statusHint


class SIPParseError(ProtocolError):
    """
    A message could not be parsed.

    @ivar partial: whatever could be recovered (a L{tpbx.sip.message.Request}
        with at least the headers needed to build a response), or L{None}
        when nothing can be answered and the message must be dropped.
    """

    def __init__(self, reason: str, statusHint: int = 400, partial=None):
        super().__init__(reason, statusHint)
        self.partial = partial


class ValidationError(ValueError):
    """
    A configuration edit was refused.

    @ivar field: the name of the offending field (as the API spells it).
    @ivar message: what is wrong with it, for a human.
    @ivar line: the CSV line number, when the edit came from an import.
    """

    def __init__(self, field: str, message: str, line: int | None = None):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.line = line


class NotFound(LookupError):
    """The object to read, change or delete does not exist."""


class Conflict(ValueError):
    """The object to create exists already."""
