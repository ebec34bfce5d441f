# -*- test-case-name: tests.media.test_relay -*-
"""
The RTP relay: the PBX anchors each call's media on two port pairs of its
own and forwards packets between them.

Why the PBX relays at all: phones behind NAT announce addresses nobody can
reach, so the relay sends each party's media back to where that party's
packets really come from (symmetric RTP, RFC 4961; "latching").  Why it is
shaped like this: the cost is per packet, so L{_RelayPort.datagramReceived}
is the one place that decides what happens to a packet, and in the common
case (a packet from the latched source) it only compares the source with a
tuple, counts and sends: no parsing, no dict, no timer.  Everything else
(latching, silence, inactivity, the hooks of hold, recording and DTMF) is
off that path: latching on a slow path taken by packets from unknown
sources, time kept by one periodic check for the whole relay.  A kernel
fast path can replace that one method later.
"""

from __future__ import annotations

import ipaddress

from twisted.internet.defer import DeferredList, maybeDeferred, succeed
from twisted.internet.error import CannotListenError
from twisted.internet.protocol import DatagramProtocol
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from zope.interface import implementer

from tpbx.interfaces import IMediaEndpoint, IMediaRelay, IRelaySession
from tpbx.media.ports import PortPool
from tpbx.media.rtp import ssrcOf

__all__ = ["RTPRelay", "RelaySession", "RelaySide", "SideStats", "PortsExhausted",
           "LATCH_SILENCE", "CHECK_INTERVAL"]

# A latched source keeps its stream until it has been silent this long
# (seconds), unless a new source shows a new SSRC (RFC 3550 sec. 8.2).
LATCH_SILENCE = 1.0
# How often the relay's one timer looks at the packet counters (seconds).
CHECK_INTERVAL = 0.5

_log = Logger()


class PortsExhausted(Exception):
    """No RTP/RTCP port pair could be bound; answer the call with 503."""


def _sender(transport):
    """
    @return: the cheapest way to send on C{transport}: the socket's own
        C{sendto} when it has one (Twisted's C{write} checks the address
        family of every packet; the relay checks it once, when it learns
        the address), else C{transport.write} (memory transports in tests).
    """
    sock = getattr(transport, "socket", None)
    return sock.sendto if sock is not None else transport.write


class _RelayPort(DatagramProtocol):
    """
    One socket (RTP or RTCP) of one side: receives from its party, sends
    what it receives out of the peer socket of the other side.

    @ivar source: the latched C{(host, port)} of this side's party, or None.
    @ivar dest: where packets to this party go: the latched source, else
        the target from SDP, else L{None}.
    @ivar forwardTo: C{dest}, or L{None} while the side is muted.
    @ivar peer: the port of the same kind (RTP/RTCP) on the other side.
    """

    noisy = False  # no two log lines per socket per call

    def __init__(self, clock, strict: bool):
        self._clock = clock
        self.strict = strict
        self.source = self.dest = self.forwardTo = self.target = None
        self.peer = self.tap = self.send = None
        self.muted = False
        self.ssrc = None
        self.packetsIn = self.bytesIn = self.dropped = self.rejected = 0
        self.heardAt = clock.seconds()
        self.seenCount = 0

    def startProtocol(self):
        """Cache the send function of the bound socket."""
        self.send = _sender(self.transport)

    def datagramReceived(self, data, addr):
        """
        The forwarding decision, for every packet.  A packet from the
        latched source (or one L{_accept} lets in) is counted, shown to the
        tap and sent to the other side's party; anything else is counted
        as rejected and dropped.  Never raises.
        """
        if addr != self.source and not self._accept(data, addr):
            self.rejected += 1
            return
        self.packetsIn += 1
        self.bytesIn += len(data)
        if self.tap is not None:
            self._tapped(data)
        peer = self.peer
        if peer.forwardTo is None:
            self.dropped += 1
            return
        try:
            peer.send(data, peer.forwardTo)
        except OSError:   # full socket buffer, ICMP error: a lost packet
            self.dropped += 1

    def _tapped(self, data):
        """Show an accepted packet to the tap; a failing tap is logged, not fatal."""
        try:
            self.tap(data, self._clock.seconds())
        except Exception:
            _log.failure("media tap failed")

    def _accept(self, data, addr) -> bool:
        """
        The latching policy (RFC 4961 sec. 3, "comedia"), off the hot path:
        a well-formed RTP/RTCP packet from a new source takes the stream
        when nothing is latched, when the latched source has been silent
        for L{LATCH_SILENCE}, or when it carries another SSRC.  With
        C{strict}, only sources on the target's host are considered.

        @return: whether C{addr} is now the latched source.
        """
        ssrc = ssrcOf(data)
        if ssrc is None:
            return False
        if self.strict and (self.target is None or addr[0] != self.target[0]):
            return False
        now = self._clock.seconds()
        if self.source is not None and ssrc == self.ssrc and not self._silent(now):
            return False
        _log.debug("media latched {source} (was {old}, ssrc {ssrc:08x})",
                   source=addr, old=self.source, ssrc=ssrc)
        self.source = self.dest = addr
        self.forwardTo = None if self.muted else addr
        self.ssrc, self.heardAt, self.seenCount = ssrc, now, self.packetsIn + 1
        return True

    def _silent(self, now: float) -> bool:
        """@return: whether the latched source sent nothing for LATCH_SILENCE."""
        return self.packetsIn == self.seenCount and now - self.heardAt > LATCH_SILENCE

    def check(self, now: float) -> float:
        """
        The periodic look at the counters: note when packets last came.

        @return: when a packet was last accepted (as seen by these checks).
        """
        if self.packetsIn != self.seenCount:
            self.seenCount, self.heardAt = self.packetsIn, now
        return self.heardAt

    def aim(self, target):
        """Set the SDP target; a new target drops the latch."""
        if target == self.target:
            return
        self.target = self.dest = target
        self.source = self.ssrc = None
        self.mute(self.muted)

    def mute(self, muted: bool):
        """Stop or resume forwarding to this port's party."""
        self.muted = muted
        self.forwardTo = None if muted else self.dest


class SideStats:
    """
    Counters of one side, read at one moment.

    @ivar packetsIn: RTP packets accepted from the party.
    @ivar bytesIn: their bytes.
    @ivar forwarded: RTP packets sent on to the other party.
    @ivar dropped: accepted RTP packets not sent on (other side muted, no
        destination known, send failed).
    @ivar rejected: RTP packets from sources that were not accepted, or
        malformed ones that could not be latched.
    @ivar rtcpIn: RTCP packets accepted on the RTCP port.
    """

    __slots__ = ("packetsIn", "bytesIn", "forwarded", "dropped", "rejected", "rtcpIn")

    def __init__(self, rtp: _RelayPort, rtcp: _RelayPort):
        self.packetsIn, self.bytesIn = rtp.packetsIn, rtp.bytesIn
        self.forwarded = rtp.packetsIn - rtp.dropped
        self.dropped, self.rejected = rtp.dropped, rtp.rejected
        self.rtcpIn = rtcp.packetsIn

    def asDict(self) -> dict:
        """@return: the counters by name (for the API and logs)."""
        return {name: getattr(self, name) for name in self.__slots__}


@implementer(IMediaEndpoint)
class RelaySide:
    """
    One side of a L{RelaySession}: the ports one party talks to.

    @ivar name: C{"a"} or C{"b"}.
    @ivar port: the RTP port (RTCP is C{port + 1}).
    @ivar address: the address to announce in SDP.
    @ivar rtp: the RTP socket's protocol; @ivar rtcp: the RTCP one's.
    """

    def __init__(self, name: str, port: int, address: str, rtp: _RelayPort,
                 rtcp: _RelayPort):
        self.name, self.port, self.address = name, port, address
        self.rtp, self.rtcp = rtp, rtcp

    @property
    def tap(self):
        """A callable(packet, now) shown each accepted RTP packet, or None."""
        return self.rtp.tap

    @tap.setter
    def tap(self, tap):
        self.rtp.tap = tap

    @property
    def latched(self):
        """@return: the C{(host, port)} RTP is latched to, or None."""
        return self.rtp.source

    def setTarget(self, host: str, port: int, rtcpPort: int | None = None):
        """See L{IMediaEndpoint.setTarget}."""
        if ipaddress.ip_address(host).is_unspecified or not port:
            self.rtp.aim(None)
            self.rtcp.aim(None)
            return
        self.rtp.aim((host, port))
        self.rtcp.aim((host, rtcpPort if rtcpPort else port + 1))

    def mute(self, muted: bool = True):
        """See L{IMediaEndpoint.mute}; RTCP is muted with RTP."""
        self.rtp.mute(muted)
        self.rtcp.mute(muted)

    def inject(self, packet: bytes) -> bool:
        """See L{IMediaEndpoint.inject}."""
        dest = self.rtp.dest
        if dest is None or self.rtp.send is None:
            return False
        try:
            self.rtp.send(packet, dest)
        except OSError:
            return False
        return True

    @property
    def stats(self) -> SideStats:
        """@return: this side's counters now."""
        return SideStats(self.rtp, self.rtcp)


@implementer(IRelaySession)
class RelaySession:
    """
    Two sides of one call.  Packets from side C{a}'s party leave from side
    C{b}'s port to C{b}'s party, and the other way round.

    @ivar onInactive: called with this session once per silence of the
        relay's C{inactivityTimeout} on both sides.
    @ivar released: whether L{RTPRelay.release} was called.
    """

    def __init__(self, callId: str, a: RelaySide, b: RelaySide, pool: PortPool, listening):
        self.callId, self.a, self.b = callId, a, b
        self.onInactive = None
        self.released = False
        self._pool, self._listening = pool, listening
        self._inactive = False
        for kind in ("rtp", "rtcp"):
            ours, theirs = getattr(a, kind), getattr(b, kind)
            ours.peer, theirs.peer = theirs, ours

    @property
    def stats(self) -> dict:
        """@return: C{{"a": SideStats, "b": SideStats}}."""
        return {"a": self.a.stats, "b": self.b.stats}

    def check(self, now: float, timeout: float) -> bool:
        """
        The periodic check of one session.

        @return: whether it has just become inactive (no RTP on either side
            for C{timeout} seconds).
        """
        for side in (self.a, self.b):
            side.rtcp.check(now)
        heard = max(self.a.rtp.check(now), self.b.rtp.check(now))
        if now - heard < timeout:
            self._inactive = False
            return False
        fired, self._inactive = self._inactive, True
        return not fired


@implementer(IMediaRelay)
class RTPRelay:
    """
    Allocates relay sessions on the internal or the external port range.

    @ivar inactivityTimeout: seconds without RTP after which a session's
        C{onInactive} is called.
    """

    def __init__(self, reactor, bindHost: str, internalRange, externalRange,
                 inactivityTimeout: float = 60.0, *, internalAddress: str | None = None,
                 externalAddress: str | None = None, strict: bool = False):
        """
        @param reactor: L{IReactorUDP} and L{IReactorTime}.
        @param bindHost: the address every socket binds.
        @param internalRange: a L{tpbx.config.PortRange} for LAN parties.
        @param externalRange: a L{tpbx.config.PortRange} for trunks, remote
            and NATed parties; the same range as C{internalRange}, or one
            that does not overlap it.
        @param internalAddress: the address announced in SDP for internal
            ports (default C{bindHost}); C{externalAddress} likewise.
        @param strict: latch only to sources on the SDP target's host.
        @raise ValueError: when the ranges overlap without being equal.
        """
        self._reactor, self._bindHost = reactor, bindHost
        self.inactivityTimeout, self._strict = inactivityTimeout, strict
        internal = PortPool(internalRange.first, internalRange.last)
        if (externalRange.first, externalRange.last) == (internalRange.first, internalRange.last):
            external = internal
        elif externalRange.first <= internalRange.last and internalRange.first <= externalRange.last:
            raise ValueError(f"port ranges {internalRange} and {externalRange} overlap")
        else:
            external = PortPool(externalRange.first, externalRange.last)
        self._pools = {False: internal, True: external}
        self._addresses = {False: internalAddress or bindHost,
                           True: externalAddress or bindHost}
        self._sessions: set[RelaySession] = set()
        self._checker = LoopingCall(self._check)
        self._checker.clock = reactor

    @property
    def sessions(self) -> int:
        """@return: how many sessions are allocated and not released."""
        return len(self._sessions)

    def allocate(self, callId: str, external: bool = False) -> RelaySession:
        """See L{IMediaRelay.allocate}; ports of side C{a} first, then C{b}."""
        pool, sides, listening = self._pools[external], [], []
        try:
            for name in ("a", "b"):
                sides.append(self._bindSide(name, pool, self._addresses[external], listening))
        except PortsExhausted:
            for port in listening:
                port.stopListening()
            for side in sides:
                pool.release(side.port)
            raise
        session = RelaySession(callId, sides[0], sides[1], pool, listening)
        self._sessions.add(session)
        if not self._checker.running:
            self._checker.start(CHECK_INTERVAL, now=False)
        return session

    def _bindSide(self, name, pool, address, listening) -> RelaySide:
        """
        Bind RTP and RTCP sockets on the next free pair, retiring pairs
        that fail to bind (another program holds them).

        @raise PortsExhausted: when no pair is left.
        """
        for _ in range(pool.size):
            port = pool.allocate()
            if port is None:
                break
            rtp, rtcp = _RelayPort(self._reactor, self._strict), _RelayPort(self._reactor, self._strict)
            bound = []
            try:
                bound.append(self._reactor.listenUDP(port, rtp, interface=self._bindHost))
                bound.append(self._reactor.listenUDP(port + 1, rtcp, interface=self._bindHost))
            except CannotListenError as e:
                _log.warn("RTP port {port} unusable: {error}", port=port, error=e.socketError)
                for each in bound:
                    each.stopListening()
                pool.markBad(port)
                continue
            listening.extend(bound)
            return RelaySide(name, port, address, rtp, rtcp)
        raise PortsExhausted(f"no free RTP port pair in {pool.first}-{pool.last}")

    def release(self, session: RelaySession):
        """See L{IMediaRelay.release}."""
        if session.released:
            return succeed(None)
        session.released = True
        session.onInactive = None
        self._sessions.discard(session)
        if not self._sessions and self._checker.running:
            self._checker.stop()
        closing = [maybeDeferred(port.stopListening) for port in session._listening]

        def giveBack(_):
            for side in (session.a, session.b):
                session._pool.release(side.port)

        return DeferredList(closing, consumeErrors=True).addCallback(giveBack)

    def stats(self) -> dict:
        """See L{IMediaRelay.stats}."""
        counts = {"sessions": len(self._sessions)}
        for external, name in ((False, "internal"), (True, "external")):
            pool = self._pools[external]
            counts[name] = {"size": pool.size, "free": pool.free, "inUse": pool.inUse,
                            "bad": pool.bad}
        return counts

    def _check(self):
        """The relay's one timer: latch silence and inactivity of every session."""
        now = self._reactor.seconds()
        for session in list(self._sessions):
            if session.check(now, self.inactivityTimeout) and session.onInactive is not None:
                try:
                    session.onInactive(session)
                except Exception:
                    _log.failure("onInactive of {callId} failed", callId=session.callId)
