# -*- test-case-name: tests.pbx.test_legindex -*-
"""
Tests for L{tpbx.pbx.legindex.LegIndex}: legs are found by dialog, server
INVITE and client transaction, and nothing keeps a forgotten leg or an
ended transaction.
"""

from tpbx.pbx.legindex import LegIndex


class FakeLeg:
    """What the index needs of a leg: its list of entries."""

    def __init__(self):
        self.entries = []


def test_findByEachKey():
    """A leg filed under a dialog, a server INVITE and a client
    transaction is found by each; other keys find nothing."""
    index, leg = LegIndex(), FakeLeg()
    server, client = object(), object()
    index.addDialog("call-1", "tag-a", leg)
    index.addServerInvite(server, leg)
    index.addClientTransaction(client, leg)
    assert index.byDialog("call-1", "tag-a") is leg
    assert index.byServerInvite(server) is leg
    assert index.byClientTransaction(client) is leg
    assert index.byDialog("call-1", "tag-b") is None
    assert index.byClientTransaction(server) is None
    assert index.transactions == 2


def test_transactionEndedUnfilesIt():
    """An ended transaction leaves both the table and the leg's entries;
    the client transaction's leg is returned, a server one gives None."""
    index, leg = LegIndex(), FakeLeg()
    server, client = object(), object()
    index.addDialog("c", "t", leg)
    index.addServerInvite(server, leg)
    index.addClientTransaction(client, leg)
    assert index.transactionEnded(server) is None
    assert index.transactionEnded(client) is leg
    assert index.transactions == 0
    assert len(leg.entries) == 1 and index.byDialog("c", "t") is leg


def test_forgetUnfilesEverything():
    """A forgotten leg is in no table; another leg filed since under the
    same key (a re-used dialog key) is left alone."""
    index, old, new = LegIndex(), FakeLeg(), FakeLeg()
    transaction = object()
    index.addDialog("c", "t", old)
    index.addClientTransaction(transaction, old)
    index.addDialog("c", "t", new)
    index.forget(old)
    assert old.entries == [] and index.transactions == 0
    assert index.byDialog("c", "t") is new
