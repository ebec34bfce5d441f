# -*- test-case-name: tests.pbx.test_core -*-
"""
The PBX's transaction user: checks every new request against the rules of
RFC 3261 sec. 8.2 and hands it to the handler of its method.

Order of checks (sec. 8.2): method known (501), Request-URI scheme (416),
Max-Forwards (483), merged request / loop (482, sec. 8.2.2.2), Require
(420, sec. 8.2.2.3), then the method.  Requests that concern a user
(REGISTER, INVITE, SUBSCRIBE, OPTIONS to a user) are authenticated before
the user is looked up, so an unauthenticated scanner sees the same
challenge for a real extension and a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass

from twisted.logger import Logger
from zope.interface import implementer

from tpbx.errors import ProtocolError
from tpbx.interfaces import ITransactionUser
from tpbx.sip.address import parseContacts, parseNameAddr
from tpbx.sip.reply import makeResponse, newTag
from tpbx.sip.uri import parseURI

__all__ = ["PBXCore", "CoreSettings", "KNOWN_METHODS"]

KNOWN_METHODS = ("INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER",
                 "SUBSCRIBE", "NOTIFY", "REFER", "INFO", "UPDATE", "PRACK",
                 "MESSAGE", "PUBLISH")

# Methods that only make sense inside a dialog; we have none yet, so 481.
_IN_DIALOG = frozenset({"BYE", "INFO", "UPDATE", "PRACK", "NOTIFY", "REFER"})
# Requests that fork into several copies of one call (sec. 8.2.2.2).
_DIALOG_CREATING = frozenset({"INVITE", "SUBSCRIBE", "REFER"})
# Known methods we do not serve at all: 405 with Allow (sec. 8.2.1).
_NOT_ALLOWED = frozenset({"MESSAGE", "PUBLISH"})


def _mediaRangeMatches(mediaRange: str, accepted) -> bool:
    """Whether an Accept media-range (sec. 20.1) covers one of C{accepted}."""
    wanted = mediaRange.partition(";")[0].strip().lower()
    if wanted in ("*/*", ""):
        return True
    kind, _, sub = wanted.partition("/")
    return any(wanted == a or (sub == "*" and a.startswith(kind + "/")) for a in accepted)


@dataclass(frozen=True, slots=True)
class CoreSettings:
    """
    @ivar serverHeader: value of the Server header, or empty for none.
    @ivar allow: the methods we accept, for Allow.
    @ivar supported: option tags we support (sec. 19.2), for Supported and
        the Require check.
    """

    serverHeader: str = "tpbx"
    allow: tuple = ("INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER",
                    "SUBSCRIBE", "NOTIFY", "REFER", "INFO", "UPDATE", "PRACK")
    supported: tuple = ("path", "replaces")
    accept: tuple = ("application/sdp",)


@implementer(ITransactionUser)
class PBXCore:
    """
    @ivar engine: the L{tpbx.pbx.engine.SIPEngine} used to answer.
    """

    _log = Logger()

    def __init__(self, clock, engine, registrar, authenticator, directory,
                 guard, settings: CoreSettings = CoreSettings(), calls=None):
        """
        @param calls: the L{tpbx.pbx.calls.CallManager} that takes INVITEs
            and everything inside a call; L{None}: no calls (480).
        """
        self._clock = clock
        self._calls = calls
        self.engine = engine
        self._registrar = registrar
        self._auth = authenticator
        self._directory = directory
        self._guard = guard
        self.settings = settings
        self._allow = ", ".join(settings.allow)
        self._supported = frozenset(settings.supported)
        self._merged: dict = {}
        self._methodChecks = {
            "INVITE": self._checkSessionBody,
            "UPDATE": self._checkSessionBody,
            "REGISTER": self._checkRegisterSyntax,
        }
        self._handlers = {
            "REGISTER": self._onRegister,
            "OPTIONS": self._onOptions,
            "INVITE": self._onUserRequest,
            "SUBSCRIBE": self._onUserRequest,
            "CANCEL": self._onCancel,
        }

    # ITransactionUser

    def requestReceived(self, request, transaction) -> None:
        if transaction is None:
            # An ACK for a 2xx (or a stray one): only a call can want it.
            if self._calls is not None and request.method == "ACK":
                self._calls.inDialog(request, None)
            return
        try:
            if self._guard is not None and not self._guard.requestSeen(
                    transaction.peer.host, self._clock.seconds()):
                self.engine.abandon(transaction)
                return
            problem = self._precheck(request, transaction)
            if problem is not None:
                self.reply(transaction, *problem)
                return
            if self._toCall(request, transaction):
                return
            self._dispatch(request, transaction)
        except ProtocolError as e:
            self.reply(transaction, e.statusHint, e.reason)

    def _toCall(self, request, transaction) -> bool:
        """
        Hand a CANCEL of a ringing call, or any request inside a dialog (To
        tag, sec. 12.2.2), to the calls; one matching no dialog gets 481.

        @return: whether the request was dealt with.
        """
        if self._calls is None or request.method == "REGISTER":
            return False
        if request.method == "CANCEL":
            return self._calls.cancel(request, transaction)
        if "tag=" not in (request.headers.get("To") or ""):
            return False
        if not self._calls.inDialog(request, transaction):
            self.reply(transaction, 481)
        return True

    def responseReceived(self, response, transaction) -> None:
        if self._calls is not None and self._calls.responseReceived(response, transaction):
            return
        if transaction is not None and self._registrar is not None:
            self._registrar.keepAliveAnswered(transaction, response, self._clock.seconds())

    def transactionTerminated(self, transaction, reason) -> None:
        if self._calls is not None:
            self._calls.transactionEnded(transaction, reason)
        request = transaction.request
        self._unmerge(transaction)
        if reason == "timeout" and request.method == "OPTIONS":
            if self._registrar is not None:
                self._registrar.keepAliveTimedOut(transaction, self._clock.seconds())

    # Checks common to all requests

    def _precheck(self, request, transaction):
        """
        @return: C{(status, reason, extraHeaders)} to refuse the request, or
            L{None} to go on.
        """
        method = request.method
        if method not in KNOWN_METHODS:
            return 501, None, [("Allow", self._allow)]
        scheme = request.uri.partition(":")[0].lower()
        if scheme not in ("sip", "sips", "tel"):
            return 416, None, []
        maxForwards = request.headers.get("Max-Forwards")
        if maxForwards is not None:
            maxForwards = maxForwards.strip()
            if not (maxForwards.isascii() and maxForwards.isdigit()) or len(maxForwards) > 10:
                return 400, "Invalid Max-Forwards", []
            if int(maxForwards) == 0 and method not in ("OPTIONS", "REGISTER"):
                return 483, None, []
        if self._isMerged(request, transaction):
            return 482, None, []
        if method not in ("ACK", "CANCEL"):
            unsupported = [tag for tag in request.headers.getList("Require")
                           if tag.lower() not in self._supported]
            if unsupported:
                return 420, None, [("Unsupported", ", ".join(unsupported))]
        check = self._methodChecks.get(method)
        return check(request) if check is not None else None

    def _checkSessionBody(self, request):
        """
        Sec. 8.2.3: a body we cannot read gets 415 with Accept; sec. 8.2.2
        / 21.4.7: an Accept that excludes SDP means we could not answer,
        406.  Both are checked before authentication: they reveal nothing.
        """
        accept = self.settings.accept
        if request.body:
            contentType = (request.headers.get("Content-Type") or "").partition(";")[0]
            if contentType.strip().lower() not in accept:
                return 415, None, [("Accept", ", ".join(accept))]
        ranges = request.headers.getList("Accept")
        if ranges and not any(_mediaRangeMatches(r, accept) for r in ranges):
            return 406, None, []
        return None

    @staticmethod
    def _checkRegisterSyntax(request):
        """
        Sec. 10.3 step 1-2 syntax: the To must be a SIP or SIPS address and
        the Contacts must parse; checked before authentication so a broken
        REGISTER gets 400 whoever sends it.
        """
        toValue = request.headers.get("To") or ""
        scheme = parseNameAddr(toValue).uri.partition(":")[0].strip().lower()
        if scheme not in ("sip", "sips"):
            return 400, "To must be a SIP or SIPS URI", []
        contacts = request.headers.getAll("Contact")
        if contacts:
            parseContacts(contacts)
        return None

    @staticmethod
    def _mergeKey(request):
        if "tag=" in (request.headers.get("To") or ""):
            return None
        fromValue = request.headers.get("From") or ""
        _, _, fromTag = fromValue.partition("tag=")
        return fromTag.split(";")[0].strip(), request.callId, request.headers.get("CSeq")

    def _unmerge(self, transaction) -> None:
        """C{transaction}'s request is no longer in progress (L{_isMerged})."""
        request = transaction.request
        if self._merged and request.method in _DIALOG_CREATING:
            key = self._mergeKey(request)   # only such requests are filed
            if self._merged.get(key) is transaction:
                # Only the original's end forgets the key: a merged copy
                # (482) may end first while the original is in progress.
                del self._merged[key]

    def _isMerged(self, request, transaction) -> bool:
        """
        A dialog-creating request without To tag whose From tag, Call-ID
        and CSeq match a request in progress that came by another path (sec.
        8.2.2.2: the forked copies of one INVITE must make one call).
        """
        if request.method not in _DIALOG_CREATING:
            return False
        key = self._mergeKey(request)
        if key is None:
            return False
        earlier = self._merged.get(key)
        if earlier is not None and earlier is not transaction:
            return True
        self._merged[key] = transaction
        return False

    # Dispatch

    def _dispatch(self, request, transaction) -> None:
        method = request.method
        handler = self._handlers.get(method)
        if handler is not None:
            handler(request, transaction)
        elif method in _IN_DIALOG:
            self.reply(transaction, 481)
        elif method in _NOT_ALLOWED:
            self.reply(transaction, 405, None, [("Allow", self._allow)])

    def _onRegister(self, request, transaction) -> None:
        response = self._registrar.handleRegister(request, transaction.peer, self._clock.seconds())
        self._finishChallenge(transaction, response)

    def _finishChallenge(self, transaction, response) -> None:
        """
        Send C{response}; a challenge (401, 407) over UDP is sent
        statelessly, as RFC 3261 sec. 8.2.7 allows for exactly this and
        as Kamailio's auth does: the request's server transaction is
        dropped unused (L{SIPEngine.forget}), a retransmitted request just
        gets a fresh challenge (with the same To tag,
        L{tpbx.sip.reply.statelessTag}), the ACK of an INVITE's matches
        nothing and is dropped, and no transaction waits out Timer J
        (32 s, REGISTER) or re-sends and waits for the ACK and Timer I
        (5 s, INVITE) for each of the first halves of thousands of
        registrations and calls.
        """
        if response.status not in (401, 407) or transaction.peer.reliable:
            self._finish(transaction, response)
            return
        self._stamp(response)
        self.engine.sendStateless(response, transaction.peer)
        self.engine.forget(transaction)
        self._unmerge(transaction)

    def _onOptions(self, request, transaction) -> None:
        if parseURI(request.uri).user:
            self._onUserRequest(request, transaction)
            return
        self.reply(transaction, 200, None, self._capabilities())

    def _onUserRequest(self, request, transaction) -> None:
        """
        INVITE, SUBSCRIBE and OPTIONS to a user: authenticate, then look the
        user up (so unknown users are only revealed to authenticated peers).
        """
        now = self._clock.seconds()
        result = self._auth.authenticate(request, transaction.peer, now, proxy=True)
        if not result.ok:
            self._finishChallenge(transaction, result.response)
            return
        if request.method == "INVITE" and self._calls is not None:
            self._calls.invite(request, transaction, result.extension)
            return
        user = parseURI(request.uri).user
        if self._directory.extensionByNumber(user) is None:
            self.reply(transaction, 404)
        elif request.method == "OPTIONS":
            self.reply(transaction, 200, None, self._capabilities())
        elif request.method == "SUBSCRIBE":
            self.reply(transaction, 489)
        else:
            self.reply(transaction, 480, "Calls not available yet")

    def _onCancel(self, request, transaction) -> None:
        """
        Sec. 9.2: 481 when no INVITE transaction matches; else 200 (every
        INVITE has its final response already, so the CANCEL changes
        nothing else).
        """
        matched = self.engine.layer.findServerTransaction(request)
        self.reply(transaction, 481 if matched is None else 200)

    def _capabilities(self) -> list:
        return [("Allow", self._allow),
                ("Accept", ", ".join(self.settings.accept)),
                ("Supported", ", ".join(self.settings.supported))]

    # Answering

    def reply(self, transaction, status: int, reason: str | None = None,
              headers=()) -> None:
        """Answer C{transaction} with a response built from its request."""
        request = transaction.request
        toTag = newTag() if status > 100 else None
        response = makeResponse(request, status, reason, toTag=toTag, headers=headers)
        self._finish(transaction, response)

    def _finish(self, transaction, response) -> None:
        self._stamp(response)
        self.engine.sendResponse(transaction, response)

    def _stamp(self, response) -> None:
        """Name the server in C{response} when configured to."""
        if self.settings.serverHeader:
            response.headers.set("Server", self.settings.serverHeader)
