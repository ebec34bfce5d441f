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

Memory is per call, so a session is small: four slotted readers, each
around a bare socket (L{tpbx.media.udpsocket}) filed in the relay's own
epoll (L{tpbx.media.readers}, nothing in the reactor's tables), two
slotted sides and the session itself: about 1.6 KB
(C{bench/profile/relay_memory.py}).

Setting a call up costs more than relaying it, and opening, filing and
closing its four sockets was the largest part of a relayed call's setup
beyond the SIP messages: so the relay can keep a released pair's sockets
open, idle, until the pool hands the pair out again (C{keepSockets}; the
service turns it on when the open-files limit allows one descriptor per
port of the ranges).
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from functools import lru_cache

from twisted.internet.defer import succeed
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from zope.interface import implementer

from tpbx.interfaces import IMediaEndpoint, IMediaRelay, IRelaySession
from tpbx.media.ports import PortPool
from tpbx.media.readers import defaultReaders
from tpbx.media.rtp import ssrcOf
from tpbx.media.udpsocket import DatagramReader, UDPSocketOpener

__all__ = ["RTPRelay", "RelaySession", "RelaySide", "SideStats", "PortsExhausted",
           "LATCH_SILENCE", "CHECK_INTERVAL", "MULTICAST_TTL"]

# A latched source keeps its stream until it has been silent this long
# (seconds), unless a new source shows a new SSRC (RFC 3550 sec. 8.2).
LATCH_SILENCE = 1.0
# How often the relay's one timer looks at the packet counters (seconds).
CHECK_INTERVAL = 0.5
# Hops a multicast page's packets may cross (SPEC E4): 1 keeps them on the
# PBX's own subnet, where paging phones listen; routers pass no further.
MULTICAST_TTL = 1
# Bind errors meaning "another program holds this port": the pair is
# retired.  Any other (no descriptors left, address not local) is not the
# port's fault and fails the allocation without retiring anything.
_HELD = frozenset({errno.EADDRINUSE, errno.EACCES})

_log = Logger()


@lru_cache(maxsize=1024)
def _unspecified(host: str) -> bool:
    """Whether C{host} (an IP literal) is 0.0.0.0 or ::, the RFC 3264 hold of old."""
    return ipaddress.ip_address(host).is_unspecified


@lru_cache(maxsize=1024)
def _multicast(host: str) -> bool:
    """Whether C{host} (an IP literal) is a multicast group (224.0.0.0/4, ff00::/8)."""
    return ipaddress.ip_address(host).is_multicast


class PortsExhausted(Exception):
    """No RTP/RTCP port pair could be bound; answer the call with 503."""


class _RelayPort(DatagramReader):
    """
    One socket (RTP or RTCP) of one side: receives from its party, sends
    what it receives out of the peer socket of the other side.

    @ivar source: the latched C{(host, port)} of this side's party, or None.
    @ivar dest: where packets to this party go: the latched source, else
        the target from SDP, else L{None}.
    @ivar forwardTo: C{dest}, or L{None} while the side is muted.
    @ivar peer: the port of the same kind (RTP/RTCP) on the other side.
    """

    __slots__ = ("strict", "source", "dest", "forwardTo", "target", "peer", "tap",
                 "muted", "ssrc", "packetsIn", "bytesIn", "dropped", "rejected",
                 "heardAt", "seenCount")

    def __init__(self, readers, sock, strict: bool, now: float):
        """
        @param readers: the relay's socket registry (L{tpbx.media.readers});
            its C{seconds} is the time.
        @param sock: the bound socket, owned from now on.
        @param now: the time, when nothing was heard yet.
        """
        DatagramReader.__init__(self, readers, sock)
        self.rearm(strict, now)

    def rearm(self, strict: bool, now: float) -> None:
        """
        Start a call's life on this socket: nothing latched, aimed or
        counted, no peer yet.  A kept socket (L{idle}) is rearmed when its
        port is allocated again.
        """
        self.strict = strict
        self.source = self.dest = self.forwardTo = self.target = None
        self.peer = self.tap = self.ssrc = None
        self.muted = False
        self.packetsIn = self.bytesIn = self.dropped = self.rejected = 0
        self.heardAt, self.seenCount = now, 0

    def idle(self) -> None:
        """
        Between calls, the socket kept open: strict with no target, so that
        L{_accept} takes nothing and whatever still arrives (late RTP of
        the ended call) is read and dropped; no peer, no tap, so the ended
        call is freed by reference counting.  Multicast options a page set
        (L{sendToGroup}) may stay: they apply only to packets sent to a
        group, and a call is aimed at a group only through that method.
        """
        self.strict = True
        self.source = self.dest = self.forwardTo = self.target = None
        self.peer = self.tap = None

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
        dest = peer.forwardTo
        if dest is None:
            self.dropped += 1
            return
        try:
            peer.sock.sendto(data, dest)
        except OSError:   # full buffer, ICMP error, unroutable: a lost packet
            self.dropped += 1

    def _tapped(self, data):
        """Show an accepted packet to the tap; a failing tap is logged, not fatal."""
        try:
            self.tap(data, self._readers.seconds())
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
        now = self._readers.seconds()
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
        """
        Set the SDP target; a new target drops the latch.  On an IPv6
        socket an IPv4 target is written IPv4-mapped (RFC 4291 sec.
        2.5.5.2), as the kernel reports such sources.
        """
        if target is not None and self.sock.family == socket.AF_INET6 and ":" not in target[0]:
            target = ("::ffff:" + target[0], target[1])
        if target == self.target:
            return
        self.target = self.dest = target
        self.source = self.ssrc = None
        self.mute(self.muted)

    def mute(self, muted: bool):
        """Stop or resume forwarding to this port's party."""
        self.muted = muted
        self.forwardTo = None if muted else self.dest

    def sendToGroup(self, group: str) -> None:
        """
        This port's party is the multicast C{group} (paging, SPEC E4): what
        is sent to it leaves with a TTL of L{MULTICAST_TTL}, from the
        interface of the bound address when there is one; and nothing
        ever latches (strict: no datagram comes from a group address).
        A group the socket cannot reach (an IPv6 group on an IPv4 relay,
        options the system refuses) is logged once here, its packets
        counted as dropped; nothing raises into the call.
        """
        self.strict = True
        sock = self.sock
        try:
            if sock.family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, MULTICAST_TTL)
                return
            if ":" in group:
                raise OSError("an IPv6 group on an IPv4 relay socket")
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, MULTICAST_TTL)
            host = sock.getsockname()[0]
            if not _unspecified(host):
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(host))
        except OSError as e:
            _log.warn("multicast group {group} cannot be reached: {error}", group=group, error=e)


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
    @ivar rtp: the RTP socket's reader; @ivar rtcp: the RTCP one's.
    """

    __slots__ = ("name", "port", "address", "rtp", "rtcp")

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
        if not port or _unspecified(host):
            self.rtp.aim(None)
            self.rtcp.aim(None)
            return
        if _multicast(host):
            self.rtp.sendToGroup(host)
            self.rtcp.sendToGroup(host)
        self.rtp.aim((host, port))
        self.rtcp.aim((host, rtcpPort if rtcpPort else port + 1))

    def mute(self, muted: bool = True):
        """See L{IMediaEndpoint.mute}; RTCP is muted with RTP."""
        self.rtp.mute(muted)
        self.rtcp.mute(muted)

    def inject(self, packet: bytes) -> bool:
        """See L{IMediaEndpoint.inject}."""
        dest = self.rtp.dest
        return dest is not None and self.rtp.sendto(packet, dest)

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
    @ivar owner: see L{IRelaySession.owner}.
    @ivar released: whether L{RTPRelay.release} was called.
    """

    __slots__ = ("callId", "a", "b", "onInactive", "owner", "released", "_pool", "_inactive")

    def __init__(self, callId: str, a: RelaySide, b: RelaySide, pool: PortPool):
        self.callId, self.a, self.b = callId, a, b
        self.onInactive = self.owner = None
        self.released = False
        self._pool = pool
        self._inactive = False
        a.rtp.peer, b.rtp.peer = b.rtp, a.rtp
        a.rtcp.peer, b.rtcp.peer = b.rtcp, a.rtcp

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
    @ivar keepSockets: whether released pairs' sockets are kept open (see
        L{release}); set before the first call.
    """

    def __init__(self, reactor, bindHost: str, internalRange, externalRange,
                 inactivityTimeout: float = 60.0, *, internalAddress: str | None = None,
                 externalAddress: str | None = None, strict: bool = False,
                 keepSockets: bool = False, openSocket=None, readers=None):
        """
        @param reactor: L{IReactorFDSet} and L{IReactorTime}.
        @param bindHost: the address every socket binds (IPv6 when it
            holds a C{":"}).
        @param internalRange: a L{tpbx.config.PortRange} for LAN parties.
        @param externalRange: a L{tpbx.config.PortRange} for trunks, remote
            and NATed parties; the same range as C{internalRange}, or one
            that does not overlap it.
        @param internalAddress: the address announced in SDP for internal
            ports (default C{bindHost}); C{externalAddress} likewise.
        @param strict: latch only to sources on the SDP target's host.
        @param keepSockets: keep a released pair's sockets open, idle, for
            the next call that gets its ports (see L{release}); the caller
            makes sure the process may hold one descriptor per port of
            the ranges (L{tpbx.openfiles}).
        @param openSocket: C{(host, port, burst=True) -> socket}, bound and
            non-blocking (C{burst}: RTP, not RTCP),
            raising L{OSError}; by default a L{UDPSocketOpener}, a fake in tests.
        @param readers: where the sockets register (L{tpbx.media.readers});
            by default L{defaultReaders}, the relay's own epoll on Linux.
        @raise ValueError: when the ranges overlap without being equal.
        """
        self._reactor, self._bindHost = reactor, bindHost
        self.inactivityTimeout, self._strict = inactivityTimeout, strict
        self._openSocket = openSocket if openSocket is not None else UDPSocketOpener()
        internal = PortPool(internalRange.first, internalRange.last)
        if (externalRange.first, externalRange.last) == (internalRange.first, internalRange.last):
            external = internal
        elif externalRange.first <= internalRange.last and internalRange.first <= externalRange.last:
            raise ValueError(f"port ranges {internalRange} and {externalRange} overlap")
        else:
            external = PortPool(externalRange.first, externalRange.last)
        self._pools = {False: internal, True: external}
        self._readers = readers if readers is not None else defaultReaders(reactor)
        self._addresses = {False: internalAddress or bindHost,
                           True: externalAddress or bindHost}
        self._sessions: set[RelaySession] = set()
        self.keepSockets = keepSockets
        # Released pairs' readers, by RTP port, while keepSockets.
        self._kept: dict[int, tuple[_RelayPort, _RelayPort]] = {}
        self._checker = LoopingCall(self._check)
        self._checker.clock = reactor

    @property
    def maxSockets(self) -> int:
        """
        @return: how many sockets the relay holds with every pair of its
            ranges in use or kept (a range shared by internal and external
            calls counted once): what L{keepSockets} may come to.
        """
        internal, external = self._pools[False], self._pools[True]
        return 2 * (internal.size + (external.size if external is not internal else 0))

    @property
    def sessions(self) -> int:
        """@return: how many sessions are allocated and not released."""
        return len(self._sessions)

    def allocate(self, callId: str, external: bool = False) -> RelaySession:
        """See L{IMediaRelay.allocate}; ports of side C{a} first, then C{b}."""
        pool, address = self._pools[external], self._addresses[external]
        a = self._bindSide("a", pool, address)
        try:
            b = self._bindSide("b", pool, address)
        except PortsExhausted:
            self._letGo(a, pool)
            raise
        session = RelaySession(callId, a, b, pool)
        for reader in (a.rtp, a.rtcp, b.rtp, b.rtcp):
            reader.startReading()
        self._sessions.add(session)
        if not self._checker.running:
            self._checker.start(CHECK_INTERVAL, now=False)
        return session

    def _bindSide(self, name, pool, address) -> RelaySide:
        """
        Bind RTP and RTCP sockets on the next free pair, retiring pairs
        that another program holds.

        @raise PortsExhausted: when no pair is left, or a socket cannot be
            had for another reason (e.g. no file descriptor left).
        """
        for _ in range(pool.size):
            port = pool.allocate()
            if port is None:
                break
            try:
                rtp, rtcp = self._openPair(port)
            except OSError as e:
                if e.errno not in _HELD:
                    pool.release(port)
                    raise PortsExhausted(f"cannot bind RTP port {port}: {e}") from e
                _log.warn("RTP port {port} unusable: {error}", port=port, error=e)
                pool.markBad(port)
                continue
            return RelaySide(name, port, address, rtp, rtcp)
        raise PortsExhausted(f"no free RTP port pair in {pool.first}-{pool.last}")

    def _openPair(self, port: int) -> tuple[_RelayPort, _RelayPort]:
        """
        @return: readers on C{port} and C{port + 1}: the pair's kept ones
            rearmed (read already), else new ones (not read yet).
        @raise OSError: when either cannot be bound; nothing stays open.
        """
        kept = self._kept.pop(port, None)
        if kept is not None:
            now = self._reactor.seconds()
            for reader in kept:
                reader.rearm(self._strict, now)
            return kept
        rtp = self._openSocket(self._bindHost, port)
        try:
            rtcp = self._openSocket(self._bindHost, port + 1, burst=False)
        except OSError:
            rtp.close()
            raise
        now = self._reactor.seconds()
        return (_RelayPort(self._readers, rtp, self._strict, now),
                _RelayPort(self._readers, rtcp, self._strict, now))

    def release(self, session: RelaySession):
        """
        See L{IMediaRelay.release}.  The sockets are closed at once, or,
        with C{keepSockets}, kept open and idle (packets still arriving are
        read and dropped) until the pool hands their port out again.

        Keeping them saves the 18 system calls of opening, filing and
        closing four sockets a call: the largest single cost of a relayed
        call's setup after the SIP messages themselves.  It changes nothing
        in when a port is reused (least recently released first, minutes
        apart on a range sized for the calls): only that late packets
        between calls are dropped by the PBX instead of answered by the
        kernel with ICMP port unreachable.
        """
        if session.released:
            return succeed(None)
        session.released = True
        session.onInactive = session.owner = None
        self._sessions.discard(session)
        if not self._sessions and self._checker.running:
            self._checker.stop()
        self._letGo(session.a, session._pool)
        self._letGo(session.b, session._pool)
        return succeed(None)

    def _letGo(self, side: RelaySide, pool: PortPool) -> None:
        """
        Close C{side}'s sockets or keep them idle, and give its pair back to
        C{pool}.  Either way the sockets let go of the other side's and
        of their taps, so that a released session is freed by reference
        counting, not left to the cyclic collector.
        """
        rtp, rtcp = side.rtp, side.rtcp
        if self.keepSockets:
            for reader in (rtp, rtcp):
                reader.idle()
                reader.startReading()   # a half session's side never started
            self._kept[side.port] = (rtp, rtcp)
        else:
            for reader in (rtp, rtcp):
                reader.close()
                reader.peer = reader.tap = None
        pool.release(side.port)

    def close(self) -> None:
        """
        Release every session and close every socket, the kept ones too
        (service shutdown): the relay's registry then leaves the reactor.
        """
        for session in list(self._sessions):
            self.release(session)
        kept, self._kept = self._kept, {}
        for pair in kept.values():
            for reader in pair:
                reader.close()

    def stats(self) -> dict:
        """See L{IMediaRelay.stats}."""
        counts = {"sessions": len(self._sessions), "keptPairs": len(self._kept)}
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
