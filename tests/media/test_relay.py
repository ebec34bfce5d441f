# -*- test-case-name: tests.media.test_relay -*-
"""
Tests for L{tpbx.media.relay} on fake sockets and fake time: forwarding,
symmetric-RTP latching (RFC 4961), the hooks of hold/recording/DTMF,
inactivity, and every port given back.
"""

import errno
import socket

import pytest
from twisted.internet.testing import MemoryReactorClock
from zope.interface.verify import verifyObject

from tpbx.config import PortRange
from tpbx.interfaces import IMediaEndpoint, IMediaRelay, IRelaySession
from tpbx.media.readers import ReactorReaders
from tpbx.media.relay import CHECK_INTERVAL, PortsExhausted, RTPRelay

from .support import A_SDP, B_SDP, EXTERNAL, INTERNAL, FakeNetwork, makeRelay, rtcp, rtp

A_NAT = ("203.0.113.9", 31000)


def call(**kw):
    """@return: C{(reactor, net, relay, session)} with both SDP targets set."""
    reactor, net, relay = makeRelay(**kw)
    session = relay.allocate("call-1")
    session.a.setTarget(*A_SDP)
    session.b.setTarget(*B_SDP)
    return reactor, net, relay, session


def advance(reactor, seconds):
    """Run the relay's checks for C{seconds} of fake time."""
    steps = round(seconds / CHECK_INTERVAL)
    for _ in range(steps):
        reactor.advance(CHECK_INTERVAL)


def test_providesInterfaces():
    """Relay, session and sides provide the media interfaces."""
    _, _, relay, session = call()
    assert verifyObject(IMediaRelay, relay)
    assert verifyObject(IRelaySession, session)
    assert verifyObject(IMediaEndpoint, session.a)


def test_allocateBindsTwoPairs():
    """A session binds RTP and RTCP (port + 1) for each side on bindHost."""
    reactor, net, relay = makeRelay()
    session = relay.allocate("c")
    assert (session.a.port, session.b.port) == (7000, 7002)
    assert sorted(net.sockets) == [7000, 7001, 7002, 7003]
    # RTP sockets absorb bursts (a raised receive buffer); RTCP's need not.
    assert net.bursts == {7000: True, 7001: False, 7002: True, 7003: False}
    assert {sock.host for sock in net.sockets.values()} == {"127.0.0.1"}
    assert {reader.sock for reader in reactor.readers} == set(net.sockets.values())
    assert session.a.address == "127.0.0.1" and session.callId == "c"
    assert relay.sessions == 1 and relay.stats()["internal"]["inUse"] == 2


def test_forwardsToTargetBeforeLatching():
    """Packets from a's party leave b's RTP port for b's SDP target, and back."""
    reactor, net, _, session = call()
    session.a.rtp.datagramReceived(rtp(1), A_SDP)
    session.b.rtp.datagramReceived(rtp(2, ssrc=9), B_SDP)
    assert net.sent(7002) == [(rtp(1), B_SDP)]
    assert net.sent(7000) == [(rtp(2, ssrc=9), A_SDP)]


def test_latchesToNATSource():
    """Media for a party goes where its packets come from, not to its
    (unreachable, private) SDP address (RFC 4961 sec. 3)."""
    reactor, net, _, session = call()
    session.a.rtp.datagramReceived(rtp(1), A_NAT)
    session.b.rtp.datagramReceived(rtp(1, ssrc=9), B_SDP)
    assert session.a.latched == A_NAT
    assert net.sent(7000) == [(rtp(1, ssrc=9), A_NAT)]


def test_rtcpForwardedAndLatchedApart():
    """RTCP is relayed on the +1 ports and latched on its own (its NAT
    mapping differs from RTP's)."""
    reactor, net, _, session = call()
    session.a.rtcp.datagramReceived(rtcp(), ("203.0.113.9", 31001))
    session.b.rtcp.datagramReceived(rtcp(9), ("192.0.2.7", 5001))
    assert net.sent(7003) == [(rtcp(), ("192.0.2.7", 5001))]
    assert net.sent(7001) == [(rtcp(9), ("203.0.113.9", 31001))]
    assert session.a.stats.rtcpIn == 1


def test_nothingSentWithoutDestination():
    """With no SDP target and nothing latched, packets are dropped and counted."""
    reactor, net, relay = makeRelay()
    session = relay.allocate("c")
    session.a.rtp.datagramReceived(rtp(), A_NAT)
    assert net.sent(7002) == []
    stats = session.stats["a"]
    assert (stats.packetsIn, stats.forwarded, stats.dropped) == (1, 0, 1)
    assert stats.asDict()["bytesIn"] == 172


def test_otherSourceRejectedWhileLatchedSpeaks():
    """A second source with the same SSRC does not take the stream while
    the latched one keeps sending."""
    reactor, net, _, session = call()
    session.a.rtp.datagramReceived(rtp(1), A_NAT)
    for seq in range(2, 12):
        reactor.advance(CHECK_INTERVAL)
        session.a.rtp.datagramReceived(rtp(seq), A_NAT)
        session.a.rtp.datagramReceived(rtp(seq), ("198.51.100.1", 9))
    assert session.a.latched == A_NAT
    assert session.a.stats.rejected == 10


def test_relatchAfterSilence():
    """When the latched source has been silent for more than a second, a new
    source (the NAT rebound) takes over."""
    reactor, net, _, session = call()
    session.a.rtp.datagramReceived(rtp(1), A_NAT)
    moved = ("203.0.113.9", 31002)
    advance(reactor, 1.0)
    session.a.rtp.datagramReceived(rtp(2), moved)
    assert session.a.latched == A_NAT
    advance(reactor, 1.0)
    session.a.rtp.datagramReceived(rtp(3), moved)
    assert session.a.latched == moved


def test_relatchOnNewSSRC():
    """A new source with another SSRC (a new stream, RFC 3550 sec. 8.2)
    takes over at once; SSRC and sequence jumps from the latched source
    are forwarded as they are."""
    reactor, net, _, session = call()
    session.a.rtp.datagramReceived(rtp(1, ssrc=1), A_NAT)
    session.a.rtp.datagramReceived(rtp(60000, ssrc=77), A_NAT)
    other = ("198.51.100.1", 9)
    session.a.rtp.datagramReceived(rtp(5, ssrc=2), other)
    assert session.a.latched == other
    assert [p for p, _ in net.sent(7002)] == [rtp(1, ssrc=1), rtp(60000, ssrc=77), rtp(5, ssrc=2)]


def test_strictLatchesOnlyTargetHost():
    """With the strict policy only the SDP host may latch (any port: NAT)."""
    reactor, net, _, session = call(strict=True)
    session.b.rtp.datagramReceived(rtp(), ("198.51.100.1", 5000))
    assert session.b.latched is None
    session.b.rtp.datagramReceived(rtp(), ("192.0.2.7", 6000))
    assert session.b.latched == ("192.0.2.7", 6000)


def test_strictWithoutTargetLatchesNothing():
    """Strict with no SDP target yet accepts no source."""
    _, _, relay = makeRelay(strict=True)
    session = relay.allocate("c")
    session.a.rtp.datagramReceived(rtp(), A_NAT)
    assert session.a.latched is None and session.a.stats.rejected == 1


@pytest.mark.parametrize("garbage", [b"", b"\x80", b"\x00" * 12, b"\x80\x00" + b"\0" * 9, b"\xff" * 200])
def test_garbageNeitherLatchesNorRaises(garbage):
    """Short or non-RTP packets from unknown sources are counted as rejected."""
    reactor, net, _, session = call()
    session.a.rtp.datagramReceived(garbage, A_NAT)
    session.a.rtcp.datagramReceived(garbage, A_NAT)
    assert session.a.latched is None and session.a.stats.rejected == 1
    assert net.sent(7002) == []


def test_latchedSourceForwardedUnparsed():
    """Once latched, a source's packets are forwarded without parsing, even short ones."""
    reactor, net, _, session = call()
    session.a.rtp.datagramReceived(rtp(), A_NAT)
    session.a.rtp.datagramReceived(b"x", A_NAT)
    assert net.sent(7002)[-1] == (b"x", B_SDP)


def test_muteStopsForwardingToSide():
    """A muted side gets neither RTP nor RTCP from the other party, but
    injected packets (music on hold) still reach it; unmuting resumes."""
    reactor, net, _, session = call()
    session.a.mute()
    session.b.rtp.datagramReceived(rtp(1, ssrc=9), B_SDP)
    session.b.rtcp.datagramReceived(rtcp(9), ("192.0.2.7", 5001))
    assert net.sent(7000) == [] and net.sent(7001) == []
    assert session.a.inject(b"moh") is True
    session.a.mute(False)
    session.b.rtp.datagramReceived(rtp(2, ssrc=9), B_SDP)
    assert net.sent(7000) == [(b"moh", A_SDP), (rtp(2, ssrc=9), A_SDP)]
    assert session.b.stats.dropped == 1


def test_injectFollowsLatch():
    """Injected packets go to the latched source, and nowhere without a destination."""
    reactor, net, relay = makeRelay()
    session = relay.allocate("c")
    assert session.a.inject(b"x") is False
    session.a.rtp.datagramReceived(rtp(), A_NAT)
    assert session.a.inject(b"y") is True
    assert net.sent(7000) == [(b"y", A_NAT)]


def test_tapSeesAcceptedRTP():
    """The tap gets every accepted RTP packet with the time; a failing tap
    does not stop forwarding."""
    reactor, net, _, session = call()
    seen = []
    session.a.tap = lambda packet, now: seen.append((packet, now))
    reactor.advance(3)
    session.a.rtp.datagramReceived(rtp(1), A_NAT)
    session.a.rtp.datagramReceived(b"junk", ("198.51.100.1", 9))
    assert seen == [(rtp(1), 3.0)] and session.a.tap is not None
    session.a.tap = lambda packet, now: 1 / 0
    session.a.rtp.datagramReceived(rtp(2), A_NAT)
    assert net.sent(7002)[-1] == (rtp(2), B_SDP)


def test_setTarget():
    """The same target keeps the latch, another drops it, 0.0.0.0 or port 0
    clears it (RFC 3264 sec. 8.4), a=rtcp sets RTCP (RFC 3605), names are refused."""
    _, _, _, session = call()
    session.a.rtp.datagramReceived(rtp(), A_NAT)
    session.a.setTarget(*A_SDP)
    assert session.a.latched == A_NAT
    session.a.setTarget("10.0.0.6", 4000, rtcpPort=4444)
    assert session.a.latched is None and session.a.rtcp.dest == ("10.0.0.6", 4444)
    session.a.setTarget("0.0.0.0", 4000)
    assert session.a.rtp.dest is None and session.a.rtcp.dest is None
    session.a.setTarget("10.0.0.6", 0)
    assert session.a.rtp.dest is None
    with pytest.raises(ValueError):
        session.a.setTarget("phone.example", 4000)


def test_inactivityCallback():
    """No RTP on either side for the timeout calls onInactive once; RTP
    coming back rearms it."""
    reactor, net, _, session = call(timeout=5.0)
    fired = []
    session.onInactive = fired.append
    session.a.rtp.datagramReceived(rtp(), A_NAT)
    advance(reactor, 4.5)
    assert fired == []
    advance(reactor, 1.0)
    assert fired == [session]
    advance(reactor, 10)
    assert fired == [session]
    session.b.rtp.datagramReceived(rtp(ssrc=9), B_SDP)
    advance(reactor, 1.0)
    advance(reactor, 5.0)
    assert fired == [session, session]


def test_failingInactiveCallbackKeepsChecking():
    """An onInactive that raises does not stop the relay's timer."""
    reactor, net, relay, session = call(timeout=1.0)
    session.onInactive = lambda s: 1 / 0
    other = relay.allocate("c2")
    fired = []
    other.onInactive = fired.append
    advance(reactor, 2.0)
    assert fired == [other]


def test_releaseReturnsEverything():
    """Release closes the four sockets, returns both pairs, stops the timer
    when no session is left, and is idempotent."""
    reactor, net, relay, session = call()
    d = relay.release(session)
    assert hasFired(d)
    assert all(net.sockets[p].closed for p in (7000, 7001, 7002, 7003))
    assert reactor.readers == set()
    assert relay.sessions == 0 and relay.stats()["internal"]["inUse"] == 0
    assert reactor.getDelayedCalls() == []
    assert hasFired(relay.release(session))
    assert relay.stats()["internal"]["free"] == 6


def test_releasedSessionFreedWithoutCollector():
    """A released session is freed by reference counting: its sockets no
    longer refer to each other (or to a tap), so no cycle is left for
    the cyclic collector."""
    reactor, net, relay, session = call()
    session.a.tap = lambda packet, now: None
    relay.release(session)
    ports = [session.a.rtp, session.a.rtcp, session.b.rtp, session.b.rtcp]
    assert all(port.peer is None and port.tap is None for port in ports)


def hasFired(d):
    """@return: whether Deferred C{d} has fired (successfully)."""
    results = []
    d.addCallback(results.append)
    return len(results) == 1


def test_releaseDuringInactivityCallback():
    """The call code may release the session from onInactive."""
    reactor, net, relay, session = call(timeout=1.0)
    session.onInactive = relay.release
    advance(reactor, 2.0)
    assert relay.sessions == 0 and reactor.getDelayedCalls() == []


def test_exhaustionGivesBackHalfSession():
    """When only one pair is free, allocate raises PortsExhausted and
    returns that pair."""
    _, _, relay = makeRelay()
    relay.allocate("1")
    relay.allocate("2")
    relay.allocate("3")
    with pytest.raises(PortsExhausted):
        relay.allocate("4")
    counts = relay.stats()["internal"]
    assert (counts["inUse"], counts["free"], relay.sessions) == (6, 0, 3)


def test_busyPortsRetired():
    """A pair whose RTP or RTCP port fails to bind is retired and the next one used."""
    reactor, net, relay = makeRelay(busy={7000, 7003})
    session = relay.allocate("c")
    assert (session.a.port, session.b.port) == (7004, 7006)
    assert relay.stats()["internal"]["bad"] == 2
    assert net.sockets[7002].closed and len(reactor.readers) == 4


def test_externalRange():
    """External sessions use the external range and its advertised address."""
    _, _, relay = makeRelay(externalAddress="198.51.100.20")
    session = relay.allocate("c", external=True)
    assert (session.a.port, session.a.address) == (8000, "198.51.100.20")
    assert relay.stats()["external"]["inUse"] == 2


def test_rangesSharedOrDisjoint():
    """Equal ranges share one pool; overlapping different ranges are refused."""
    reactor, net, _ = makeRelay()
    same = RTPRelay(reactor, "127.0.0.1", PortRange(7000, 7003), PortRange(7000, 7003),
                    openSocket=net.open, readers=ReactorReaders(reactor))
    same.allocate("c")
    assert same.stats()["external"]["inUse"] == 2
    with pytest.raises(PortsExhausted):
        same.allocate("d", external=True)
    with pytest.raises(ValueError):
        RTPRelay(reactor, "127.0.0.1", PortRange(7000, 7010), PortRange(7010, 7020))


def test_sendFailureCountedAsDropped():
    """A send the kernel refuses (full buffer, ICMP error) loses that packet
    only: it is counted as dropped, and inject reports it."""
    _, net, _, session = call()
    net.sockets[7002].failure = errno.ENOBUFS
    session.a.rtp.datagramReceived(rtp(1), A_NAT)
    assert (session.a.stats.packetsIn, session.a.stats.dropped) == (1, 1)
    net.sockets[7000].failure = errno.ECONNREFUSED
    assert session.a.inject(b"moh") is False


def test_otherBindErrorsRetireNothing():
    """A bind error that is not the port's fault (no descriptors left) fails
    the allocation with PortsExhausted and keeps every pair in the pool."""
    _, net, relay = makeRelay()
    net.failure = errno.EMFILE
    with pytest.raises(PortsExhausted):
        relay.allocate("c")
    assert relay.stats()["internal"] == {"size": 6, "free": 6, "inUse": 0, "bad": 0}
    net.failure = None
    assert relay.allocate("c").a.port == 7002


def test_halfSessionClosedOnExhaustion():
    """When side b cannot be bound, side a's sockets are closed, not leaked."""
    reactor, net, relay = makeRelay(busy={8002, 8004, 8006, 8008, 8010})
    with pytest.raises(PortsExhausted):
        relay.allocate("c", external=True)
    assert net.sockets[8000].closed and net.sockets[8001].closed
    assert reactor.readers == set() and relay.stats()["external"]["inUse"] == 0


def test_ipv6SocketsMapIPv4Targets():
    """On IPv6 sockets an IPv4 SDP target is aimed at its IPv4-mapped form
    (RFC 4291 sec. 2.5.5.2), which is how the kernel reports that party's
    packets, so strict latching and sending work for IPv4 phones."""
    _, net, _, session = call(family=socket.AF_INET6, strict=True)
    assert session.a.rtp.dest == ("::ffff:10.0.0.5", 4000)
    source = ("::ffff:10.0.0.5", 4100, 0, 0)
    session.a.rtp.datagramReceived(rtp(), source)
    assert session.a.latched == source
    assert net.sent(7002) == [(rtp(), ("::ffff:192.0.2.7", 5000))]


# Sockets kept open between calls (keepSockets)


def countingNet(net):
    """@return: a list that C{net.open} appends each port it opens to."""
    opened, open_ = [], net.open

    def opening(host, port, burst=True):
        opened.append(port)
        return open_(host, port, burst)
    net.open = opening
    return opened


def keptRelay():
    """@return: C{(reactor, net, relay, opened)}: a relay keeping its sockets."""
    reactor, net = MemoryReactorClock(), FakeNetwork()
    opened = countingNet(net)
    relay = RTPRelay(reactor, "127.0.0.1", INTERNAL, EXTERNAL, 60.0, keepSockets=True,
                     openSocket=net.open,
                     readers=ReactorReaders(reactor))
    return reactor, net, relay, opened


def test_maxSocketsCountsEveryPairOnce():
    """What keeping sockets may come to: two per pair of each range, a
    range shared by internal and external calls counted once."""
    reactor, net, relay = makeRelay()
    assert relay.maxSockets == 24 and not relay.keepSockets
    shared = RTPRelay(reactor, "127.0.0.1", PortRange(7000, 7004), PortRange(7000, 7004),
                      openSocket=net.open, readers=ReactorReaders(reactor))
    assert shared.maxSockets == 4


def test_keptSocketsStayOpenAfterRelease():
    """With keepSockets, release returns both pairs but keeps their four
    sockets open and read, and lets go of peers and taps."""
    reactor, net, relay, opened = keptRelay()
    session = relay.allocate("c")
    session.a.tap = lambda packet, now: None
    relay.release(session)
    ports = [session.a.rtp, session.a.rtcp, session.b.rtp, session.b.rtcp]
    assert not any(net.sockets[p].closed for p in (7000, 7001, 7002, 7003))
    assert {reader.sock for reader in reactor.readers} == set(net.sockets.values())
    assert all(port.peer is None and port.tap is None for port in ports)
    stats = relay.stats()
    assert (stats["sessions"], stats["keptPairs"], stats["internal"]["inUse"]) == (0, 2, 0)


def test_keptPairReusedWithoutOpening():
    """When the pool hands a kept pair out again (least recently released
    first, as ever), its sockets are reused, nothing is opened, and the
    new call starts with nothing of the old one: no latch, no target, no
    counts, not muted."""
    reactor, net, relay, opened = keptRelay()
    first = relay.allocate("1")
    first.a.setTarget(*A_SDP)
    first.a.rtp.datagramReceived(rtp(1), A_NAT)
    first.a.mute()
    relay.release(first)
    relay.allocate("2")
    relay.allocate("3")
    assert opened == list(range(7000, 7012))
    again = relay.allocate("4")
    assert opened == list(range(7000, 7012))
    assert (again.a.port, again.b.port) == (7000, 7002)
    assert again.a.rtp is first.a.rtp and again.a.rtp.sock is net.sockets[7000]
    assert (again.a.latched, again.a.rtp.target, again.a.rtp.muted) == (None, None, False)
    assert again.a.stats.asDict() == dict.fromkeys(again.a.stats.asDict(), 0)
    again.b.setTarget(*B_SDP)
    again.a.rtp.datagramReceived(rtp(5, ssrc=7), A_NAT)
    assert again.a.latched == A_NAT and net.sent(7002)[-1] == (rtp(5, ssrc=7), B_SDP)
    assert relay.stats()["keptPairs"] == 0


def test_idleKeptPortDropsWhatArrives():
    """Late packets reaching a kept socket between calls are read and
    dropped: nothing latched, nothing sent, nothing raised."""
    reactor, net, relay, opened = keptRelay()
    session = relay.allocate("c")
    session.a.setTarget(*A_SDP)
    session.b.setTarget(*B_SDP)
    relay.release(session)
    session.a.rtp.datagramReceived(rtp(9), A_SDP)
    session.b.rtcp.datagramReceived(rtcp(), B_SDP)
    assert session.a.latched is None and session.a.stats.rejected == 1
    assert all(net.sent(port) == [] for port in (7000, 7001, 7002, 7003))


def test_closeClosesEverySocket():
    """close (service shutdown) releases live sessions and closes kept and
    live sockets alike; nothing stays on the reactor."""
    reactor, net, relay, opened = keptRelay()
    relay.release(relay.allocate("ended"))
    live = relay.allocate("live")
    relay.close()
    assert all(sock.closed for sock in net.sockets.values()) and len(net.sockets) == 8
    assert reactor.readers == set() and reactor.getDelayedCalls() == []
    assert live.released and relay.stats()["keptPairs"] == 0


def test_halfSessionKeptOnExhaustion():
    """With keepSockets, side a of a session that cannot get side b is
    kept like a released one, read like one (what arrives is dropped,
    not left for the next call), and its pair goes back to the pool."""
    reactor, net = MemoryReactorClock(), FakeNetwork(busy={8002, 8004, 8006, 8008, 8010})
    relay = RTPRelay(reactor, "127.0.0.1", INTERNAL, EXTERNAL, keepSockets=True,
                     openSocket=net.open, readers=ReactorReaders(reactor))
    with pytest.raises(PortsExhausted):
        relay.allocate("c", external=True)
    assert not net.sockets[8000].closed and relay.stats()["keptPairs"] == 1
    assert {reader.sock for reader in reactor.readers} == {net.sockets[8000], net.sockets[8001]}
    assert relay.stats()["external"]["inUse"] == 0
