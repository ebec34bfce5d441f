# -*- test-case-name: tests.store.test_repositories -*-
"""
Plain records shared by the store, the PBX core and the web API.

They are frozen so a snapshot handed to the SIP path can never be changed
behind its back; edits go through L{tpbx.interfaces.IConfigStore}.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

__all__ = ["Extension", "AccessEntry", "RingGroup", "ForwardingRule", "CallDetail",
           "PARK_SLOTS_DEFAULT", "PARK_TIMEOUT_DEFAULT", "parseMulticastGroup"]

#: The park slots and seconds a parked call waits (SPEC E6) until the
#: C{parkSlots} and C{parkTimeout} settings say otherwise: what the store
#: shows as the settings' values and what the parking lot falls back on.
PARK_SLOTS_DEFAULT = "701-709"
PARK_TIMEOUT_DEFAULT = 120


@dataclass(frozen=True, slots=True)
class Extension:
    """
    An extension (SPEC B1, B5).

    @ivar number: the extension number, digits only.
    @ivar authId: the SIP authentication ID (defaults to the number).
    @ivar password: the SIP digest password.
    @ivar pin: voicemail / portal PIN (digits).
    @ivar lanOnly: refuse registration from non-private addresses (B5).
    @ivar status: presence status, picks the forwarding rules (B3):
        C{available}, C{away}, C{out-of-office}, C{dnd} or a custom name.
    @ivar callWaiting: whether a second call may ring while on a call.
    @ivar recordCalls: record every call of this extension (E5).
    @ivar directMedia: let RTP flow phone to phone (LAN phones, E1).
    """

    number: str
    firstName: str = ""
    lastName: str = ""
    email: str = ""
    authId: str = ""
    password: str = ""
    pin: str = ""
    lanOnly: bool = False
    status: str = "available"
    callWaiting: bool = True
    recordCalls: bool = False
    directMedia: bool = False

    @property
    def displayName(self) -> str:
        return f"{self.firstName} {self.lastName}".strip()


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """
    A blacklist or whitelist entry (SPEC I3).

    @ivar network: an address or CIDR network, as text.
    @ivar until: epoch seconds the entry ends at, or L{None} for permanent.
    @ivar reason: why it was added (shown in the console).
    """

    network: str
    until: float | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RingGroup:
    """
    A ring group (SPEC E3): a virtual number that rings its members.

    @ivar strategy: C{"hunt"} (members in order, C{ringTime} each),
        C{"ringall"} (all at once) or C{"paging"} (all at once, auto-answer,
        one-way).
    @ivar ringTime: seconds (per member when hunting).
    @ivar members: extension numbers, in order.
    @ivar noAnswer: where the call goes when nobody answers, as a
        destination spec (see L{ForwardingRule.action}): C{"end"},
        C{"extension:101"}, C{"external:0612345678"}, C{"voicemail:100"}.
    @ivar multicast: for strategy C{"paging"} (SPEC E4), the multicast
        group and UDP port the page's audio is sent to instead of ringing
        the members, written C{239.255.0.1:5004} (IPv4, 224.0.0.0/4) or
        C{[ff05::1]:5004} (IPv6, ff00::/8); empty for ordinary paging (the
        members are rung with auto-answer).  See L{parseMulticastGroup}.
    """

    number: str
    name: str = ""
    strategy: str = "ringall"
    ringTime: int = 20
    members: tuple[str, ...] = ()
    noAnswer: str = "end"
    multicast: str = ""

    def asJSON(self) -> dict:
        """@return: the group as the API and C{tpbx-admin --json} show it."""
        return {"number": self.number, "name": self.name,
                "strategy": self.strategy, "ringTime": self.ringTime,
                "members": list(self.members), "noAnswer": self.noAnswer,
                "multicast": self.multicast}

    def multicastGroup(self) -> tuple[str, int] | None:
        """
        @return: the C{(address, port)} of L{multicast}, or L{None} when it
            is empty.  The store has validated it, so this never raises
            for a group read from the store.
        """
        return parseMulticastGroup(self.multicast) if self.multicast else None


#: The UDP ports a multicast page may use: unprivileged, and below 65535 so
#: RTCP has port + 1 (RFC 3550 section 11).
_MULTICAST_PORTS = range(1024, 65535)
_MULTICAST_SYNTAX = "must be ADDRESS:PORT, e.g. 239.255.0.1:5004 or [ff05::1]:5004"


def parseMulticastGroup(text: str) -> tuple[str, int]:
    """
    Parse a ring group's L{RingGroup.multicast} value.

    @param text: C{239.255.0.1:5004} or C{[ff05::1]:5004}.
    @return: the address (normalised, as L{ipaddress} writes it) and port.
    @raise ValueError: with a short English message when the text does not
        parse, the address is not multicast (224.0.0.0/4, ff00::/8), or
        the port is not an even whole number from 1024 to 65534 (RTP takes
        the even port and RTCP the next one, RFC 3550 section 11).
    """
    host, colon, port = text.rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]")
    if not colon or not port:
        raise ValueError(_MULTICAST_SYNTAX)
    try:
        address = ipaddress.ip_address(host[1:-1] if bracketed else host)
    except ValueError:
        raise ValueError(f"{host or 'the address'} is not an IP address; "
                         + _MULTICAST_SYNTAX) from None
    if bracketed != (address.version == 6):
        raise ValueError("write an IPv6 address in brackets and an IPv4 "
                         "one without: [ff05::1]:5004, 239.255.0.1:5004")
    if not address.is_multicast:
        raise ValueError(f"{address} is not a multicast address "
                         "(224.0.0.0/4 or ff00::/8)")
    if not (port.isascii() and port.isdigit()) \
            or int(port) not in _MULTICAST_PORTS:
        raise ValueError("the port must be a whole number from 1024 to "
                         "65534")
    if int(port) % 2:
        raise ValueError("the port must be even (RTP uses it and RTCP the "
                         "next one, RFC 3550 section 11)")
    return str(address), int(port)


@dataclass(frozen=True, slots=True)
class ForwardingRule:
    """
    One forwarding rule of an extension (SPEC B3).

    @ivar status: the presence status it applies in: C{"available"},
        C{"away"}, C{"out-of-office"}, C{"dnd"}, or a custom name.
    @ivar hours: C{"office"}, C{"outside"} or C{"any"} (D7 schedule).
    @ivar caller: C{"internal"}, C{"external"} or C{"any"}.
    @ivar condition: C{"no-answer"}, C{"busy"} or C{"not-registered"}.
    @ivar delay: seconds of ringing before a no-answer rule applies.
    @ivar action: a destination spec: C{"voicemail"}, C{"end"},
        C{"extension:101"}, C{"external:0612345678"}.
    """

    extension: str
    condition: str
    action: str
    status: str = "available"
    hours: str = "any"
    caller: str = "any"
    delay: int = 20

    def asJSON(self, ruleId: int) -> dict:
        """@return: the rule, with its store id, as the API and
        C{tpbx-admin --json} show it."""
        return {"id": ruleId, "condition": self.condition,
                "action": self.action, "status": self.status,
                "hours": self.hours, "caller": self.caller, "delay": self.delay}


@dataclass(frozen=True, slots=True)
class CallDetail:
    """
    One call detail record (SPEC E7): one per call (C{leg} empty) and one
    per callee leg.

    @ivar disposition: C{answered}, C{busy}, C{no-answer}, C{failed},
        C{cancelled}.
    @ivar hangupSide: C{caller}, C{callee} or C{pbx}.
    """

    callId: str
    caller: str
    callee: str
    dialled: str
    start: float
    answer: float | None
    end: float
    disposition: str
    hangupSide: str = ""
    codec: str = ""
    leg: str = ""

    @property
    def duration(self) -> float:
        """Seconds talked (0 when unanswered)."""
        return 0.0 if self.answer is None else max(0.0, self.end - self.answer)
