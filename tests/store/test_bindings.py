# -*- test-case-name: tests.store.test_bindings -*-
"""
Tests for the persisted registration bindings: save, replace, delete,
load skipping (and dropping) expired ones, and one batch per transaction.
"""

from sqlalchemy import event

from tpbx.store.bindings import BINDING_FIELDS


def binding(contact="sip:100@192.0.2.10:5060", aor="sip:100@pbx",
            expiresAt=1_700_000_100.0, **extra):
    return {"aor": aor, "contact": contact, "expiresAt": expiresAt,
            "q": 0.5, "callId": "abc@host", "cseq": 7, "transport": "udp",
            "sourceHost": "192.0.2.10", "sourcePort": 5060,
            "userAgent": "Yealink", "instanceId": "<urn:uuid:1>",
            "regId": 1, **extra}


def test_saveAndLoad(store, clock):
    """Saved bindings load back with every field, freshest first."""
    older = binding(expiresAt=clock.seconds() + 100)
    newer = binding("sip:100@192.0.2.11", expiresAt=clock.seconds() + 300)
    other = binding("sip:200@192.0.2.20", aor="sip:200@pbx",
                    expiresAt=clock.seconds() + 50)
    store.saveBindings([older, newer, other])
    assert store.loadBindings(clock.seconds()) == [newer, older, other]


def test_optionalFields(store, clock):
    """q, userAgent, instanceId and regId may be left out."""
    row = binding(expiresAt=clock.seconds() + 10)
    for name in ("q", "userAgent", "instanceId", "regId"):
        del row[name]
    store.saveBindings([row])
    [loaded] = store.loadBindings(clock.seconds())
    assert loaded == {**row, "q": None, "userAgent": "", "instanceId": None,
                      "regId": None}
    assert set(loaded) == set(BINDING_FIELDS)


def test_saveReplaces(store, clock):
    """Saving the same (aor, contact) again refreshes it in place."""
    store.saveBindings([binding(expiresAt=clock.seconds() + 10, cseq=1)])
    store.saveBindings([binding(expiresAt=clock.seconds() + 60, cseq=2)])
    [loaded] = store.loadBindings(clock.seconds())
    assert (loaded["cseq"], loaded["expiresAt"]) == (2, clock.seconds() + 60)


def test_loadSkipsAndDropsExpired(store, clock):
    """
    Bindings that expired while the server was down are not loaded, and
    are deleted so they do not pile up.
    """
    store.saveBindings([binding(expiresAt=clock.seconds() + 10),
                        binding("sip:x@h", expiresAt=clock.seconds() + 99)])
    clock.advance(10)
    assert [b["contact"] for b in store.loadBindings(clock.seconds())] == \
        ["sip:x@h"]
    clock.advance(-20)
    assert len(store.loadBindings(clock.seconds())) == 1


def test_delete(store, clock):
    """deleteBindings removes by key; unknown keys are ignored."""
    store.saveBindings([binding(expiresAt=clock.seconds() + 10)])
    store.deleteBindings([("sip:100@pbx", "sip:100@192.0.2.10:5060"),
                          ("sip:nobody@pbx", "sip:x")])
    assert store.loadBindings(clock.seconds()) == []


def test_bindingsDoNotBumpConfigVersion(store, clock):
    """Bindings are live state: flushing them triggers no refresh."""
    version = store.configVersion()
    store.flushBindings([binding()], [("a", "b")])
    assert store.configVersion() == version


def test_largeFlushIsOneStatementOneTransaction(store, clock):
    """
    10,000 changed bindings and 100 removals are written with one
    executemany each, in a single transaction.
    """
    rows = [binding(f"sip:{n}@192.0.2.1:{n}", aor=f"sip:{n}@pbx",
                    expiresAt=clock.seconds() + 60) for n in range(10_000)]
    calls, begins = [], []
    event.listen(store.engine, "before_execute",
                 lambda conn, clause, multi, params, options:
                 calls.append(len(multi)))
    event.listen(store.engine, "begin", lambda conn: begins.append(conn))
    store.flushBindings(rows, [(f"sip:{n}@pbx", f"sip:{n}@192.0.2.1:{n}")
                               for n in range(100)])
    assert calls == [10_000, 100]
    assert len(begins) == 1
    assert len(store.loadBindings(clock.seconds())) == 9_900
