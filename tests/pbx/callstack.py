# -*- test-case-name: tests.pbx.test_calls -*-
"""
The B2BUA without sockets, for the call tests: the real L{SIPEngine},
L{TransactionLayer}, L{PBXCore}, authenticator and L{CallManager} over a
L{task.Clock}, joined by a fake network to simulated phones.

The phones are L{tests.pbx.callphone.Phone}s: UAs built on the stack
itself.  Every message crosses the network as bytes and is parsed back,
in order, one at a time (no re-entrancy a real network would not have).

Phone timers are kept apart from the clock's DelayedCalls (L{Bench.run}
polls them), so C{clock.getDelayedCalls()} shows only the PBX's: after a
call and L{SETTLE} seconds it must be empty (L{Bench.assertIdle}).
"""

from __future__ import annotations

import ipaddress
from collections import deque

from twisted.internet.defer import succeed
from twisted.internet.task import Clock
from twisted.logger import Logger
from zope.interface import implementer

from tests.pbx.callphone import PBX, SDP, Phone
from tests.pbx.sipfixtures import ALICE, BOB, CAROL, HOST
from tpbx.events import MemoryEventSink
from tpbx.interfaces import IMessageSender
from tpbx.interfaces import IMediaEndpoint, IMediaRelay, IRelaySession
from tpbx.media.player import MusicOnHold
from tpbx.model import Extension
from tpbx.pbx.auth import DigestAuthenticator
from tpbx.pbx.calls import CallManager, CallSettings
from tpbx.pbx.core import PBXCore
from tpbx.pbx.engine import SIPEngine
from tpbx.pbx.location import Binding, MemoryLocationService
from tpbx.pbx.registrar import Registrar
from tpbx.pbx.routing import DialPlan, ExtensionStep
from tpbx.sip.digest import NonceSigner
from tpbx.sip.invite import InviteState
from tpbx.sip.layer import TransactionLayer
from tpbx.sip.parser import parseMessage
from tpbx.sip.sdp import parseSDP
from tpbx.testing import FakeAccessGuard
from tpbx.testing_directory import FakeDirectory

__all__ = ["NOW", "SETTLE", "PBX", "SDP", "DAVE", "FakeSide", "FakeRelaySession",
           "FakeRelay", "Network", "Phone", "Bench", "audio", "connect"]

NOW = 1_700_000_000.0
#: Past every transaction timer (Timer B/D/F/H/J are 64*T1 = 32 s).
SETTLE = 64.0
DAVE = Extension("1004", "Dave", password="dave-pw-000")
_RELAY_PORTS = 20000


@implementer(IMediaEndpoint)
class FakeSide:
    """
    One relay side: records where it was aimed, muting and injected packets.

    @ivar target: the last C{(host, port)} given to L{setTarget}.
    @ivar muted: whether the other party's packets are held back.
    @ivar injected: packets sent to the party by the PBX (music on hold).
    """

    def __init__(self, port: int, address: str = PBX.host):
        self.port = port
        self.address = address
        self.tap = None
        self.target = None
        self.muted = False
        self.injected: list[bytes] = []

    def setTarget(self, host, port, rtcpPort=None):
        ipaddress.ip_address(host)  # ValueError for a name, as the real one
        self.target = (host, port)

    def mute(self, muted=True):
        self.muted = muted

    def inject(self, packet):
        self.injected.append(packet)
        return self.target is not None


@implementer(IRelaySession)
class FakeRelaySession:
    """Two L{FakeSide}s on consecutive even ports."""

    def __init__(self, callId: str, port: int):
        self.callId = callId
        self.a = FakeSide(port)
        self.b = FakeSide(port + 2)
        self.onInactive = self.owner = None
        self.stats = {}


@implementer(IMediaRelay)
class FakeRelay:
    """
    The relay API with counters, for the leak checks.

    @ivar allocated: every session handed out, in order.
    @ivar released: every session given back (once each).
    """

    def __init__(self):
        self.allocated: list[FakeRelaySession] = []
        self.released: list[FakeRelaySession] = []

    @property
    def sessions(self) -> int:
        return len(self.allocated) - len(self.released)

    def allocate(self, callId, external=False):
        session = FakeRelaySession(callId, _RELAY_PORTS + 4 * len(self.allocated))
        self.allocated.append(session)
        return session

    def release(self, session):
        if session not in self.released:
            self.released.append(session)
        return succeed(None)

    def stats(self):
        return {"sessions": self.sessions}


@implementer(IMessageSender)
class Network:
    """
    A FIFO of messages as bytes between the PBX (the L{IMessageSender}
    its engine sends with) and the phones, each parsed again on delivery.

    @ivar log: C{(source, destination, message)} for every delivery; the
        PBX is called C{"pbx"}, phones by name.
    """

    def __init__(self):
        self.engine = None
        self.phones: dict[tuple, Phone] = {}
        self.log: list[tuple] = []
        self._queue: deque = deque()

    def send(self, message, peer):
        self._queue.append((None, self.phones[(peer.host, peer.port)], message.toBytes()))

    def fromPhone(self, phone, message) -> None:
        self._queue.append((phone, None, message.toBytes()))

    def flush(self) -> None:
        """Deliver everything queued, and what that makes be sent."""
        while self._queue:
            source, target, data = self._queue.popleft()
            message = parseMessage(data)
            if target is not None:
                if not target.dead:
                    self.log.append(("pbx", target.name, message))
                    target.receive(message)
            elif not source.dead:
                self.log.append((source.name, "pbx", message))
                self.engine.messageReceived(message, source.peer)


def audio(body: bytes) -> tuple:
    """
    @return: C{(address, port, codec names, direction)} of the first C{m=}
        line of an SDP body.
    """
    sdp = parseSDP(body)
    media = sdp.media[0]
    return (media.address(sdp), media.port,
            [c.name for c in media.rtpmap().values()], media.direction)


def connect(bench, caller=None, callee=None, number: str = "1002") -> None:
    """Set up a call, by default A to B: dialled, rung, answered, ACKed."""
    caller = caller or bench.A
    callee = callee or bench.B
    bench.dial(caller, number)
    callee.ring()
    callee.answer()
    bench.run()
    assert caller.session().state is InviteState.CONFIRMED
    assert callee.session().state is InviteState.CONFIRMED


class Bench:
    """
    The PBX and phones A (Alice, 1001), B and B2 (two devices of Bob,
    1002), C (Carol, 1003) and D (Dave, 1004); those named in
    C{registered} have a binding.

    @ivar records: every call's L{tpbx.pbx.call.CallRecord}, as ended.
    """

    def __init__(self, registered=("A", "B"), settings: CallSettings = CallSettings(),
                 steps=None):
        self.clock = Clock()
        self.clock.advance(NOW)
        self.net = Network()
        self.directory = FakeDirectory([ALICE, BOB, CAROL, DAVE])
        self.guard = FakeAccessGuard()
        self.auth = DigestAuthenticator(self.directory, NonceSigner(b"k" * 32), HOST,
                                        guard=self.guard)
        self.location = MemoryLocationService()
        registrar = Registrar(self.location, self.auth, self.directory, MemoryEventSink())
        self.engine = SIPEngine(self.clock, TransactionLayer(), self.net)
        self.failures: list = []
        self.engine._log = Logger(observer=self._logged)
        self.net.engine = self.engine
        self.relay = FakeRelay()
        self.music = MusicOnHold(b"\x01\x00" * 400)
        self.records: list = []
        dialPlan = DialPlan(steps if steps is not None else [ExtensionStep(self.directory)])
        self.calls = CallManager(self.clock, self.engine, self.location, self.directory,
                                 dialPlan, self.relay, lambda transport: (PBX.host, PBX.port),
                                 music=self.music, cdr=self.records.append, settings=settings)
        self.core = PBXCore(self.clock, self.engine, registrar, self.auth, self.directory,
                            self.guard, calls=self.calls)
        self.engine.user = self.core
        self.phones = {
            "A": Phone(self, "A", ALICE, "192.168.1.10", 5062, 40000),
            "B": Phone(self, "B", BOB, "192.168.1.20", 5060, 41000),
            "B2": Phone(self, "B2", BOB, "192.168.1.21", 5060, 42000),
            "C": Phone(self, "C", CAROL, "192.168.1.30", 5060, 43000),
            "D": Phone(self, "D", DAVE, "192.168.1.40", 5060, 44000),
        }
        self.A, self.B, self.B2, self.C, self.D = self.phones.values()
        for phone in self.phones.values():
            self.net.phones[(phone.peer.host, phone.peer.port)] = phone
        for order, name in enumerate(registered):
            self.register(self.phones[name], order)

    def _logged(self, event: dict) -> None:
        """What the engine logs: an exception that escaped the PBX is kept."""
        if "log_failure" in event:
            self.failures.append(event["log_failure"])

    def register(self, phone: Phone, order: int = 0) -> None:
        """Give C{phone} a binding (earlier ones are rung first)."""
        number = phone.extension.number
        self.location.register(number, Binding(
            number, phone.contact, NOW + 10 ** 7, 1.0, f"reg-{phone.name}", 1,
            phone.peer, registeredAt=NOW - order), NOW)

    def dial(self, caller: Phone, number: str, body: bytes | None = None,
             headers=()) -> InviteSession:
        """
        C{caller} calls C{number}, past the 407 challenge.

        @return: the caller's session of the authenticated INVITE.
        """
        caller.call(number, body, headers)
        self.run()
        return caller.outgoing

    def run(self, seconds: float = 0.0) -> None:
        """
        Deliver every message and fire every timer, the PBX's and the
        phones', in time order for C{seconds} of fake time.
        """
        end = self.clock.seconds() + seconds
        self.net.flush()
        for _ in range(100_000):
            times = [c.getTime() for c in self.clock.getDelayedCalls()]
            times += [p.deadline() for p in self.phones.values()]
            due = min((t for t in times if t is not None), default=None)
            if due is None or due > end:
                break
            self.clock.advance(max(0.0, due - self.clock.seconds()))
            for phone in self.phones.values():
                phone.fire()
            self.net.flush()
        else:
            raise AssertionError("timers never settle")
        self.clock.advance(end - self.clock.seconds())
        self.net.flush()
        assert self.failures == [], self.failures[0].getTraceback()

    def hangUpAll(self) -> None:
        """Every phone hangs up each of its confirmed calls, one by one."""
        for phone in self.phones.values():
            for session in list(phone.sessions.values()):
                if session.state is InviteState.CONFIRMED:
                    phone.do(session, session.hangup(phone.now()))
                    self.run()

    def assertIdle(self) -> None:
        """
        Once every transaction timer has run out: no call, leg,
        transaction or timer left in the call manager, every relay session
        given back, the layer empty, no DelayedCall, and every phone done.
        """
        self.run(SETTLE)
        assert self.calls.counts() == {"calls": 0, "legs": 0, "transactions": 0, "timers": 0}
        assert self.relay.sessions == 0
        assert self.relay.released == self.relay.allocated
        assert len(self.engine.layer) == 0
        assert self.clock.getDelayedCalls() == []
        assert self.core._merged == {}
        assert [p for p in self.phones.values() if not p.idle()] == []
