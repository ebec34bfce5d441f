# -*- test-case-name: tests.pbx.test_registrar -*-
"""
The registrar (RFC 3261 sec. 10.3): who may bind which contacts to which
extension, for how long; the bindings themselves live in an
L{ILocationService}.

Policy lives here, storage there (Kamailio's registrar/usrloc split), so
the same rules run over the memory store and whatever persists it.  Every
change is reported three ways: the 200's Contact list (for the phone), a
4101 event (for the log and status pages) and the C{listener} hook (for
persistence and for the engine).  L{NatKeepAlive} keeps UDP NAT bindings
open with OPTIONS pings and drops phones that stopped answering.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from email.utils import formatdate
from typing import Callable

from tpbx.errors import ProtocolError
from tpbx.events import REGISTRATION_CHANGED, Event
from tpbx.interfaces import IDirectory, IEventSink, ILocationService
from tpbx.pbx.auth import DigestAuthenticator
from tpbx.pbx.location import Binding
from tpbx.pbx.netaddr import LAN_NETWORKS, Network, isPrivate, parseNetworks
from tpbx.sip.address import NameAddr, parseContacts, parseNameAddr
from tpbx.sip.message import Request, Response
from tpbx.sip.peer import Peer
from tpbx.sip.reply import makeResponse, newTag
from tpbx.sip.uri import parseURI

__all__ = ["RegistrarPolicy", "RegisterOutcome", "Registrar", "NatKeepAlive"]

_MAX_EXPIRES_DIGITS = 10


@dataclass(frozen=True, slots=True)
class RegistrarPolicy:
    """
    @ivar minExpires: shorter non-zero intervals get 423 (sec. 10.3 step 7).
    @ivar maxExpires: longer intervals are shortened to this.
    @ivar defaultExpires: when neither the contact nor Expires says.
    @ivar maxContactsPerAor: more bindings push out the oldest ones.
    @ivar lanNetworks: where C{lanOnly} extensions may register from (B5).
    @ivar tunnelTransports: transports that count as the LAN (B5: "may be
        used outside only through the tunnel").
    @ivar keepAliveInterval: seconds between OPTIONS pings to a UDP binding
        behind NAT; 25 s stays under the 30 s UDP timeout of the stingiest
        home routers.
    @ivar keepAliveMaxMissed: unanswered pings in a row that drop a binding.
    """

    minExpires: int = 60
    maxExpires: int = 3600
    defaultExpires: int = 3600
    maxContactsPerAor: int = 10
    lanNetworks: tuple[Network, ...] = parseNetworks(LAN_NETWORKS)
    tunnelTransports: frozenset = frozenset({"tunnel"})
    keepAliveInterval: float = 25.0
    keepAliveMaxMissed: int = 3


@dataclass(frozen=True, slots=True)
class RegisterOutcome:
    """
    What one REGISTER did.

    @ivar response: the response to send.
    @ivar added: bindings written (new or refreshed), to persist.
    @ivar removed: bindings removed, to delete.
    """

    response: Response
    added: tuple[Binding, ...] = ()
    removed: tuple[Binding, ...] = ()


class _Ping:
    __slots__ = ("bindings", "nextAt", "missed")

    def __init__(self, binding: Binding, nextAt: float):
        self.bindings = [binding]
        self.nextAt = nextAt
        self.missed = 0


class NatKeepAlive:
    """
    Which bindings need OPTIONS pings, and when (sans-IO).

    A UDP binding is behind NAT when its Contact host and port differ from
    the address the REGISTER came from (a private contact seen from a
    public source is the common case).  Pings are per contact: two
    extensions on one phone share one ping.  The engine sends an OPTIONS
    whose Request-URI is the binding's contact to the binding's peer, then
    reports L{answered} (any response) or L{timedOut}.
    """

    def __init__(self, interval: float = 25.0, maxMissed: int = 3):
        self.interval = interval
        self.maxMissed = maxMissed
        self._pings: dict[str, _Ping] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._sequence = itertools.count()

    @staticmethod
    def behindNat(binding: Binding) -> bool:
        """@return: whether C{binding} is UDP with a translated address."""
        if binding.peer.transport != "udp":
            return False
        try:
            uri = parseURI(binding.contact)
        except ProtocolError:
            return False
        return (uri.host, uri.port or 5060) != (binding.peer.host, binding.peer.port)

    def __len__(self) -> int:
        return len(self._pings)

    def _schedule(self, contact: str, ping: _Ping, at: float) -> None:
        ping.nextAt = at
        heapq.heappush(self._heap, (at, next(self._sequence), contact))

    def track(self, binding: Binding, now: float) -> None:
        """A binding was written: ping it if it is behind NAT."""
        if not self.behindNat(binding):
            self.untrack(binding)
            return
        ping = self._pings.get(binding.contact)
        if ping is None:
            ping = self._pings[binding.contact] = _Ping(binding, 0.0)
            self._schedule(binding.contact, ping, now + self.interval)
        else:
            ping.bindings = [b for b in ping.bindings if b.aor != binding.aor] + [binding]
        ping.missed = 0

    def untrack(self, binding: Binding) -> None:
        """A binding was removed: stop pinging it."""
        ping = self._pings.get(binding.contact)
        if ping is None:
            return
        ping.bindings = [b for b in ping.bindings if b.aor != binding.aor]
        if not ping.bindings:
            del self._pings[binding.contact]

    def due(self, now: float) -> list[Binding]:
        """
        @return: one binding per contact whose ping is due (send OPTIONS
            to it); each is scheduled again C{interval} later.
        """
        result = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            at, _, contact = heapq.heappop(heap)
            ping = self._pings.get(contact)
            if ping is not None and ping.nextAt == at:
                result.append(ping.bindings[0])
                self._schedule(contact, ping, now + self.interval)
        return result

    def nextDue(self) -> float | None:
        """@return: the time of the next ping (maybe of a dropped one)."""
        return self._heap[0][0] if self._heap else None

    def answered(self, contact: str, now: float) -> None:
        """The phone at C{contact} answered a ping."""
        ping = self._pings.get(contact)
        if ping is not None:
            ping.missed = 0

    def timedOut(self, contact: str, now: float) -> list[Binding]:
        """
        A ping to C{contact} got no answer.

        @return: the bindings to drop, once C{maxMissed} pings in a row
            went unanswered; else nothing.
        """
        ping = self._pings.get(contact)
        if ping is None:
            return []
        ping.missed += 1
        if ping.missed < self.maxMissed:
            return []
        del self._pings[contact]
        return ping.bindings


def _parseSeconds(text: str, what: str) -> int:
    text = text.strip()
    if not text.isascii() or not text.isdigit():
        raise ProtocolError(f"Malformed {what}")
    if len(text) > _MAX_EXPIRES_DIGITS:
        return 2 ** 32 - 1
    return min(int(text), 2 ** 32 - 1)


def _parseQ(value: str | None) -> float:
    if value is None:
        return 1.0
    try:
        q = float(value)
    except ValueError:
        raise ProtocolError("Malformed q parameter") from None
    if not 0.0 <= q <= 1.0 or len(value) > 5:
        raise ProtocolError("Malformed q parameter")
    return q


def _contactKey(uri: str) -> tuple:
    """
    What makes two contacts the same binding (sec. 10.3 step 7 uses the
    URI comparison of sec. 19.1.4; these are the parts that matter for
    reaching the phone).
    """
    u = parseURI(uri)
    return (u.scheme, u.user, u.password, u.host, u.port, u.opaque,
            (u.params.get("transport") or "").lower(), u.params.get("maddr"))


def _contactValue(binding: Binding, now: float) -> str:
    value = f"<{binding.contact}>;expires={binding.remaining(now)}"
    if binding.q != 1.0:
        value += f";q={binding.q:g}"
    if binding.instanceId is not None:
        value += f";+sip.instance={binding.instanceId}"
    if binding.regId is not None:
        value += f";reg-id={binding.regId}"
    return value


class Registrar:
    """
    Handles REGISTER requests (RFC 3261 sec. 10.3) for the extensions of
    the directory.

    @ivar keepAlive: the L{NatKeepAlive} of the UDP bindings behind NAT.
    """

    def __init__(self, location: ILocationService, authenticator: DigestAuthenticator,
                 directory: IDirectory, events: IEventSink,
                 policy: RegistrarPolicy = RegistrarPolicy(),
                 listener: Callable[[tuple, tuple], None] | None = None):
        """
        @param listener: called with C{(added, removed)} binding tuples
            after every change (REGISTER, expiry, unreachable phone): the
            persistence hook.
        """
        self._location = location
        self._auth = authenticator
        self._directory = directory
        self._events = events
        self.policy = policy
        self._listener = listener
        self.keepAlive = NatKeepAlive(policy.keepAliveInterval, policy.keepAliveMaxMissed)

    def handleRegister(self, request: Request, peer: Peer, now: float) -> Response:
        """@return: the response to a REGISTER (see L{process})."""
        return self.process(request, peer, now).response

    def process(self, request: Request, peer: Peer, now: float) -> RegisterOutcome:
        """
        Authenticate, check and apply a REGISTER (sec. 10.3 steps 1-8).

        @return: the L{RegisterOutcome}; never raises for bad input.
        """
        try:
            return self._process(request, peer, now)
        except ProtocolError as e:
            headers = []
            if e.statusHint == 423:
                headers.append(("Min-Expires", str(self.policy.minExpires)))
            return RegisterOutcome(self._reply(request, e.statusHint, e.reason, headers))

    def _reply(self, request: Request, status: int, reason: str | None = None,
               headers=()) -> Response:
        return makeResponse(request, status, reason, toTag=newTag(), headers=headers)

    def _process(self, request: Request, peer: Peer, now: float) -> RegisterOutcome:
        auth = self._auth.authenticate(request, peer, now)
        if not auth.ok:
            return RegisterOutcome(auth.response)
        refusal = self._refuse(request, peer, auth.extension)
        if refusal is not None:
            return RegisterOutcome(self._reply(request, *refusal))
        aor = auth.extension.number
        contacts = parseContacts(request.headers.getAll("Contact"))
        expires = request.headers.get("Expires")
        expires = None if expires is None else _parseSeconds(expires, "Expires")
        live = self._location.lookup(aor, now)
        if contacts == "*":
            if expires != 0:
                raise ProtocolError("Contact '*' needs Expires: 0")
            added, removed = [], self._checkOrder(request, live)
        else:
            added, removed = self._plan(aor, contacts, expires, request, peer, now, live)
        self._apply(aor, added, removed, now)
        headers = [("Contact", _contactValue(b, now)) for b in self._location.lookup(aor, now)]
        headers.append(("Date", formatdate(now, usegmt=True)))
        return RegisterOutcome(self._reply(request, 200, headers=headers),
                               tuple(added), tuple(removed))

    def _refuse(self, request: Request, peer: Peer, extension):
        """
        Checks that need the authenticated extension (so a scanner learns
        nothing): the To AOR exists (sec. 10.3 step 3: 404), belongs to the
        credentials (403), and a C{lanOnly} extension is on the LAN (B5).

        @return: C{(status, reason)} to refuse, or L{None}.
        """
        to = request.headers.get("To")
        if to is None:
            raise ProtocolError("Missing To")
        uri = parseURI(parseNameAddr(to).uri)
        target = self._directory.extensionByNumber(uri.user) if uri.user else None
        if target is None:
            return 404, None
        if target.number != extension.number:
            return 403, "Not allowed to register this address"
        if extension.lanOnly and not self._fromLan(peer):
            return 403, "Registration from outside the LAN not allowed"
        return None

    def _fromLan(self, peer: Peer) -> bool:
        return (peer.transport in self.policy.tunnelTransports
                or isPrivate(peer.host, self.policy.lanNetworks))

    @staticmethod
    def _checkOrder(request: Request, bindings: list[Binding]) -> list[Binding]:
        """
        Sec. 10.3 step 6-7: a binding made with this Call-ID and a CSeq at
        least as high makes the request fail (it is out of order).

        @return: C{bindings}, when none does.
        """
        callId, (cseq, _) = request.callId, request.cseq
        for binding in bindings:
            if binding.callId == callId and cseq <= binding.cseq:
                raise ProtocolError("Invalid CSeq number")
        return list(bindings)

    def _expiresOf(self, contact: NameAddr, expires: int | None) -> int:
        """
        Sec. 10.3 step 7: the contact's expires parameter, else the Expires
        header, else the default; 423 below the minimum; capped above.
        """
        param = contact.params.get("expires")
        if param is not None:
            expires = _parseSeconds(param, "expires parameter")
        if expires is None:
            expires = self.policy.defaultExpires
        if 0 < expires < self.policy.minExpires:
            raise ProtocolError("Interval Too Brief", 423)
        return min(expires, self.policy.maxExpires)

    def _plan(self, aor: str, contacts: list[NameAddr], expires: int | None,
              request: Request, peer: Peer, now: float,
              live: list[Binding]) -> tuple[list[Binding], list[Binding]]:
        """
        Work out every change before making any (the update is atomic,
        sec. 10.3 step 7).

        @return: C{(added, removed)} binding lists.
        """
        callId, (cseq, _) = request.callId, request.cseq
        byKey = {_contactKey(b.contact): b for b in live}
        added, removed = [], []
        for contact in contacts:
            seconds = self._expiresOf(contact, expires)
            match = byKey.pop(_contactKey(contact.uri), None)
            if match is not None:
                self._checkOrder(request, [match])
                if seconds == 0 or match.contact != contact.uri:
                    removed.append(match)
            if seconds:
                added.append(self._binding(aor, contact, now + seconds, callId,
                                           cseq, request, peer, now))
        room = self.policy.maxContactsPerAor - len(added)
        if room < 0:
            raise ProtocolError("Too many contacts", 403)
        kept = sorted(byKey.values(), key=lambda b: b.registeredAt)
        removed.extend(kept[:max(0, len(kept) - room)])
        return added, removed

    @staticmethod
    def _binding(aor: str, contact: NameAddr, expiresAt: float, callId: str,
                 cseq: int, request: Request, peer: Peer, now: float) -> Binding:
        regId = contact.params.get("reg-id")
        return Binding(
            aor, contact.uri, expiresAt, _parseQ(contact.params.get("q")), callId,
            cseq, peer, request.headers.get("User-Agent") or "",
            contact.params.get("+sip.instance"),
            int(regId) if regId is not None and regId.isdigit() else None,
            tuple(request.headers.getList("Path")), now)

    def _apply(self, aor: str, added: list[Binding], removed: list[Binding],
               now: float) -> None:
        for binding in removed:
            self._location.remove(aor, binding.contact)
            self.keepAlive.untrack(binding)
            self._emit(binding, "unregistered")
        for binding in added:
            previous = self._location.register(aor, binding, now)
            self.keepAlive.track(binding, now)
            if (previous is None or previous.expiresAt <= now
                    or previous.peer != binding.peer):
                self._emit(binding, "registered")
        self._notify(added, removed)

    def _notify(self, added, removed) -> None:
        if self._listener is not None and (added or removed):
            self._listener(tuple(added), tuple(removed))

    def _emit(self, binding: Binding, action: str) -> None:
        peer = binding.peer
        self._events.emit(Event(
            REGISTRATION_CHANGED,
            f"Extension {binding.aor} {action} ({binding.contact} from {peer.hostport()})",
            {"extension": binding.aor, "contact": binding.contact,
             "source": peer.hostport(), "transport": peer.transport,
             "userAgent": binding.userAgent, "action": action}))

    def _drop(self, bindings, action: str) -> list[Binding]:
        for binding in bindings:
            self.keepAlive.untrack(binding)
            self._emit(binding, action)
        self._notify((), bindings)
        return list(bindings)

    def expire(self, now: float) -> list[Binding]:
        """
        Drop expired bindings (call it every few seconds).

        @return: what was dropped.
        """
        return self._drop(self._location.expire(now), "expired")

    def keepAliveDue(self, now: float) -> list[Binding]:
        """@return: bindings to send an OPTIONS ping to now."""
        return self.keepAlive.due(now)

    def keepAliveAnswered(self, transaction, response, now: float) -> None:
        """A response to C{transaction}'s OPTIONS ping arrived."""
        if transaction.request.method == "OPTIONS":
            self.keepAlive.answered(transaction.request.uri, now)

    def keepAliveTimedOut(self, transaction, now: float) -> list[Binding]:
        """
        C{transaction}'s OPTIONS ping got no answer; after too many, the
        phone is unreachable and its bindings go (event action
        C{"unreachable"}).

        @return: the dropped bindings.
        """
        if transaction.request.method != "OPTIONS":
            return []
        dropped = [b for b in self.keepAlive.timedOut(transaction.request.uri, now)
                   if self._location.remove(b.aor, b.contact) is not None]
        return self._drop(dropped, "unreachable")
