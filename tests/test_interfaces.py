# -*- test-case-name: tests.test_interfaces -*-
"""
Every provider of every seam passes C{verifyObject} (STYLE.md rule 4): the
real classes, the fakes shipped in L{tpbx.testing} and
L{tpbx.testing_directory}, and nothing that declares an interface escapes
the list (a new provider must be added here).
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from twisted.internet.interfaces import IReactorUDP, IUDPTransport
from twisted.internet.task import Clock
from zope.interface import implementedBy
from zope.interface.verify import verifyObject

import tpbx
from tpbx import interfaces
from tests.media.support import makeRelay
from tpbx.events import LogEventSink, MemoryEventSink
from tpbx.interfaces import (
    IMediaEndpoint, IMediaRelay, IRelaySession,
    IAccessGuard, IConfigStore, IDirectory, IEventSink, ILocationService,
    IMessageSender, IMessageSink, IStatusSource, ITransactionUser,
)
from tpbx.pbx.auth import DigestAuthenticator
from tpbx.pbx.core import PBXCore
from tpbx.pbx.directory import LiveDirectory
from tpbx.pbx.engine import SIPEngine
from tpbx.pbx.guard import AccessGuard
from tpbx.pbx.location import MemoryLocationService
from tpbx.pbx.registrar import Registrar
from tpbx.pbx.status import PBXStatus
from tpbx.service import _BlacklistRecorder
from tpbx.sip.digest import NonceSigner
from tpbx.sip.layer import TransactionLayer
from tpbx.store import openStore
from tpbx.store.snapshot import DirectorySnapshot
from tpbx.testing import (
    FakeAccessGuard, FakeMessageSender, FakeMessageSink, MemoryDatagramTransport,
    MemoryUDPReactor,
)
from tpbx.testing_directory import FakeDirectory
from tpbx.transport.registry import TransportRegistry
from tpbx.transport.stream import ConnectionTable
from tpbx.transport.udp import SIPDatagramProtocol

# Modules that only run inside another tool (Alembic's env.py).
_NOT_IMPORTABLE = ("tpbx.store.migrations",)


def _core(tmp_path):
    clock, directory = Clock(), FakeDirectory()
    auth = DigestAuthenticator(directory, NonceSigner(b"k" * 32), "pbx.example")
    registrar = Registrar(MemoryLocationService(), auth, directory, MemoryEventSink())
    engine = SIPEngine(clock, TransactionLayer(), FakeMessageSender())
    return PBXCore(clock, engine, registrar, auth, directory, FakeAccessGuard())


def _relay():
    return makeRelay()[2]


def _store(tmp_path):
    store = openStore(str(tmp_path))
    store.close()  # verifyObject needs no connection
    return store


PROVIDERS = {
    # Real providers
    "TransportRegistry": (IMessageSender, lambda t: TransportRegistry(
        MemoryUDPReactor(), FakeMessageSink(), ConnectionTable())),
    "SIPDatagramProtocol": (IMessageSender, lambda t: SIPDatagramProtocol(
        FakeMessageSink(), Clock())),
    "SIPEngine": (IMessageSink, lambda t: SIPEngine(
        Clock(), TransactionLayer(), FakeMessageSender())),
    "PBXCore": (ITransactionUser, _core),
    "MemoryLocationService": (ILocationService, lambda t: MemoryLocationService()),
    "LiveDirectory": (IDirectory, lambda t: LiveDirectory(FakeDirectory())),
    "DirectorySnapshot": (IDirectory, lambda t: DirectorySnapshot(1, [], {}, {})),
    "Store": (IConfigStore, _store),
    "PBXStatus": (IStatusSource, lambda t: PBXStatus(MemoryLocationService(), Clock())),
    "LogEventSink": (IEventSink, lambda t: LogEventSink()),
    "MemoryEventSink": (IEventSink, lambda t: MemoryEventSink()),
    "_BlacklistRecorder": (IEventSink, lambda t: _BlacklistRecorder(
        MemoryEventSink(), None, lambda address: None)),
    "AccessGuard": (IAccessGuard, lambda t: AccessGuard(MemoryEventSink())),
    "RTPRelay": (IMediaRelay, lambda t: _relay()),
    "RelaySession": (IRelaySession, lambda t: _relay().allocate("call")),
    "RelaySide": (IMediaEndpoint, lambda t: _relay().allocate("call").a),
    # Fakes shipped with tpbx
    "FakeMessageSender": (IMessageSender, lambda t: FakeMessageSender()),
    "FakeMessageSink": (IMessageSink, lambda t: FakeMessageSink()),
    "FakeAccessGuard": (IAccessGuard, lambda t: FakeAccessGuard()),
    "FakeDirectory": (IDirectory, lambda t: FakeDirectory()),
    "MemoryDatagramTransport": (IUDPTransport, lambda t: MemoryDatagramTransport()),
    "MemoryUDPReactor": (IReactorUDP, lambda t: MemoryUDPReactor()),
}


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_providerVerifies(name, tmp_path):
    """Each provider has every method and attribute its interface names."""
    interface, factory = PROVIDERS[name]
    provider = factory(tmp_path)
    assert type(provider).__name__ == name
    assert verifyObject(interface, provider)


def _declaringClasses() -> dict[str, set]:
    """
    @return: class name -> interfaces it declares itself, for every class
        of tpbx that declares a seam of L{tpbx.interfaces}, and every fake
        of the shipped testing modules.
    """
    seams = {getattr(interfaces, name) for name in interfaces.__all__}
    found = {}
    for module in pkgutil.walk_packages(tpbx.__path__, "tpbx."):
        if module.name.startswith(_NOT_IMPORTABLE):
            continue
        imported = importlib.import_module(module.name)
        for value in vars(imported).values():
            if not (isinstance(value, type) and value.__module__ == module.name):
                continue
            declared = set(implementedBy(value).declared)
            if declared & seams or (declared and module.name.startswith("tpbx.testing")):
                found[value.__name__] = declared
    return found


def test_everyDeclaredProviderIsVerified():
    """
    Every class of tpbx that declares an interface is in L{PROVIDERS}
    with that interface, so none escapes C{verifyObject}.
    """
    declared = _declaringClasses()
    assert set(declared) == set(PROVIDERS)
    for name, provided in declared.items():
        assert PROVIDERS[name][0] in provided, name


def test_everySeamHasAProvider():
    """Every interface of L{tpbx.interfaces} has at least one provider."""
    seams = {getattr(interfaces, name) for name in interfaces.__all__}
    assert seams <= {interface for interface, _ in PROVIDERS.values()}
