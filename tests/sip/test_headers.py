# -*- test-case-name: tests.sip.test_headers -*-
"""
Tests for L{tpbx.sip.headers}: the memo of derived values and the
constructor for names already canonical.
"""

from tpbx.sip.headers import Headers


def test_canonicalKeepsTheList():
    """
    L{Headers.canonical} wraps a list of canonical fields as they are,
    without copying or renaming them.
    """
    fields = [("Via", "SIP/2.0/UDP a"), ("Call-ID", "c")]
    headers = Headers.canonical(fields)
    assert list(headers) == fields
    headers.add("i", "d")
    assert fields[-1] == ("Call-ID", "d")


def test_memoComputedOnce():
    """A memo entry is computed once, then returned as it is."""
    headers = Headers([("CSeq", "1 INVITE")])
    calls = []

    def compute(h):
        calls.append(h)
        return h.get("CSeq").split()

    first = headers.memo("CSeq", compute)
    assert headers.memo("CSeq", compute) is first
    assert calls == [headers]


def test_memoForgottenOnChangeOfItsHeader():
    """
    Any change (add, replaceFirst, set, remove) of a header, by any
    spelling of its name, forgets the memo entry derived from it, so
    nothing derived from an old value survives; entries of other headers
    stay (stamping the top Via keeps the parsed CSeq).
    """
    headers = Headers([("Via", "SIP/2.0/UDP a"), ("CSeq", "1 INVITE")])
    changes = [lambda: headers.add("cseq", "3 INVITE"),
               lambda: headers.replaceFirst("CSeq", "2 INVITE"),
               lambda: headers.set("CSEQ", "2 INVITE"),
               lambda: headers.remove("CSeq")]
    for change in changes:
        headers.remember("CSeq", "stale")
        headers.remember("Via", "parsed")
        change()
        assert headers.memo("CSeq", lambda h: h.get("CSeq")) != "stale"
        assert headers.memo("Via", lambda h: "again") == "parsed"
    headers.remember("CSeq", "kept")
    headers.replaceFirst("Via", "SIP/2.0/UDP b")
    headers.add("Route", "<sip:r>")
    assert headers.memo("CSeq", lambda h: "again") == "kept"
    assert headers.memo("Via", lambda h: h.get("Via")) == "SIP/2.0/UDP b"


def test_memoNotKeptOnError():
    """A C{compute} that raises leaves no entry behind."""
    headers = Headers()

    def fail(h):
        raise ValueError("no")

    for _ in range(2):
        try:
            headers.memo("Via", fail)
        except ValueError:
            pass
        else:
            raise AssertionError("memo swallowed the error")
    assert headers.memo("Via", lambda h: 1) == 1


def test_copyAndCarry():
    """
    A copy starts with no memo; L{Headers.carry} takes only the entries
    named, and only those the other headers have.
    """
    headers = Headers([("Via", "SIP/2.0/UDP a")])
    headers.remember("Via", "parsed")
    headers.remember("Other", "x")
    assert headers.copy().memo("Via", lambda h: "again") == "again"
    other = Headers()
    other.carry(headers, ("Via", "CSeq"))
    assert other.memo("Via", lambda h: "again") == "parsed"
    assert other.memo("Other", lambda h: "own") == "own"
    assert other.memo("CSeq", lambda h: "own") == "own"


def test_getBySpelling():
    """
    L{Headers.get} finds a header by its canonical name, a compact form or
    any case; the first line wins; an absent one gives the default.
    """
    headers = Headers([("Via", "a"), ("v", "b"), ("call-id", "c")])
    assert headers.get("Via") == "a"
    assert headers.get("v") == headers.get("VIA") == "a"
    assert headers.get("i") == headers.get("CALL-ID") == "c"
    assert headers.get("Route") is None
    assert headers.get("r", "none") == headers.get("Refer-To", "none") == "none"
