# -*- test-case-name: tests.sip.test_invite -*-
"""
The vocabulary of the INVITE session (L{tpbx.sip.invite}): its states
and roles, and the small frozen actions and events its methods return.

It is a module of its own because the session is written in three
modules -- L{tpbx.sip.invite} (set-up, what the TU may do, ending,
timers), L{tpbx.sip.inviteclient} (responses to requests we sent) and
L{tpbx.sip.inviteserver} (requests the peer sends) -- that all speak it
without importing each other.  Callers keep importing these names from
L{tpbx.sip.invite}, which re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Iterable

from tpbx.sip.message import Message, Request, Response

__all__ = ["InviteState", "Role", "SendRequest", "SendResponse", "SendAck",
           "Event", "EARLY_STATES", "LIVE_STATES", "HeaderLines"]

HeaderLines = Iterable[tuple[str, str]]
"""Extra C{(name, value)} header lines a caller adds to a message."""


class InviteState(Enum):
    """The states of pjsip's INVITE session (C{pjsip_inv_state})."""

    NULL = "null"
    CALLING = "calling"
    INCOMING = "incoming"
    EARLY = "early"
    CONNECTING = "connecting"
    CONFIRMED = "confirmed"
    DISCONNECTED = "disconnected"


class Role(Enum):
    UAC = "uac"
    UAS = "uas"


EARLY_STATES = (InviteState.INCOMING, InviteState.EARLY, InviteState.CALLING)
"""Before the first 2xx: CANCEL, not BYE, ends the leg (sec. 9, 15)."""

LIVE_STATES = (InviteState.EARLY, InviteState.CONNECTING,
               InviteState.CONFIRMED)
"""A dialog exists that in-dialog requests may go in (sec. 12.2.1)."""


@dataclass(frozen=True, slots=True)
class SendRequest:
    """Start a client transaction for C{request} (engine.sendRequest)."""

    request: Request


@dataclass(frozen=True, slots=True)
class SendResponse:
    """
    Send C{response} in server transaction C{transaction}; a transaction
    of L{None} means a 2xx retransmission, sent statelessly to the peer
    the INVITE came from (sec. 13.3.1.4).
    """

    transaction: object
    response: Response


@dataclass(frozen=True, slots=True)
class SendAck:
    """Send the ACK for a 2xx outside any transaction (sec. 13.2.2.4)."""

    ack: Request


@dataclass(frozen=True, slots=True)
class Event:
    """Something the call model must hear of; see L{tpbx.sip.invite}."""

    kind: str
    message: Message | None = None
    reason: str | None = None
