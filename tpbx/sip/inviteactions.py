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
from types import MappingProxyType
from typing import Iterable, Mapping, NamedTuple

from tpbx.sip.headers import Headers
from tpbx.sip.message import Message, Request, Response
from tpbx.sip.states import StateEnum

__all__ = ["InviteState", "Role", "SendRequest", "SendResponse", "SendAck",
           "LastAck", "Event", "EARLY_STATES", "LIVE_STATES", "HeaderLines", "confirmedInvite",
           "EMPTY", "filed", "unfiled"]

HeaderLines = Iterable[tuple[str, str]]
"""Extra C{(name, value)} header lines a caller adds to a message."""


class InviteState(StateEnum):
    """The states of pjsip's INVITE session (C{pjsip_inv_state})."""

    NULL = "null"
    CALLING = "calling"
    INCOMING = "incoming"
    EARLY = "early"
    CONNECTING = "connecting"
    CONFIRMED = "confirmed"
    DISCONNECTED = "disconnected"


class Role(StateEnum):
    UAC = "uac"
    UAS = "uas"


EARLY_STATES = (InviteState.INCOMING, InviteState.EARLY, InviteState.CALLING)
"""Before the first 2xx: CANCEL, not BYE, ends the leg (sec. 9, 15)."""

LIVE_STATES = (InviteState.EARLY, InviteState.CONNECTING,
               InviteState.CONFIRMED)
"""A dialog exists that in-dialog requests may go in (sec. 12.2.1)."""


# Actions and events are made per message and read once: slotted, not
# frozen (see L{tpbx.sip.transaction.SendMessage}).
@dataclass(slots=True)
class SendRequest:
    """Start a client transaction for C{request} (engine.sendRequest)."""

    request: Request


@dataclass(slots=True)
class SendResponse:
    """
    Send C{response} in server transaction C{transaction}; a transaction
    of L{None} means a 2xx retransmission, sent statelessly to the peer
    the INVITE came from (sec. 13.3.1.4).
    """

    transaction: object
    response: Response


@dataclass(slots=True)
class SendAck:
    """Send the ACK for a 2xx outside any transaction (sec. 13.2.2.4)."""

    ack: Request


class LastAck(NamedTuple):
    """
    What re-makes the ACK for the latest 2xx to one of our INVITEs, kept
    while that 2xx may still be retransmitted (sec. 13.2.2.4).
    """

    number: int                 # the INVITE's CSeq number
    via: str                    # the first ACK's top Via (its branch)
    body: bytes                 # an answer sent in the ACK, or empty
    contentType: str | None
    until: float                # when the 2xx's retransmissions stop


@dataclass(slots=True)
class Event:
    """Something the call model must hear of; see L{tpbx.sip.invite}."""

    kind: str
    message: Message | None = None
    reason: str | None = None


# What a confirmed session still reads from its initial INVITE: its
# Call-ID and CSeq and, at the UAC, what makes the dialog, ACK and BYE of a
# late fork's 2xx (sec. 12.1.2, 13.2.2.4: From, Contact, and the INVITE's
# credentials in the ACK).  The dialog has the rest.
_KEPT_UAS = frozenset({"Call-ID", "CSeq"})
_KEPT_UAC = _KEPT_UAS | {"From", "Contact", "Authorization", "Proxy-Authorization"}


def confirmedInvite(invite: Request, role: Role) -> Request:
    """
    The initial INVITE as a confirmed session keeps it: a held call lasts
    for hours, and the rest of its headers (Via, Allow, User-Agent, the
    session-timer and the caller's credentials at the UAS ...) are never
    read again.

    @return: a copy of C{invite} with only the headers a confirmed
        L{tpbx.sip.invite.InviteSession} of C{role} reads; its body kept.
    """
    kept = _KEPT_UAC if role is Role.UAC else _KEPT_UAS
    headers = Headers.canonical([field for field in invite.headers if field[0] in kept])
    return Request(invite.method, invite.uri, headers, invite.body, invite.version)


#: The table a session's (and a call's) rarely used dicts hold while
#: empty -- which is always, for a held call -- instead of one empty dict
#: each.  It is read-only: add with L{filed}, remove with L{unfiled}.
EMPTY: Mapping = MappingProxyType({})


def filed(table: Mapping, key, value) -> dict:
    """@return: C{table} with C{key} -> C{value}: a new dict for L{EMPTY}."""
    if table is EMPTY:
        return {key: value}
    table[key] = value
    return table


def unfiled(table: Mapping, key) -> tuple:
    """
    @return: C{(value, table)}: the value C{key} had (L{None} for none)
        and C{table} without it -- L{EMPTY} once nothing is left, so the
        emptied dict is freed.
    """
    if key not in table:
        return None, table
    value = table.pop(key)
    return value, (table or EMPTY)
