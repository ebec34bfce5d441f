# -*- test-case-name: tests.sip.test_dialog -*-
"""
SIP dialogs (RFC 3261 sec. 12), sans-IO.

A dialog is the peer-to-peer state two user agents keep between an INVITE
and its BYE: the tags and Call-ID that name it, the CSeq counters that
order its requests, and the remote target and route set that say where
its requests go.  In the pjsip shape (STYLE.md sec. 6) the dialog only
builds and checks requests; the usages it hosts (the INVITE session of
L{tpbx.sip.invite}, later subscriptions) decide what to send.

Everything here is synchronous and reads no clock.  Via headers are the
caller's business (a dialog does not know the transport a request leaves
by): the request builders take a Via value and give it a fresh branch.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from typing import Iterable, Iterator

from tpbx.errors import ProtocolError
from tpbx.sip.address import parseContacts, parseNameAddr
from tpbx.sip.headers import Headers
from tpbx.sip.message import Message, Request, Response
from tpbx.sip.reply import newBranch, newCallId, newTag
from tpbx.sip.uri import parseURI
from tpbx.sip.via import Via, parseVia

__all__ = ["DialogId", "Dialog", "DialogSet", "newRequest", "setVia",
           "requestDialogId", "responseDialogId"]

# Headers a request inside a dialog copies from the INVITE into its ACK
# (sec. 13.2.2.4: the ACK carries the INVITE's credentials).
_ACK_COPIED = ("Authorization", "Proxy-Authorization")


@dataclass(frozen=True, slots=True)
class DialogId:
    """
    The dialog identifier (sec. 12): Call-ID and the two tags, seen from
    the local side.
    """

    callId: str
    localTag: str
    remoteTag: str


def requestDialogId(request: Request) -> DialogId:
    """
    The id of the dialog an incoming request belongs to, seen by the UAS:
    the local tag is the To tag, the remote tag the From tag (sec. 12.2.2).

    @raise ProtocolError: (400) on a malformed From or To or no Call-ID.
    """
    return DialogId(request.callId, _tag(request, "To"), _tag(request, "From"))


def responseDialogId(response: Response) -> DialogId:
    """
    The id of the dialog a response to our request belongs to: the local
    tag is the From tag, the remote tag the To tag (sec. 12.1.2).

    @raise ProtocolError: (400) on a malformed From or To or no Call-ID.
    """
    return DialogId(response.callId, _tag(response, "From"),
                    _tag(response, "To"))


def _tag(message: Message, name: str) -> str:
    """@return: the tag of header C{name}, C{""} when it has none."""
    value = message.headers.get(name)
    if value is None:
        raise ProtocolError(f"Missing {name}")
    return parseNameAddr(value).tag or ""


def setVia(headers: Headers, via: str) -> None:
    """
    Make C{via}, with a fresh C{z9hG4bK} branch unless it has one (sec.
    8.1.1.7: every new transaction gets a new branch), the only Via of a
    request being built, and keep it parsed in the headers' memo: the
    transaction layer reads the branch of every request sent, and parsing
    back what was just written cost a Via parse per request.

    @param via: one via-parm (C{SIP/2.0/UDP host:port;rport}), well formed
        (ours); its branchless form is parsed once (L{parseVia}'s cache).
    """
    if ";branch=" in via:
        text, parsed = via, parseVia(via)
    else:
        branch = newBranch()
        text, base = f"{via};branch={branch}", parseVia(via)
        parsed = Via(base.protocol, base.transport, base.host, base.port,
                     {**base.params, "branch": branch})
    headers.set("Via", text)
    headers.remember("Via", parsed)


def _firstContact(message: Message) -> str | None:
    """
    @return: the URI of the single Contact of C{message}, or L{None} when
        it has none.
    @raise ProtocolError: (400) for a malformed, starred or multiple
        Contact (sec. 8.1.1.8: one SIP URI in dialog-creating messages).
    """
    values = message.headers.getAll("Contact")
    if not values:
        return None
    contacts = parseContacts(values)
    if contacts == "*" or len(contacts) != 1:
        raise ProtocolError("A dialog needs exactly one Contact")
    return contacts[0].uri


def _isLooseRoute(route: str) -> bool:
    """@return: whether a route entry's URI carries C{;lr} (sec. 19.1.1)."""
    return "lr" in parseURI(parseNameAddr(route).uri).params


def _addBody(headers: Headers, body: bytes, contentType: str | None) -> None:
    if body:
        if contentType is None:
            raise ValueError("a body needs a content type")
        headers.add("Content-Type", contentType)


def newRequest(method: str, requestUri: str, localUri: str, remoteUri: str,
               localContact: str, via: str, callId: str | None = None,
               cseq: int = 1, routeSet: Iterable[str] = (), body: bytes = b"",
               contentType: str | None = None,
               extraHeaders: Iterable[tuple[str, str]] = ()) -> Request:
    """
    A request outside any dialog (sec. 8.1.1): an initial INVITE.  A From
    tag is added when C{localUri} has none (sec. 8.1.1.3).

    @param localUri: the From value; C{remoteUri}: the To value, no tag.
    @param localContact: the Contact URI (without C{<>}).
    @param via: a Via value; a branch is added (see L{withBranch}).
    @param routeSet: Route values (a preloaded outbound proxy).
    @param callId: L{None} for a fresh one.
    @return: the request.
    """
    if parseNameAddr(localUri).tag is None:
        localUri = f"{localUri};tag={newTag()}"
    headers = Headers()
    setVia(headers, via)
    headers.add("Max-Forwards", "70")
    for route in routeSet:
        headers.add("Route", route)
    headers.add("From", localUri)
    headers.add("To", remoteUri)
    headers.add("Call-ID", callId or newCallId())
    headers.add("CSeq", f"{cseq} {method}")
    headers.add("Contact", f"<{localContact}>")
    for name, value in extraHeaders:
        headers.add(name, value)
    _addBody(headers, body, contentType)
    return Request(method, requestUri, headers, body)


class Dialog:
    """
    One dialog's state (sec. 12.1).

    @ivar callId: the Call-ID.
    @ivar localTag: our tag; C{remoteTag}: the peer's (C{""} for an RFC
        2543 peer that sent none).
    @ivar localUri: the From value of our requests, with our tag.
    @ivar remoteUri: the To value of our requests, with the peer's tag.
    @ivar localSeq: the CSeq of our last request, L{None} before any.
    @ivar remoteSeq: the CSeq of the peer's last request, L{None} before.
    @ivar remoteTarget: the peer's Contact URI.
    @ivar routeSet: Route values, in the order our requests carry them.
    @ivar localContact: the Contact URI our requests and 2xx carry.
    @ivar secure: whether the dialog was set up over TLS with a sips URI.
    @ivar state: C{"early"}, C{"confirmed"} or C{"terminated"}.
    """

    __slots__ = ("callId", "localTag", "remoteTag", "localUri", "remoteUri",
                 "localSeq", "remoteSeq", "remoteTarget", "routeSet",
                 "localContact", "secure", "state")

    def __init__(self, callId: str, localTag: str, remoteTag: str,
                 localUri: str, remoteUri: str, remoteTarget: str,
                 routeSet: list[str], localContact: str,
                 localSeq: int | None = None, remoteSeq: int | None = None,
                 secure: bool = False, state: str = "early"):
        self.callId = callId
        self.localTag = localTag
        self.remoteTag = remoteTag
        self.localUri = localUri
        self.remoteUri = remoteUri
        self.remoteTarget = remoteTarget
        self.routeSet = routeSet
        self.localContact = sys.intern(localContact)   # shared by many dialogs
        self.localSeq = localSeq
        self.remoteSeq = remoteSeq
        self.secure = secure
        self.state = state

    def __repr__(self) -> str:
        return (f"<Dialog {self.callId} {self.localTag}/{self.remoteTag} "
                f"{self.state}>")

    @property
    def id(self) -> DialogId:
        """@return: the L{DialogId}."""
        return DialogId(self.callId, self.localTag, self.remoteTag)

    @classmethod
    def fromUASRequest(cls, request: Request, localTag: str,
                       localContact: str, overTLS: bool = False) -> "Dialog":
        """
        The dialog a UAS creates when it answers C{request} with a 1xx or
        2xx carrying C{localTag} (sec. 12.1.1): route set from the
        Record-Route values in order, remote target from the Contact,
        remote sequence from the CSeq, local sequence empty.

        @param overTLS: whether the request arrived over TLS; with a sips
            Request-URI it makes the dialog secure.
        @raise ProtocolError: (400) for a malformed From, To or Contact.
        """
        target = _firstContact(request)
        if target is None:
            raise ProtocolError("A dialog-creating request needs a Contact")
        to = request.headers.get("To", "")
        if parseNameAddr(to).tag is None:
            to = f"{to};tag={localTag}"
        return cls(
            request.callId, localTag, _tag(request, "From"), to,
            request.headers.get("From", ""), target,
            request.headers.getList("Record-Route"), localContact,
            remoteSeq=request.cseq[0],
            secure=overTLS and request.uri[:5].lower() == "sips:")

    @classmethod
    def fromUACResponse(cls, request: Request, response: Response,
                        overTLS: bool = False) -> "Dialog":
        """
        The dialog a 1xx (with a To tag) or 2xx to C{request} creates at
        the UAC (sec. 12.1.2): route set from the Record-Route values in
        reverse order, remote target from the Contact, local sequence
        from the request's CSeq.  Early for a 1xx, confirmed for a 2xx.

        @raise ProtocolError: (400) for a response with no To tag or a
            malformed Contact.
        """
        remoteTag = _tag(response, "To")
        if not remoteTag:
            raise ProtocolError("A dialog-creating response needs a To tag")
        target = _firstContact(response) or request.uri
        contact = _firstContact(request) or ""
        routes = response.headers.getList("Record-Route")
        routes.reverse()
        return cls(
            request.callId, _tag(request, "From"), remoteTag,
            request.headers.get("From", ""), response.headers.get("To", ""),
            target, routes, contact, localSeq=request.cseq[0],
            secure=overTLS and request.uri[:5].lower() == "sips:",
            state="confirmed" if 200 <= response.status < 300 else "early")

    def confirmByResponse(self, response: Response) -> None:
        """
        A 2xx arrived for the INVITE that made this early dialog (UAC
        side): confirm it and recompute the route set and remote target
        from the 2xx (sec. 13.2.2.4, 12.2.1.2).
        """
        routes = response.headers.getList("Record-Route")
        routes.reverse()
        self.routeSet = routes
        self.targetRefresh(response)
        self.state = "confirmed"

    def targetRefresh(self, message: Message) -> None:
        """
        Take the remote target from the Contact of a target-refresh
        request (re-INVITE, UPDATE) or its 2xx (sec. 12.2.1.2, 12.2.2,
        RFC 3311 sec. 5.1); a message without Contact changes nothing.

        @raise ProtocolError: (400) for a malformed or multiple Contact.
        """
        target = _firstContact(message)
        if target is not None:
            self.remoteTarget = target

    def nextHop(self) -> str:
        """
        @return: the URI the next request is sent towards (sec. 8.1.2):
            the first route, or the remote target when there is none.
        """
        if self.routeSet:
            return parseNameAddr(self.routeSet[0]).uri
        return self.remoteTarget

    def _uriAndRoutes(self) -> tuple[str, list[str]]:
        """
        The Request-URI and Route values (sec. 12.2.1.1): with no route
        set or a loose-routing first hop, the remote target and the route
        set as is; with a strict router first, its URI as Request-URI and
        the remote target appended as the last Route.
        """
        routes = self.routeSet
        if not routes or _isLooseRoute(routes[0]):
            return self.remoteTarget, list(routes)
        # URI headers are not allowed in a Request-URI (sec. 19.1.1)
        first = replace(parseURI(parseNameAddr(routes[0]).uri), headers={})
        return str(first), routes[1:] + [f"<{self.remoteTarget}>"]

    def _build(self, method: str, cseq: int, via: str | None,
               body: bytes, contentType: str | None,
               extraHeaders: Iterable[tuple[str, str]]) -> Request:
        uri, routes = self._uriAndRoutes()
        headers = Headers()
        if via is not None:
            setVia(headers, via)
        headers.add("Max-Forwards", "70")
        for route in routes:
            headers.add("Route", route)
        headers.add("From", self.localUri)
        headers.add("To", self.remoteUri)
        headers.add("Call-ID", self.callId)
        headers.add("CSeq", f"{cseq} {method}")
        if method != "ACK" and self.localContact:
            headers.add("Contact", f"<{self.localContact}>")
        for name, value in extraHeaders:
            headers.add(name, value)
        _addBody(headers, body, contentType)
        return Request(method, uri, headers, body)

    def createRequest(self, method: str, body: bytes = b"",
                      contentType: str | None = None,
                      extraHeaders: Iterable[tuple[str, str]] = (),
                      via: str | None = None) -> Request:
        """
        A new request inside the dialog (sec. 12.2.1.1): CSeq one above
        the last (1 for the first request of a UAS), From/To with tags,
        Call-ID, Request-URI and Route from the route set, Contact, and
        Max-Forwards 70.

        @param via: a Via value given a fresh branch; with L{None} the
            request has no Via and the caller must prepend one.
        @raise ProtocolError: (481) once the dialog is terminated.
        """
        if method in ("ACK", "CANCEL"):
            raise ValueError("ACK and CANCEL reuse the INVITE's CSeq")
        if self.state == "terminated":
            raise ProtocolError("The dialog is terminated", 481)
        self.localSeq = 1 if self.localSeq is None else self.localSeq + 1
        return self._build(method, self.localSeq, via, body, contentType,
                           extraHeaders)

    def createAck(self, inviteCSeq: int, body: bytes = b"",
                  contentType: str | None = None, via: str | None = None,
                  invite: Request | None = None) -> Request:
        """
        The ACK for a 2xx (sec. 13.2.2.4): built like any request of the
        dialog but with the INVITE's CSeq number, and the INVITE's
        credentials when C{invite} is given.

        @param body: the answer, when the 2xx carried the offer.
        """
        extra = []
        if invite is not None:
            extra = [(name, value) for name in _ACK_COPIED
                     for value in invite.headers.getAll(name)]
        return self._build("ACK", inviteCSeq, via, body, contentType, extra)

    def checkRequest(self, request: Request) -> int | None:
        """
        Order an incoming request (sec. 12.2.2): one with a CSeq lower
        than the last is out of order and must get a 500; otherwise its
        CSeq becomes the remote sequence.  ACK and CANCEL carry the
        INVITE's CSeq and are never checked.

        @return: C{500} to reject the request, or L{None} to go on.
        """
        if request.method in ("ACK", "CANCEL"):
            return None
        number = request.cseq[0]
        if self.remoteSeq is not None and number < self.remoteSeq:
            return 500
        self.remoteSeq = number
        return None


class DialogSet:
    """
    Every dialog of a stack, found by L{DialogId} from either side: an
    incoming request names it by (Call-ID, To tag, From tag), a response
    to our request by (Call-ID, From tag, To tag).
    """

    def __init__(self):
        self._dialogs: dict[DialogId, object] = {}

    def add(self, dialog: Dialog, owner: object = None) -> None:
        """
        File C{dialog}, with the usage that owns it (an
        L{tpbx.sip.invite.InviteSession}) or the dialog itself.
        """
        self._dialogs[dialog.id] = owner if owner is not None else dialog

    def remove(self, dialog: Dialog) -> None:
        """Forget C{dialog}; nothing happens if it was not filed."""
        self._dialogs.pop(dialog.id, None)

    def get(self, dialogId: DialogId):
        """@return: what was filed under C{dialogId}, or L{None}."""
        return self._dialogs.get(dialogId)

    def forRequest(self, request: Request):
        """
        @return: what owns the dialog an incoming request is in, or
            L{None} (a request for no dialog gets 481, sec. 12.2.2).
        @raise ProtocolError: (400) on a malformed From, To or Call-ID.
        """
        return self._dialogs.get(requestDialogId(request))

    def forResponse(self, response: Response):
        """
        @return: what owns the dialog a response to our request is in.
        @raise ProtocolError: (400) on a malformed From, To or Call-ID.
        """
        return self._dialogs.get(responseDialogId(response))

    def __len__(self) -> int:
        return len(self._dialogs)

    def __iter__(self) -> Iterator[DialogId]:
        return iter(self._dialogs)
