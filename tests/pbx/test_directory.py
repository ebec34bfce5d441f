# -*- test-case-name: tests.pbx.test_directory -*-
"""
Tests for L{tpbx.pbx.directory.LiveDirectory}: one object the SIP path
keeps for its life, whose snapshot the service swaps on a configuration
change.
"""

from __future__ import annotations

from zope.interface.verify import verifyObject

from tpbx.interfaces import IDirectory
from tpbx.model import Extension
from tpbx.pbx.directory import LiveDirectory
from tpbx.testing_directory import FakeDirectory

OLD = Extension("101", "Old", authId="old-auth", password="pw-old-1234")
NEW = Extension("102", "New", password="pw-new-1234")


def test_liveDirectoryProvidesIDirectory():
    """LiveDirectory is a real IDirectory."""
    assert verifyObject(IDirectory, LiveDirectory(FakeDirectory()))


def test_delegatesEveryLookup():
    """Lookups by number, by auth ID and of settings read the snapshot."""
    live = LiveDirectory(FakeDirectory([OLD], {"digits": 3}))
    assert live.extensionByNumber("101") is OLD
    assert live.extensionByAuthId("old-auth") is OLD
    assert live.extensionByNumber("999") is None
    assert live.setting("digits") == 3
    assert live.setting("missing", "dflt") == "dflt"
    assert live.setting("missing") is None


def test_replaceSwapsTheSnapshot():
    """
    After L{LiveDirectory.replace}, every lookup (by holders of the same
    object) reads the new configuration: no restart needed.
    """
    live = LiveDirectory(FakeDirectory([OLD], {"digits": 3}))
    live.replace(FakeDirectory([NEW], {"digits": 4}))
    assert live.extensionByNumber("101") is None
    assert live.extensionByAuthId("old-auth") is None
    assert live.extensionByAuthId("102") is NEW
    assert live.setting("digits") == 4
