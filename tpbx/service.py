# -*- test-case-name: tests.test_service -*-
"""
The PBX's service tree and its wiring: the one place that knows every layer.

L{PBXService} opens the store, builds the SIP stack (transports -> engine ->
transaction layer -> PBX core -> registrar), the web API, and the periodic
housekeeping (configuration refresh, binding expiry and persistence, NAT
keep-alive pings).
"""

from __future__ import annotations

import gc
import json
import os

from twisted.application import internet
from twisted.application.service import MultiService
from twisted.internet.defer import DeferredList
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from zope.interface import implementer

from tpbx.config import ServerConfig
from tpbx.events import ADDRESS_BLACKLISTED, ADDRESS_FLOODING, LogEventSink
from tpbx.interfaces import IEventSink
from tpbx.model import AccessEntry
from tpbx.openfiles import OTHER_FILES, ensureOpenFiles
from tpbx.media.player import MusicOnHold
from tpbx.media.recorder import RecorderFactory
from tpbx.media.relay import RTPRelay
from tpbx.pbx.auth import DigestAuthenticator
from tpbx.pbx.callrecord import callDetails
from tpbx.pbx.calls import CallManager
from tpbx.pbx.core import CoreSettings, PBXCore
from tpbx.pbx.directory import LiveDirectory
from tpbx.pbx.engine import SIPEngine
from tpbx.pbx.guard import AccessGuard
from tpbx.pbx.journal import BindingJournal, bindingFromRow
from tpbx.pbx.writebehind import WriteBehind, inThreads
from tpbx.pbx.keepalive import KeepAlivePinger
from tpbx.pbx.location import MemoryLocationService
from tpbx.pbx.registrar import Registrar
from tpbx.pbx.features import featureSteps
from tpbx.pbx.routing import DialPlan
from tpbx.pbx.status import PBXStatus
from tpbx.sip.digest import NonceSigner
from tpbx.sip.layer import TransactionLayer
from tpbx.store.firstrun import verifyAdminPassword
from tpbx.store.repositories import openStore
from tpbx.store.snapshot import SnapshotRefresher
from tpbx.transport.listen import SIPListeners, guessLocalAddress
from tpbx.transport.tls import loadOrCreateCertificate, serverOptions, ClientTLSPolicy
from tpbx.web.api import ApiApp
from tpbx.web.site import makeSite

__all__ = ["PBXService"]

HOUSEKEEPING_INTERVAL = 1.0
# Seconds a registered flow stays open past its binding's expiry.
KEEP_OPEN_MARGIN = 32


@implementer(IEventSink)
class _BlacklistRecorder:
    """
    Logs events, and writes every automatic blacklisting to the store so
    it shows in the console/API/CLI and can be lifted there (one source of
    truth: the store's access list).
    """

    def __init__(self, sink, store, onStored):
        self._sink = sink
        self._store = store
        self._onStored = onStored

    def emit(self, event) -> None:
        self._sink.emit(event)
        if event.id in (ADDRESS_BLACKLISTED, ADDRESS_FLOODING):
            fields = event.fields
            self._store.addAccess("blacklist", AccessEntry(
                fields["address"], fields.get("until"), fields.get("reason", "")))
            self._onStored(fields["address"])


def tuneGarbageCollector() -> None:
    """
    Make Python's cyclic garbage collector cheap for a server that keeps
    tens of thousands of live objects (bindings, transactions in their
    Timer J wait): collect the young generation every 50,000 allocations
    instead of 700, and move everything built at start-up out of its
    reach.  Measured: a quarter of the REGISTER path's CPU went to
    collections (docs/PERFORMANCE.md).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _nonceSecret(store) -> bytes:
    """The HMAC key of nonces, kept in the store so nonces survive restarts."""
    secret = store.getSetting("nonceSecret")
    if secret is None:
        secret = os.urandom(32).hex()
        store.setSetting("nonceSecret", secret)
    return bytes.fromhex(secret)


class PBXService(MultiService):
    """
    @ivar config: the L{ServerConfig}.
    @ivar listeners: the SIP listeners (ports bound, once running).
    @ivar ports: C{{"udp": ..., "tcp": ..., "tls": ..., "web": ...}} once
        running; also written to C{DATA/ports.json}.
    """

    _log = Logger()

    def __init__(self, config: ServerConfig, reactor):
        super().__init__()
        self.config = config
        self._reactor = reactor
        self.ports: dict[str, int] = {}

    def startService(self) -> None:
        self._build()
        tuneGarbageCollector()
        super().startService()
        self.ports = dict(self.listeners.ports)
        self.ports["web"] = self._web._port.getHost().port
        self._writePorts()
        self._restoreBindings()
        self._housekeeping.start(HOUSEKEEPING_INTERVAL, now=False)

    def stopService(self):
        """
        Stop taking work, then write the queued CDRs and binding changes
        before the store closes.
        """
        if self._housekeeping.running:
            self._housekeeping.stop()
        self.calls.stop()
        self.relay.close()
        self.engine.stop()
        d = DeferredList([super().stopService(), self._cdrs.stop(), self._journal.stop()])
        d.addBoth(lambda _: self.store.close())
        return d

    # Wiring

    def _build(self) -> None:
        config, reactor = self.config, self._reactor
        self.store = openStore(config.dataDir, config.dbUrl, seconds=reactor.seconds)
        self._refresher = SnapshotRefresher(self.store, self._configChanged)
        self.directory = LiveDirectory(self._refresher.snapshot)
        events = _BlacklistRecorder(LogEventSink(), self.store, self._blacklistStored)
        self.guard = AccessGuard(events)
        self._applyAccessLists(self._refresher.snapshot)
        authenticator = DigestAuthenticator(
            self.directory, NonceSigner(_nonceSecret(self.store)),
            realm=self._advertisedHost(), guard=self.guard,
            algorithms=self._digestAlgorithms())
        self.location = MemoryLocationService()
        self._journal = BindingJournal(self.store.flushBindings, inThreads(reactor))
        self._cdrs = WriteBehind(reactor, self.store.recordCalls, inThreads(reactor),
                                 "call detail records")
        self.registrar = Registrar(self.location, authenticator, self.directory,
                                   events, listener=self._bindingsChanged)
        self.engine = SIPEngine(reactor, TransactionLayer(), sender=None)
        self.listeners = self._buildListeners()
        self.engine.sender = self.listeners.sender
        self.calls = self._buildCalls()
        self.engine.user = PBXCore(reactor, self.engine, self.registrar, authenticator,
                                   self.directory, self.guard,
                                   CoreSettings(serverHeader=config.serverHeader),
                                   calls=self.calls)
        self._pinger = KeepAlivePinger(self.engine, self.registrar, self.listeners.localHostPort,
                                       config.serverHeader)
        self.listeners.setServiceParent(self)
        self._web = self._buildWeb()
        self._web.setServiceParent(self)
        self._housekeeping = LoopingCall(self._tick)
        self._housekeeping.clock = reactor

    def _buildCalls(self) -> CallManager:
        """The B2BUA: dial plan, RTP relay on the configured ranges, music on hold."""
        config = self.config
        advertised = self._advertisedHost()
        self.relay = RTPRelay(self._reactor, config.bindHost, config.rtpInternal,
                              config.rtpExternal, config.rtpTimeout,
                              internalAddress=advertised,
                              externalAddress=advertised)
        self.relay.keepSockets = self._mayKeepRelaySockets(self.relay.maxSockets)
        dialPlan = DialPlan([])
        calls = CallManager(self._reactor, self.engine, self.location, self.directory,
                            dialPlan, self.relay, self.listeners.localHostPort,
                            music=MusicOnHold.load(), cdr=self._recordCall,
                            recordingsDir=self._recordingsDir(),
                            recorderFactory=RecorderFactory(self.directory,
                                                            self._reactor.callInThread))
        dialPlan.steps = featureSteps(self.directory, advertised, self._setStatus,
                                      isBusy=calls.isBusy)
        return calls

    def _mayKeepRelaySockets(self, sockets: int) -> bool:
        """
        Whether the relay may keep its sockets open between calls: when the
        process may hold its C{sockets} besides L{OTHER_FILES} (the soft
        limit raised if need be), else they are closed after each call, as
        a relay with fewer descriptors must.
        """
        if ensureOpenFiles(sockets + OTHER_FILES):
            return True
        self._log.warn("RTP relay: {sockets} sockets need more open files than the limit "
                       "allows (ulimit -n); they are closed after each call",
                       sockets=sockets)
        return False

    def _recordingsDir(self) -> str:
        """Where the recorder writes and the API lists call recordings (E5)."""
        return os.path.join(self.config.dataDir, "recordings")

    def _setStatus(self, number: str, status: str) -> None:
        """A DND dial code: store the status and see it at once."""
        self.store.setExtensionStatus(number, status)
        self._refresher.poll()

    def _recordCall(self, record) -> None:
        """Queue a finished call's detail records (E7): the call, then each leg."""
        for detail in callDetails(record):
            self._cdrs.add(detail)

    def _buildListeners(self) -> SIPListeners:
        config = self.config
        hosts = ["localhost"]
        ips = sorted({"127.0.0.1", self._advertisedHost()})
        certificate = loadOrCreateCertificate(config.dataDir, hostnames=hosts, ips=ips)
        return SIPListeners(
            self._reactor, config.bindHost, config.sipPort, config.sipPort, config.tlsPort,
            self.engine, self.guard, serverOptions(certificate),
            clientTLS=ClientTLSPolicy(), advertisedHost=config.advertisedHost)

    def _digestAlgorithms(self) -> tuple:
        """
        The digest algorithms offered, in order (setting
        C{sipDigestAlgorithms}, e.g. C{"SHA-256,MD5"}).  MD5 alone by
        default: SIPp answers only the first challenge and knows no SHA-256,
        and baresip 1.0 (libre) fails the whole registration when any
        challenge names another algorithm, as do other older stacks; a site
        whose phones all speak RFC 8760 turns SHA-256 on.
        """
        value = self.store.getSetting("sipDigestAlgorithms", "MD5")
        return tuple(a.strip() for a in value.split(",") if a.strip())

    def _advertisedHost(self) -> str:
        config = self.config
        if config.advertisedHost:
            return config.advertisedHost
        return guessLocalAddress(ipv6=":" in config.bindHost)

    def _buildWeb(self):
        store = self.store

        def checkPassword(username: str, password: str) -> bool:
            return username == "admin" and verifyAdminPassword(store, password)

        status = PBXStatus(self.location, self._reactor, calls=self.calls, relay=self.relay)
        api = ApiApp(store, status, checkPassword, self._reactor, self.guard,
                     recordingsDir=self._recordingsDir())
        site = makeSite(api.resource(), self._reactor, self.config.serverHeader)
        return internet.TCPServer(self.config.webPort, site,
                                  interface=self.config.bindHost, reactor=self._reactor)

    # Housekeeping

    def _bindingsChanged(self, added, removed) -> None:
        """
        Persist binding changes, and keep the TCP/TLS connection a binding
        arrived on open for its lifetime, so requests for the phone reuse
        it (RFC 5626 sec. 4.2; phones behind NAT cannot be reached on a new one).
        """
        self._journal.changed(added, removed)
        now = self._reactor.seconds()
        for binding in added:
            if binding.peer.flow is not None:
                self.listeners.sender.keepOpen(binding.peer.flow,
                                               binding.remaining(now) + KEEP_OPEN_MARGIN)

    def _tick(self) -> None:
        now = self._reactor.seconds()
        for step in (self._refresher.poll, lambda: self.registrar.expire(now),
                     lambda: self._pinger.pingDue(now), self._journal.flush):
            try:
                step()
            except Exception:
                self._log.failure("housekeeping step failed")

    def _configChanged(self, snapshot) -> None:
        self.directory.replace(snapshot)
        self._applyAccessLists(snapshot)

    def _applyAccessLists(self, snapshot) -> None:
        self.guard.setStaticLists(snapshot.accessList("blacklist"),
                                  snapshot.accessList("whitelist"))

    def _blacklistStored(self, address: str) -> None:
        """
        An automatic blacklisting is now in the store: load it as a static
        entry and drop the guard's own copy, so lifting it from the API or
        CLI takes effect.
        """
        self._refresher.poll()
        self.guard.removeDynamic(address)

    def _restoreBindings(self) -> None:
        now = self._reactor.seconds()
        rows = self.store.loadBindings(now)
        for row in rows:
            binding = bindingFromRow(row)
            self.location.register(binding.aor, binding, now)
            if binding.peer.transport == "udp":
                self.registrar.keepAlive.track(binding, now)
        if rows:
            self._log.info("restored {n} registrations", n=len(rows))

    def _writePorts(self) -> None:
        path = os.path.join(self.config.dataDir, "ports.json")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.ports, f)
        os.replace(tmp, path)
        self._log.info("tpbx listening: {ports}", ports=self.ports)
