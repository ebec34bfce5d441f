# -*- test-case-name: tests.web.test_fakes -*-
"""
The web tests' fakes provide the interfaces they stand in for.
"""

from twisted.internet.task import Clock
from zope.interface.verify import verifyObject

from tests.web.fakes import FakeStatusSource, MemoryConfigStore
from tpbx.testing import FakeAccessGuard
from tpbx.interfaces import IAccessGuard, IConfigStore, IStatusSource
from tpbx.model import AccessEntry


def test_fakesProvideInterfaces():
    """Each fake passes verifyObject for its interface."""
    assert verifyObject(IConfigStore, MemoryConfigStore(Clock()))
    assert verifyObject(IStatusSource, FakeStatusSource())
    assert verifyObject(IAccessGuard, FakeAccessGuard())


def test_memoryStoreSettingsAndExpiry():
    """
    The fake store keeps settings and, like the real one, leaves expired
    access entries out of its lists.
    """
    clock = Clock()
    store = MemoryConfigStore(clock)
    store.setSetting("digits", 3)
    assert store.getSetting("digits") == 3
    assert store.getSetting("missing", "d") == "d"
    store.addAccess("blacklist", AccessEntry("192.0.2.1", until=10.0))
    assert len(store.listAccess("blacklist")) == 1
    clock.advance(10)
    assert store.listAccess("blacklist") == []
