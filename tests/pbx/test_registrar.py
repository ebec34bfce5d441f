"""
Tests for L{tpbx.pbx.registrar} (RFC 3261 sec. 10.3, SPEC B5) and
L{tpbx.pbx.netaddr}.
"""

import re
from types import SimpleNamespace

import pytest

from tests.pbx.sipfixtures import ALICE, BOB, CAROL, PHONE, answer, directory, register
from tpbx.events import REGISTRATION_CHANGED, MemoryEventSink
from tpbx.pbx.auth import DigestAuthenticator
from tpbx.pbx.guard import AccessGuard
from tpbx.pbx.location import MemoryLocationService
from tpbx.pbx.netaddr import LAN_NETWORKS, isPrivate, parseNetworks
from tpbx.pbx.registrar import NatKeepAlive, Registrar, RegistrarPolicy
from tpbx.sip.digest import NonceSigner
from tpbx.sip.headers import Headers
from tpbx.sip.message import Request
from tpbx.sip.peer import Peer

NOW = 1_700_000_000.0
PUBLIC = Peer("udp", "198.51.100.7", 40000)
CONTACT = "<sip:1001@192.168.1.10:5062>"


class Harness:
    """A registrar over a memory location service, recording everything."""

    def __init__(self, **policy):
        self.events = MemoryEventSink()
        self.location = MemoryLocationService()
        self.changes = []
        auth = DigestAuthenticator(directory(), NonceSigner(b"k" * 32), "pbx.example")
        self.registrar = Registrar(self.location, auth, directory(), self.events,
                                   RegistrarPolicy(**policy),
                                   listener=lambda a, r: self.changes.append((a, r)))
        self.nc = 0

    def send(self, request, username="alice-auth", password=ALICE.password,
             peer=PHONE, now=NOW):
        """Send C{request}, answer the 401 it gets, return the outcome."""
        first = self.registrar.process(request, peer, now)
        assert first.response.status == 401, first.response
        self.nc += 1
        answer(request, first.response, username, password, nc=self.nc)
        return self.registrar.process(request, peer, now)

    def actions(self):
        return [(e.fields["extension"], e.fields["action"]) for e in self.events.events]


def contactExpires(response):
    return {re.match(r"<([^>]*)>", c).group(1): int(re.search(r"expires=(\d+)", c).group(1))
            for c in response.headers.getAll("Contact")}


def test_registerFlow():
    """
    401 with challenges, then 200 listing the binding with its expires and
    a Date; the binding is stored with its peer and User-Agent, a 4101
    event is emitted and the listener gets the binding to persist.
    """
    h = Harness()
    outcome = h.send(register(expires=1800))
    response = outcome.response
    assert (response.status, response.reason) == (200, "OK")
    assert contactExpires(response) == {"sip:1001@192.168.1.10:5062": 1800}
    assert response.headers.get("Date") == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert "tag=" in response.headers.get("To")
    [binding] = h.location.lookup("1001", NOW)
    assert (binding.peer, binding.userAgent, binding.callId, binding.cseq,
            binding.expiresAt) == (PHONE, "TestPhone/1.0", "call-1", 1, NOW + 1800)
    assert outcome.added == (binding,) and outcome.removed == ()
    assert h.changes == [((binding,), ())]
    [event] = h.events.events
    assert event.id == REGISTRATION_CHANGED
    assert event.fields == {"extension": "1001", "contact": "sip:1001@192.168.1.10:5062",
                            "source": "192.168.1.10:5062", "transport": "udp",
                            "userAgent": "TestPhone/1.0", "action": "registered"}


def test_refreshEmitsNothing():
    """Refreshing a binding from the same address is not a change event."""
    h = Harness()
    h.send(register(cseq=1))
    outcome = h.send(register(cseq=2), now=NOW + 60)
    assert outcome.response.status == 200
    assert h.actions() == [("1001", "registered")]
    assert h.location.lookup("1001", NOW)[0].cseq == 2


def test_unknownUserOnlyAfterAuth():
    """
    Unauthenticated, a REGISTER for a missing extension gets the same 401
    as a real one; authenticated, the To AOR must exist (404) and belong
    to the credentials (403).
    """
    h = Harness()
    first = h.registrar.process(register(user="4040"), PHONE, NOW).response
    real = h.registrar.process(register(user="1001"), PHONE, NOW).response
    strip = lambda r: re.sub(r'nonce="[^"]*"|tag=\w+|sip:\d+@', "", r.toBytes().decode())
    assert (first.status, strip(first)) == (401, strip(real))
    assert h.send(register(user="4040")).response.status == 404
    refused = h.send(register(user="1002")).response
    assert (refused.status, refused.reason) == (403, "Not allowed to register this address")
    assert h.location.count() == 0


def test_wrongPasswordAndUnknownAuthIdIdentical():
    """Over the registrar, wrong password and unknown auth ID get the same 401."""
    h = Harness()
    responses = []
    for user in ("alice-auth", "ghost"):
        request = register()
        answer(request, h.registrar.process(request, PHONE, NOW).response, user, "bad")
        response = h.registrar.process(request, PHONE, NOW).response
        responses.append(re.sub(r'nonce="[^"]*"|tag=\w+', "", response.toBytes().decode()))
    assert responses[0] == responses[1] and " 401 " in responses[0]


def test_intervalTooBrief():
    """A non-zero expires under the minimum is 423 with Min-Expires; nothing
    changes (sec. 10.3 step 7)."""
    h = Harness(minExpires=60)
    response = h.send(register(expires=30)).response
    assert (response.status, response.headers.get("Min-Expires")) == (423, "60")
    assert h.location.count() == 0 and h.changes == []


def test_expiresPrecedenceAndCap():
    """The contact's expires wins over Expires; both are capped at the max."""
    h = Harness(maxExpires=3600)
    outcome = h.send(register(contacts=("<sip:a@192.168.1.10>;expires=120",
                                         "<sip:b@192.168.1.10>"), expires=99999))
    assert contactExpires(outcome.response) == {"sip:a@192.168.1.10": 120,
                                                "sip:b@192.168.1.10": 3600}


def test_unregisterOne():
    """expires=0 removes that binding, with an event and the listener told."""
    h = Harness()
    h.send(register(contacts=(CONTACT, "<sip:other@192.168.1.10>")))
    outcome = h.send(register(contacts=(CONTACT,), expires=0, cseq=2))
    assert contactExpires(outcome.response) == {"sip:other@192.168.1.10": 3600}
    assert [b.contact for b in outcome.removed] == ["sip:1001@192.168.1.10:5062"]
    assert h.changes[-1] == ((), outcome.removed)
    assert h.actions()[-1] == ("1001", "unregistered")


def test_wildcardUnregister():
    """Contact: * with Expires: 0 removes all; otherwise it is a 400."""
    h = Harness()
    h.send(register(contacts=(CONTACT, "<sip:other@192.168.1.10>")))
    assert h.send(register(contacts=("*",), expires=5, cseq=2)).response.status == 400
    assert h.send(register(contacts=("*",), cseq=3)).response.status == 400
    assert h.send(register(contacts=("*", CONTACT), expires=0, cseq=4)).response.status == 400
    outcome = h.send(register(contacts=("*",), expires=0, cseq=5))
    assert outcome.response.status == 200
    assert outcome.response.headers.getAll("Contact") == []
    assert len(outcome.removed) == 2 and h.location.count() == 0


def test_fetchBindings():
    """A REGISTER without Contact lists the bindings and changes nothing."""
    h = Harness()
    h.send(register(expires=600))
    h.changes.clear()
    outcome = h.send(register(contacts=(), cseq=2), now=NOW + 100)
    assert contactExpires(outcome.response) == {"sip:1001@192.168.1.10:5062": 500}
    assert outcome.added == () and h.changes == []


def test_outOfOrderCSeq():
    """
    Same Call-ID with a CSeq not above the stored one fails (sec. 10.3
    step 7) and leaves the binding alone; another Call-ID may update it.
    """
    h = Harness()
    h.send(register(cseq=5, expires=600))
    response = h.send(register(cseq=5, expires=0)).response
    assert (response.status, response.reason) == (400, "Invalid CSeq number")
    assert h.send(register(cseq=3, contacts=("*",), expires=0)).response.status == 400
    assert h.location.count() == 1
    outcome = h.send(register(cseq=1, callId="other", expires=900))
    assert contactExpires(outcome.response) == {"sip:1001@192.168.1.10:5062": 900}


def test_equivalentContactReplaced():
    """A contact equal by URI comparison but written differently replaces
    the old binding instead of adding one."""
    h = Harness()
    h.send(register(contacts=("<sip:1001@192.168.1.10:5062;ob>",)))
    outcome = h.send(register(contacts=("<sip:1001@192.168.1.10:5062>",), cseq=2))
    assert list(contactExpires(outcome.response)) == ["sip:1001@192.168.1.10:5062"]
    assert h.location.count() == 1


def test_maxContactsEvictsOldest():
    """Beyond maxContactsPerAor the oldest bindings make room; a single
    REGISTER with too many contacts is refused."""
    h = Harness(maxContactsPerAor=2)
    for i in range(3):
        h.send(register(contacts=(f"<sip:p{i}@192.168.1.10>",), cseq=i + 1), now=NOW + i)
    assert sorted(b.contact for b in h.location.lookup("1001", NOW)) == [
        "sip:p1@192.168.1.10", "sip:p2@192.168.1.10"]
    many = tuple(f"<sip:q{i}@192.168.1.10>" for i in range(3))
    assert h.send(register(contacts=many, cseq=9)).response.status == 403


@pytest.mark.parametrize("peer, status", [
    (Peer("udp", "192.168.1.50", 5060), 200),
    (Peer("tls", "fd00::5", 5061), 200),
    (Peer("tunnel", "203.0.113.5", 5090), 200),
    (Peer("udp", "203.0.113.5", 5060), 403),
])
def test_lanOnly(peer, status):
    """A lanOnly extension registers from private networks or the tunnel
    only (SPEC B5)."""
    h = Harness()
    response = h.send(register(user="1003", contacts=("<sip:1003@10.0.0.9>",)),
                      "1003", CAROL.password, peer=peer).response
    assert response.status == status
    if status == 403:
        assert response.reason == "Registration from outside the LAN not allowed"


@pytest.mark.parametrize("contacts, expires", [
    (("<sip:1001@h>;expires=soon",), None), (("<sip:1001@h>;q=2",), None),
    (("sip:1001@h, <bad",), None), ((CONTACT,), "-1"),
])
def test_malformedIs400(contacts, expires):
    """Malformed Contact, q, expires or Expires become 400, not exceptions."""
    h = Harness()
    assert h.send(register(contacts=contacts, expires=expires)).response.status == 400


def test_expiry():
    """expire() drops due bindings with an 'expired' event and tells the listener."""
    h = Harness()
    h.send(register(expires=600))
    assert h.registrar.expire(NOW + 599) == []
    [gone] = h.registrar.expire(NOW + 600)
    assert h.actions()[-1] == ("1001", "expired")
    assert h.changes[-1] == ((), (gone,))


def ping(contact, method="OPTIONS"):
    return SimpleNamespace(request=Request(method, contact, Headers()))


def test_natKeepAliveDropsUnreachable():
    """
    A UDP binding whose contact differs from its source is pinged every
    interval; an answer resets the count; N unanswered pings in a row drop
    it with an 'unreachable' event.
    """
    h = Harness(keepAliveInterval=25, keepAliveMaxMissed=3)
    h.send(register(), peer=PUBLIC)
    contact = "sip:1001@192.168.1.10:5062"
    assert h.registrar.keepAliveDue(NOW + 24) == []
    [due] = h.registrar.keepAliveDue(NOW + 25)
    assert (due.contact, due.peer) == (contact, PUBLIC)
    assert h.registrar.keepAlive.nextDue() == NOW + 50
    h.registrar.keepAliveTimedOut(ping(contact), NOW + 30)
    h.registrar.keepAliveTimedOut(ping(contact), NOW + 55)
    h.registrar.keepAliveAnswered(ping(contact), None, NOW + 60)
    assert h.registrar.keepAliveTimedOut(ping(contact), NOW + 80) == []
    assert h.registrar.keepAliveTimedOut(ping(contact), NOW + 105) == []
    assert h.registrar.keepAliveTimedOut(ping(contact, "INVITE"), NOW + 105) == []
    [dropped] = h.registrar.keepAliveTimedOut(ping(contact), NOW + 130)
    assert dropped.contact == contact and h.location.count() == 0
    assert h.actions()[-1] == ("1001", "unreachable")
    assert h.changes[-1] == ((), (dropped,))
    assert h.registrar.keepAliveDue(NOW + 1000) == []


def test_noKeepAliveWithoutNat():
    """Bindings whose contact is their source, or over TCP, are not pinged;
    unregistering stops pings."""
    h = Harness()
    h.send(register())
    h.send(register(user="1002", contacts=("<sip:1002@192.168.1.10>",)),
           "1002", BOB.password, peer=Peer("tcp", "198.51.100.7", 40000))
    assert len(h.registrar.keepAlive) == 0
    h.send(register(cseq=2), peer=PUBLIC)
    assert len(h.registrar.keepAlive) == 1
    h.send(register(cseq=3, expires=0), peer=PUBLIC)
    assert len(h.registrar.keepAlive) == 0


def test_keepAliveSharedContact():
    """Two extensions behind one contact share one ping and both drop."""
    keepAlive = NatKeepAlive(interval=10, maxMissed=1)
    h = Harness()
    h.send(register(), peer=PUBLIC)
    h.send(register(user="1002"), "1002", BOB.password, peer=PUBLIC)
    for binding in h.location.allBindings(NOW):
        keepAlive.track(binding, NOW)
    assert len(keepAlive) == 1 and len(keepAlive.due(NOW + 10)) == 1
    assert {b.aor for b in keepAlive.timedOut("sip:1001@192.168.1.10:5062", NOW)} == {
        "1001", "1002"}
    assert keepAlive.timedOut("sip:nobody@h", NOW) == []


def test_privateNetworks():
    """isPrivate knows RFC 1918, loopback, link-local, ULA, mapped IPv4."""
    lan = parseNetworks(LAN_NETWORKS)
    for host in ("10.1.2.3", "172.31.0.1", "192.168.0.1", "127.0.0.1",
                 "169.254.1.1", "::1", "fe80::1", "fd12::1", "::ffff:10.0.0.1", "[fd00::1]"):
        assert isPrivate(host, lan), host
    for host in ("8.8.8.8", "172.32.0.1", "2001:db8::1", "pbx.example", ""):
        assert not isPrivate(host, lan), host
    with pytest.raises(ValueError):
        parseNetworks(["10.0.0.0/33"])


def test_guardBlacklistsPasswordGuesser():
    """
    Wired with an access guard, 25 wrong passwords in a minute from one
    address blacklist it (SPEC I3): the engine then answers it nothing.
    """
    events = MemoryEventSink()
    guard = AccessGuard(events)
    auth = DigestAuthenticator(directory(), NonceSigner(b"k"), "pbx.example", guard=guard)
    registrar = Registrar(MemoryLocationService(), auth, directory(), events)
    for i in range(25):
        request = register(callId=f"scan-{i}")
        answer(request, registrar.process(request, PUBLIC, NOW + i).response,
               "1001", f"guess{i}")
        assert registrar.process(request, PUBLIC, NOW + i).response.status == 401
    assert not guard.allowPacket(PUBLIC.host, NOW + 25)
    assert [e.fields["address"] for e in events.events] == [PUBLIC.host]
