# -*- test-case-name: tests.test_service -*-
"""
L{tpbx.service.PBXService} for real: the whole service tree on 127.0.0.1
with ephemeral ports and a data directory set up as C{tpbx-admin init}
would, driven by a phone on a real UDP socket.  Registrations survive a
restart, and configuration written by another process (another
L{Store}) reaches the running SIP path within a few housekeeping ticks.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile

from twisted.internet.defer import Deferred, inlineCallbacks, succeed
from twisted.internet.protocol import DatagramProtocol
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from tests.pbx.sipfixtures import answer, register
from tpbx.config import ServerConfig
from tpbx import service as service_module
from tpbx.model import AccessEntry
from tpbx.openfiles import OTHER_FILES
from tpbx.pbx.status import PBXStatus
from tpbx.service import HOUSEKEEPING_INTERVAL, PBXService
from tpbx.sip.parser import parseMessage
from tpbx.sip.reply import newBranch
from tpbx.store import SetupChoices, initialise, openStore

FIRST = {"number": "101", "firstName": "Alice", "password": "Wq7-stable-Pass-101"}
SECOND = {"number": "102", "firstName": "Bob", "password": "Zx9-second-Pass-102"}
# Short waits between looks at the running service: bounded, never a sleep
# that a test depends on (the loop ends as soon as the change shows).
POLL_STEP = 0.05
POLL_LIMIT = int(10 * HOUSEKEEPING_INTERVAL / POLL_STEP)


class Phone(DatagramProtocol):
    """A SIP phone on a real UDP socket: sends requests, hands back what arrives."""

    def __init__(self):
        self._waiting: list[Deferred] = []
        self._ready: list = []

    @property
    def port(self) -> int:
        return self.transport.getHost().port

    def datagramReceived(self, data, addr):
        message = parseMessage(data)
        if self._waiting:
            self._waiting.pop(0).callback(message)
        else:
            self._ready.append(message)

    def next(self) -> Deferred:
        """@return: a Deferred firing with the next message received."""
        if self._ready:
            return succeed(self._ready.pop(0))
        waiter = Deferred()
        self._waiting.append(waiter)
        return waiter

    def registerRequest(self, number: str, cseq: int):
        """@return: a REGISTER of this phone's address for C{number}."""
        request = register(number, (f"<sip:{number}@127.0.0.1:{self.port}>",),
                           expires=600, callId=f"reg-{number}-{self.port}", cseq=cseq)
        request.headers.set("Via", f"SIP/2.0/UDP 127.0.0.1:{self.port};"
                                   f"branch={newBranch()};rport")
        return request

    @inlineCallbacks
    def registerTo(self, sipPort: int, extension: dict):
        """
        Register to the PBX at C{sipPort}, answering its 401.

        @return: a Deferred firing with the final response.
        """
        number = extension["number"]
        self.transport.write(self.registerRequest(number, 1).toBytes(), ("127.0.0.1", sipPort))
        challenge = yield self.next()
        assert challenge.status == 401, challenge
        request = answer(self.registerRequest(number, 2), challenge, number,
                         extension["password"])
        self.transport.write(request.toBytes(), ("127.0.0.1", sipPort))
        response = yield self.next()
        return response


class PBXServiceTests(TestCase):
    """The PBX service started and stopped on the real reactor."""

    timeout = 60

    def setUp(self):
        from twisted.internet import reactor  # trial runs the real reactor

        self.reactor = reactor
        # Not self.mktemp(): under pytest that is relative to the repository.
        self.dataDir = tempfile.mkdtemp(prefix="tpbx-service-")
        self.addCleanup(shutil.rmtree, self.dataDir, True)
        store = openStore(self.dataDir)
        try:
            initialise(store, "Quartz-7-Lantern-Mosaic", SetupChoices())
            store.createExtension(dict(FIRST))
        finally:
            store.close()
        self.config = ServerConfig(dataDir=self.dataDir, bindHost="127.0.0.1",
                                   advertisedHost="127.0.0.1", sipPort=0, tlsPort=0,
                                   webPort=0, serverHeader="tpbx-test")
        self.phone = Phone()
        port = reactor.listenUDP(0, self.phone, interface="127.0.0.1")
        self.addCleanup(port.stopListening)

    def startPBX(self) -> PBXService:
        """Start a service on the data directory; it is stopped at cleanup."""
        service = PBXService(self.config, self.reactor)
        service.startService()
        self.addCleanup(lambda: service.stopService() if service.running else None)
        return service

    def registrations(self, service) -> list[dict]:
        return PBXStatus(service.location, self.reactor).registrations()

    @inlineCallbacks
    def waitFor(self, condition) -> Deferred:
        """Look at C{condition()} every L{POLL_STEP} s, at most L{POLL_LIMIT} times."""
        for _ in range(POLL_LIMIT):
            if condition():
                return
            yield deferLater(self.reactor, POLL_STEP, lambda: None)
        self.fail(f"not seen after {POLL_LIMIT} looks: {condition}")

    def test_portsBoundAndWritten(self):
        """
        Port 0 binds ephemeral ports for UDP, TCP, TLS and the web; the
        ports actually bound are in C{ports} and in DATA/ports.json.
        """
        service = self.startPBX()
        self.assertEqual(set(service.ports), {"udp", "tcp", "tls", "web"})
        self.assertNotIn(0, service.ports.values())
        with open(os.path.join(self.dataDir, "ports.json")) as f:
            self.assertEqual(json.load(f), service.ports)

    def test_rtpTimeoutReachesTheRelay(self):
        """The configured RTP timeout is the relay's inactivity timeout."""
        self.config = dataclasses.replace(self.config, rtpTimeout=300)
        self.assertEqual(self.startPBX().relay.inactivityTimeout, 300)

    @inlineCallbacks
    def test_relaySocketsKeptThenClosedAtStop(self):
        """
        Where the open-files limit allows one descriptor per RTP port
        besides the rest, a released session's sockets are kept open for
        the next call; stopping the service closes them.
        """
        self.patch(service_module, "ensureOpenFiles", lambda n: True)
        service = self.startPBX()
        session = service.relay.allocate("c")
        yield service.relay.release(session)
        self.assertEqual(service.relay.stats()["keptPairs"], 2)
        self.assertNotEqual(session.a.rtp.fileno(), -1)
        yield service.stopService()
        self.assertEqual(service.relay.stats()["keptPairs"], 0)
        self.assertEqual(session.a.rtp.fileno(), -1)

    def test_relaySocketsClosedWhenFilesAreShort(self):
        """Where the limit cannot be raised that far, sockets close after each call."""
        asked = []
        self.patch(service_module, "ensureOpenFiles", lambda n: asked.append(n) or False)
        service = self.startPBX()
        session = service.relay.allocate("c")
        service.relay.release(session)
        self.assertEqual(service.relay.stats()["keptPairs"], 0)
        self.assertEqual(session.a.rtp.fileno(), -1)
        self.assertEqual(asked, [500 + 50 + OTHER_FILES])

    @inlineCallbacks
    def test_registrationShownAndSurvivesRestart(self):
        """
        A REGISTER over UDP from a real socket is challenged, then accepted;
        the binding shows in L{PBXStatus}; after a stop and a start of a new
        service on the same data directory it is there again (DESIGN.md
        "registrations persisted so a restart does not make phones wait").
        """
        service = self.startPBX()
        response = yield self.phone.registerTo(service.ports["udp"], FIRST)
        self.assertEqual(response.status, 200)
        self.assertEqual(response.headers.get("Server"), "tpbx-test")
        contact = f"sip:101@127.0.0.1:{self.phone.port}"
        [row] = self.registrations(service)
        self.assertEqual((row["extension"], row["contact"], row["transport"], row["source"]),
                         ("101", contact, "udp", f"127.0.0.1:{self.phone.port}"))
        yield service.stopService()

        restarted = self.startPBX()
        [again] = self.registrations(restarted)
        self.assertEqual((again["extension"], again["contact"], again["source"]),
                         ("101", contact, f"127.0.0.1:{self.phone.port}"))
        self.assertLessEqual(again["expires"], 600)

    @inlineCallbacks
    def test_changeByAnotherStoreReachesTheService(self):
        """
        An extension and a blacklist entry written through another Store
        (as C{tpbx-admin} does, from another process) reach the running
        service within a few housekeeping ticks: the new extension can
        register, the address is refused.
        """
        service = self.startPBX()
        other = openStore(self.dataDir)
        try:
            other.createExtension(dict(SECOND))
            other.addAccess("blacklist", AccessEntry("192.0.2.99", None, "test"))
        finally:
            other.close()
        yield self.waitFor(lambda: service.directory.extensionByNumber("102") is not None)
        yield self.waitFor(lambda: not service.guard.allowPacket("192.0.2.99",
                                                                 self.reactor.seconds()))
        response = yield self.phone.registerTo(service.ports["udp"], SECOND)
        self.assertEqual(response.status, 200)
        self.assertEqual([r["extension"] for r in self.registrations(service)], ["102"])
