# -*- test-case-name: tests.test_interfaces -*-
"""
Every seam of tpbx, as zope interfaces (DESIGN.md, "Seams").

Implementations declare C{@implementer(...)}; tests call C{verifyObject} on
each real provider and on each fake in L{tpbx.testing}.
"""

from zope.interface import Interface

__all__ = [
    "IMessageSender", "IMessageSink", "ITransactionUser", "ILocationService",
    "IDirectory", "IConfigStore", "IStatusSource", "IEventSink",
    "IAccessGuard",
]


class IMessageSender(Interface):
    """
    Sends SIP messages over some transport (UDP, TCP, TLS, later the tunnel).
    The SIP stack never knows which.
    """

    def send(message, peer):
        """
        Send C{message} to C{peer}.

        @param message: a L{tpbx.sip.message.Request} or L{Response}.
        @param peer: a L{tpbx.sip.peer.Peer}; for stream transports its
            C{flow} picks the connection, else one is reused or opened.
        @return: L{None}; failures are reported to the sink given to the
            transport through L{IMessageSink.transportError}.
        """


class IMessageSink(Interface):
    """
    What a transport hands parsed messages to (the engine).
    """

    def messageReceived(message, peer):
        """
        A well-formed message arrived.

        @param message: L{tpbx.sip.message.Request} or L{Response}; for a
            request the top Via already carries C{received}/C{rport}
            (RFC 3581).
        @param peer: the L{tpbx.sip.peer.Peer} it came from.
        """

    def transportError(peer, reason):
        """
        Sending to C{peer} failed (connection refused, reset, ICMP ...).
        """


class ITransactionUser(Interface):
    """
    What the transaction layer delivers to (the pjsip "module" boundary).
    """

    def requestReceived(request, transaction):
        """
        A new request arrived in a new server transaction (or, for an ACK
        to a 2xx or a stray request, with C{transaction} L{None}).
        """

    def responseReceived(response, transaction):
        """
        A response for a client transaction this TU started (or a stray 2xx
        retransmission, with C{transaction} L{None}).
        """

    def transactionTerminated(transaction, reason):
        """
        C{transaction} ended; C{reason} is C{"completed"}, C{"timeout"} or
        C{"transport-error"}.
        """


class ILocationService(Interface):
    """
    Registration bindings (Kamailio's usrloc): storage only, no policy.
    """

    def register(aor, binding, now):
        """Add or refresh C{binding} (a L{tpbx.pbx.location.Binding})."""

    def lookup(aor, now):
        """@return: the live bindings of C{aor}, freshest first."""

    def remove(aor, contact):
        """Remove one binding of C{aor} by contact URI; return it or None."""

    def removeAll(aor):
        """Remove every binding of C{aor}; return them."""

    def expire(now):
        """Drop bindings past their expiry; return what was dropped."""

    def allBindings(now):
        """@return: every live binding, for status pages and the API."""


class IDirectory(Interface):
    """
    A read-only, in-memory snapshot of configuration the SIP path consults
    on every message (extensions, access lists, settings).  Refreshed when
    the store changes; never does I/O.
    """

    def extensionByNumber(number):
        """@return: the extension record or L{None}."""

    def extensionByAuthId(authId):
        """@return: the extension record whose SIP auth ID is C{authId}."""

    def setting(name, default=None):
        """@return: a setting's value."""


class IConfigStore(Interface):
    """
    Validated edits of configuration, for the CLI, the API and the console.
    Every write makes the running PBX's L{IDirectory} refresh.

    Field dictionaries use the attribute names of L{tpbx.model.Extension}
    (C{number}, C{firstName}, C{lastName}, C{email}, C{authId}, C{password},
    C{pin}, C{lanOnly}).  Errors: L{tpbx.errors.ValidationError} naming the
    field, L{tpbx.errors.NotFound}, L{tpbx.errors.Conflict}.
    """

    def listExtensions():
        """@return: every L{tpbx.model.Extension}, ordered by number."""

    def getExtension(number):
        """@return: one L{tpbx.model.Extension} or L{None}."""

    def createExtension(fields):
        """
        Validate and create.  A missing password is generated (strong,
        random); a missing authId defaults to the number.

        @return: C{(extension, generatedPassword or None)}.
        """

    def updateExtension(number, fields):
        """Validate and apply a partial update; @return: the new Extension."""

    def deleteExtension(number):
        """Delete; raise NotFound."""

    def listAccess(kind):
        """@return: the L{tpbx.model.AccessEntry} list of C{kind}
        (C{"blacklist"} or C{"whitelist"}), expired entries left out."""

    def addAccess(kind, entry):
        """Add or replace the entry for C{entry.network}."""

    def removeAccess(kind, network):
        """Remove; raise NotFound."""

    def getSetting(name, default=None):
        """@return: a stored setting (JSON-able value)."""

    def setSetting(name, value):
        """Store a setting."""


class IStatusSource(Interface):
    """
    Read-only live state for status pages and the API.
    """

    def registrations():
        """@return: list of dicts: extension, contact, transport, source,
        userAgent, expires (seconds left)."""


class IEventSink(Interface):
    """
    Where structured PBX events go (the log now, the event-log page later).
    """

    def emit(event):
        """Record a L{tpbx.events.Event}."""


class IAccessGuard(Interface):
    """
    Anti-hacking policy: who may talk to the PBX at all.
    """

    def allowPacket(host, now):
        """@return: False when C{host} is blacklisted (send nothing back)."""

    def authFailed(host, now, user):
        """Count a failed authentication; may blacklist C{host}."""

    def requestSeen(host, now):
        """
        Count a request for flood detection.

        @return: False when C{host} is (now) blacklisted: drop the request.
        """
