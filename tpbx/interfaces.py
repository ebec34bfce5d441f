# -*- test-case-name: tests.test_interfaces -*-
"""
Every seam of tpbx, as zope interfaces (DESIGN.md, "Seams").

Implementations declare C{@implementer(...)}; tests call C{verifyObject} on
each real provider and on each fake in L{tpbx.testing}.
"""

from zope.interface import Attribute, Interface

__all__ = [
    "IMessageSender", "IMessageSink", "ITransactionUser", "ILocationService",
    "IDirectory", "IConfigStore", "IStatusSource", "IEventSink",
    "IAccessGuard", "IMediaEndpoint", "IRelaySession", "IMediaRelay",
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

    def ringGroup(number):
        """@return: the L{tpbx.model.RingGroup} with this number, or
        L{None}."""

    def forwardingRules(number):
        """
        @return: the L{tpbx.model.ForwardingRule}s of extension C{number}
            as a tuple, in evaluation order (empty when it has none).
        """

    def isOfficeHours(now):
        """
        @param now: epoch seconds.
        @return: whether C{now} is within office hours (SPEC D7): the
            weekly schedule in the C{timezone} setting's zone, holidays
            closed all day; with no weekly schedule configured, always
            C{True} (except on holidays).
        """

    def dialCodes():
        """
        @return: a new dict of feature name -> dial code (SPEC E6):
            C{pickup} (*8), C{directedPickup} (**, followed by the
            extension), C{park} (*5), C{unpark} (*6, followed by the
            slot), C{intercom} (*9, followed by the extension), C{record}
            (*1), C{transfer} (*2, followed by the target), C{dndOn} (*78),
            C{dndOff} (*79), C{voicemail} (*97); the defaults in brackets,
            overridden by the C{dialCodes} setting.
        """


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

    def listRingGroups():
        """@return: every L{tpbx.model.RingGroup}, ordered by number."""

    def getRingGroup(number):
        """@return: one L{tpbx.model.RingGroup} or L{None}."""

    def createRingGroup(fields):
        """
        Validate and create a ring group (SPEC E3) from C{fields}: the
        attribute names of L{tpbx.model.RingGroup} (C{number} required;
        C{members} a list of existing extensions; C{noAnswer} a
        destination spec).  Numbers are shared with extensions.

        @return: the new L{tpbx.model.RingGroup}.
        @raise Conflict: the number is an extension or ring group already.
        """

    def updateRingGroup(number, fields):
        """Validate and apply a partial update (C{members} replaces the
        whole list); @return: the new RingGroup; raise NotFound."""

    def deleteRingGroup(number):
        """Delete; raise NotFound."""

    def listForwardingRules(extension):
        """
        @return: C{(id, rule)} pairs of C{extension}'s
            L{tpbx.model.ForwardingRule}s, in evaluation order.
        @raise NotFound: no such extension.
        """

    def addForwardingRule(rule):
        """
        Validate a L{tpbx.model.ForwardingRule} and append it to the rules
        of C{rule.extension}.

        @return: the new rule's id (an int).
        """

    def deleteForwardingRule(ruleId):
        """Delete a rule by id; raise NotFound."""

    def replaceForwardingRules(extension, rules):
        """
        Replace all of C{extension}'s rules, all or nothing.

        @return: the new ids, in order.
        """

    def setExtensionStatus(number, status):
        """Set an extension's presence status; @return: the Extension."""

    def getOfficeHours():
        """@return: the weekly schedule, a list of
        L{tpbx.store.officehours.OfficeInterval} C{(weekday, open,
        close)}, Monday 0, times C{HH:MM}."""

    def setOfficeHours(intervals):
        """Replace the weekly schedule (intervals or dicts with
        C{weekday}, C{open}, C{close}); @return: it, sorted."""

    def listHolidays():
        """@return: L{tpbx.store.officehours.Holiday} C{(date, name)}s."""

    def addHoliday(date, name=""):
        """Add (or rename) the holiday on C{date} (C{YYYY-MM-DD});
        @return: the Holiday."""

    def removeHoliday(date):
        """Remove; raise NotFound."""

    def recordCall(detail):
        """Append one L{tpbx.model.CallDetail} (SPEC E7)."""

    def recordCalls(details):
        """
        Append L{tpbx.model.CallDetail}s in one transaction; the PBX calls
        it from a worker thread with the records of the calls that ended
        in the last fraction of a second.
        """

    def queryCalls(since=None, until=None, extension=None, limit=100,
                   offset=0):
        """
        @return: L{tpbx.model.CallDetail}s whose start is in
            C{[since, until)} and, with C{extension}, whose caller or
            callee it is; newest first, at most C{limit} (1-10000) after
            skipping C{offset}.
        """

    def getDialCodes():
        """@return: feature name -> dial code (see
        L{IDirectory.dialCodes})."""

    def setDialCodes(codes):
        """Change some features' codes; @return: every code in force."""

    def getCallSettings():
        """@return: C{{"externalCallUri": template or "", "timezone":
        IANA name}}."""

    def setCallSettings(fields):
        """Change some call settings; @return: all of them."""


class IStatusSource(Interface):
    """
    Read-only live state for status pages and the API.
    """

    def registrations():
        """@return: list of dicts: extension, contact, transport, source,
        userAgent, expires (seconds left)."""

    def counts():
        """
        What the PBX holds right now, for leak checks after calls (a test
        or an operator proves every leg, transaction, timer and relay port
        is given back once the calls end).

        @return: a dict: C{calls}, C{legs}, C{transactions}, C{timers}
            (the call manager's), C{relaySessions}, and C{relayPorts}, a
            dict with C{inUse} (RTP ports allocated, each with its RTCP
            port) and the relay's per-range counts (C{internal},
            C{external}); all zero without calls or relay.
        """


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


class IMediaEndpoint(Interface):
    """
    One party's end of a media stream on the PBX: a local RTP port (RTCP on
    the next port, RFC 3550 sec. 11) that the party sends to, and the
    address the PBX sends to that party.
    """

    port = Attribute("The local RTP port to put in SDP (m= line); RTCP is port + 1.")
    address = Attribute("The local address to put in SDP (c= line).")
    tap = Attribute(
        "L{None}, or a callable(packet: bytes, now: float) called for every RTP "
        "packet accepted from this party (recording, RFC 4733 DTMF detection).")

    def setTarget(host, port, rtcpPort=None):
        """
        Where the party's SDP says it receives RTP (RFC 3264 sec. 5): the
        destination until packets from the party are latched.  An
        unspecified host (C{0.0.0.0}, RFC 3264 sec. 8.4 hold) or port 0
        (rejected stream) clears it.  A different target than before drops
        the latch (the party changed, e.g. after a transfer).  A multicast
        C{host} (a paging group, SPEC E4) is sent to and never latched.

        @param host: an IP address literal (names are resolved by the caller).
        @param rtcpPort: the RTCP port when SDP gives one (RFC 3605), else
            C{port + 1}.
        @raise ValueError: when C{host} is not an IP address.
        """

    def mute(muted=True):
        """Stop (or resume) sending the other party's packets to this party."""

    def inject(packet):
        """
        Send one packet to this party from this endpoint's RTP port (music on
        hold, prompts), muted or not.

        @return: whether it was sent (L{False} when no destination is known).
        """


class IRelaySession(Interface):
    """Two L{IMediaEndpoint}s of one call that forward to each other."""

    callId = Attribute("A label: the Call-ID or call identifier it serves.")
    a = Attribute("The L{IMediaEndpoint} facing one party.")
    b = Attribute("The L{IMediaEndpoint} facing the other party.")
    onInactive = Attribute(
        "L{None}, or a callable(session) called once when no RTP arrived on "
        "either side for the relay's inactivity timeout.")
    owner = Attribute(
        "L{None}, or what the user of the session wants found from it (the "
        "call it serves): one callable C{onInactive} can then serve every "
        "session instead of a closure per call.")
    stats = Attribute("Counters per side: packets and bytes in, forwarded, dropped, rejected.")


class IMediaRelay(Interface):
    """Hands out relay sessions on ports of the configured ranges."""

    sessions = Attribute("How many sessions are allocated and not released.")

    def allocate(callId, external=False):
        """
        Bind the RTP/RTCP port pairs of a new session.

        @param external: take the ports from the external range (trunks,
            remote and NATed phones) instead of the internal one.
        @return: an L{IRelaySession}.
        @raise tpbx.media.relay.PortsExhausted: when no pair can be bound.
        """

    def release(session):
        """
        Close the session's sockets and return its ports; idempotent.

        @return: a L{Deferred} that fires once the ports are back in the pool.
        """

    def stats():
        """@return: a dict of counts (sessions, ports per range) for leak checks."""
