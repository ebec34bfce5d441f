"""
Tests for L{tpbx.pbx.location}.
"""

import sys

from zope.interface.verify import verifyObject

from tpbx.interfaces import ILocationService
from tpbx.pbx.location import Binding, MemoryLocationService
from tpbx.sip.peer import Peer

PEER = Peer("udp", "192.0.2.1", 5060)


def binding(aor="1001", contact="sip:1001@192.0.2.1", expiresAt=100.0, q=1.0,
            registeredAt=0.0):
    return Binding(aor, contact, expiresAt, q, "cid", 1, PEER,
                   registeredAt=registeredAt)


def test_providesInterface():
    """MemoryLocationService is an ILocationService."""
    assert verifyObject(ILocationService, MemoryLocationService())


def test_bindingIsSmall():
    """A binding has no per-instance dict (memory per registration)."""
    b = binding()
    assert not hasattr(b, "__dict__")
    assert sys.getsizeof(b) < 200
    assert b.remaining(40.2) == 60 and b.remaining(500) == 0


def test_registerReplacesSameContact():
    """Registering the same contact text again replaces the binding."""
    store = MemoryLocationService()
    first = binding(expiresAt=100)
    assert store.register("1001", first, 0) is None
    assert store.register("1001", binding(expiresAt=200), 0) is first
    assert store.count() == 1
    assert store.lookup("1001", 0)[0].expiresAt == 200


def test_lookupOrderAndLiveness():
    """Lookup returns live bindings, highest q then freshest first."""
    store = MemoryLocationService()
    store.register("1001", binding(contact="sip:a@h", q=0.5, registeredAt=3), 0)
    store.register("1001", binding(contact="sip:b@h", registeredAt=1), 0)
    store.register("1001", binding(contact="sip:c@h", registeredAt=2), 0)
    store.register("1001", binding(contact="sip:d@h", expiresAt=5), 0)
    assert [b.contact for b in store.lookup("1001", 10)] == ["sip:c@h", "sip:b@h", "sip:a@h"]
    assert store.lookup("9999", 0) == []


def test_removeAndRemoveAll():
    """remove takes one contact; removeAll every binding of an AOR."""
    store = MemoryLocationService()
    store.register("1001", binding(contact="sip:a@h"), 0)
    store.register("1001", binding(contact="sip:b@h"), 0)
    store.register("1002", binding(aor="1002", contact="sip:c@h"), 0)
    assert store.remove("1001", "sip:a@h").contact == "sip:a@h"
    assert store.remove("1001", "sip:a@h") is None
    assert store.remove("7777", "sip:a@h") is None
    assert [b.contact for b in store.removeAll("1001")] == ["sip:b@h"]
    assert store.removeAll("1001") == []
    assert store.count() == 1
    assert [b.aor for b in store.allBindings(0)] == ["1002"]


def test_expireUsesDeadlines():
    """
    expire drops exactly the bindings past their time; a refreshed
    binding's old deadline does not drop it.
    """
    store = MemoryLocationService()
    store.register("1001", binding(contact="sip:a@h", expiresAt=10), 0)
    store.register("1001", binding(contact="sip:b@h", expiresAt=20), 0)
    store.register("1001", binding(contact="sip:a@h", expiresAt=30), 5)
    assert store.expire(9) == []
    assert [b.contact for b in store.expire(20)] == ["sip:b@h"]
    assert store.count() == 1
    assert [b.contact for b in store.expire(30)] == ["sip:a@h"]
    assert store.count() == 0 and store.allBindings(0) == []


def test_expireAfterRemoveSkipsDeadEntries():
    """A removed binding's deadline is ignored."""
    store = MemoryLocationService()
    store.register("1001", binding(expiresAt=10), 0)
    store.remove("1001", "sip:1001@192.0.2.1")
    assert store.expire(100) == []


def test_tenThousandBindings():
    """
    With 10,000 bindings refreshed many times, expire still only pops what
    is due and the heap stays proportional to the live bindings.
    """
    store = MemoryLocationService()
    for rounds in range(3):
        for i in range(10_000):
            store.register(str(i), binding(aor=str(i), contact=f"sip:{i}@h",
                                           expiresAt=1000 + rounds * 10 + i % 7), rounds)
    assert store.count() == 10_000
    assert len(store._heap) <= 4 * store.count() + 1024
    dropped = store.expire(1020)
    assert len(dropped) == sum(1 for i in range(10_000) if 1020 + i % 7 <= 1020)
    assert store.count() == 10_000 - len(dropped)
