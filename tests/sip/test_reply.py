# -*- test-case-name: tests.sip.test_reply -*-
"""
Tests for L{tpbx.sip.reply}.
"""

import os

from tpbx.sip import reply
from tpbx.sip.headers import Headers
from tpbx.sip.message import Request
from tpbx.sip.reply import (
    makeResponse, newBranch, newCallId, newTag, randomBytes, statelessTag,
)
from tpbx.sip.via import topViaOf


def _request(to="<sip:b@h>"):
    return Request("INVITE", "sip:b@h", Headers([
        ("Via", "SIP/2.0/UDP p1;branch=z9hG4bK1"),
        ("Via", "SIP/2.0/UDP p2;branch=z9hG4bK2, SIP/2.0/UDP p3"),
        ("Max-Forwards", "70"), ("From", "<sip:a@h>;tag=1"), ("To", to),
        ("Call-ID", "abc"), ("CSeq", "1 INVITE"), ("Contact", "<sip:a@p1>"),
    ]), b"v=0\r\n")


def test_copiedHeaders():
    """
    Via (every line, in order), From, To, Call-ID and CSeq are copied, and
    nothing else (RFC 3261 sec. 8.2.6.2).
    """
    response = makeResponse(_request(), 486)
    assert (response.status, response.reason) == (486, "Busy Here")
    assert list(response.headers) == [
        ("Via", "SIP/2.0/UDP p1;branch=z9hG4bK1"),
        ("Via", "SIP/2.0/UDP p2;branch=z9hG4bK2, SIP/2.0/UDP p3"),
        ("From", "<sip:a@h>;tag=1"), ("To", "<sip:b@h>"),
        ("Call-ID", "abc"), ("CSeq", "1 INVITE"),
    ]
    assert response.body == b""


def test_toTag():
    """
    The given To tag is added when the To has none, and never replaces one.
    """
    assert makeResponse(_request(), 200, toTag="x").headers.get("To") == \
        "<sip:b@h>;tag=x"
    assert makeResponse(_request("<sip:b@h>;tag=y"), 200, toTag="x"
                        ).headers.get("To") == "<sip:b@h>;tag=y"
    assert makeResponse(_request('"unterminated <sip:b@h>'), 400, toTag="x"
                        ).headers.get("To") == '"unterminated <sip:b@h>'


def test_statelessTag():
    """
    Sec. 8.2.7: one request (and every retransmission of it) gets one tag
    under one key; another branch, Call-ID, CSeq or From, or another key,
    gets another.
    """
    key = b"k" * 16
    tag = statelessTag(_request(), key)
    assert len(tag) == 16 and int(tag, 16) >= 0
    assert statelessTag(_request(), key) == tag
    assert statelessTag(_request(), b"j" * 16) != tag
    for name, value in [("Via", "SIP/2.0/UDP p1;branch=z9hG4bK9"), ("Call-ID", "abd"),
                        ("CSeq", "2 INVITE"), ("From", "<sip:a@h>;tag=2")]:
        other = _request()
        other.headers.replaceFirst(name, value)
        assert statelessTag(other, key) != tag, name


def test_reasonAndExtraHeaders():
    """
    A given reason phrase and extra headers are used, in order.
    """
    response = makeResponse(_request(), 400, "Missing Call-ID",
                            headers=[("Warning", "399 x"), ("Allow", "INVITE")])
    assert response.reason == "Missing Call-ID"
    assert list(response.headers)[-2:] == [("Warning", "399 x"),
                                           ("Allow", "INVITE")]


def test_partialRequest():
    """
    Headers missing from a partial request are skipped, not invented.
    """
    request = Request("INVITE", "sip:b@h",
                      Headers([("Via", "SIP/2.0/UDP p1"), ("CSeq", "1 INVITE")]))
    assert [n for n, _ in makeResponse(request, 400).headers] == ["Via", "CSeq"]


def test_identifiers():
    """
    Branches carry the magic cookie (sec. 8.1.1.7); tags, branches and
    Call-IDs are random tokens.
    """
    assert newBranch().startswith("z9hG4bK")
    assert newBranch() != newBranch()
    assert newTag() != newTag() and newTag().isalnum()
    assert newCallId("pbx.example.com").endswith("@pbx.example.com")
    assert "@" not in newCallId()


def test_responseKnowsItsRequestsViaAndCSeq():
    """
    A response made from a parsed request carries its request's parsed top
    Via and CSeq (the lines are copied verbatim), so the transport and
    the transaction layer need not parse them again.
    """
    request = _request()
    top = topViaOf(request.headers)
    response = makeResponse(request, 180, toTag="x")
    assert topViaOf(response.headers) is top
    assert response.cseq == (1, "INVITE")


def test_identifiersRandomAndUnique():
    """
    Tags, branches and Call-IDs are hex of the stated sizes (10, 7+16, 24
    digits) and never repeat (sec. 19.3, 8.1.1.7, 8.1.1.4), across
    several blocks of the random pool.
    """
    tags = [newTag() for _ in range(2000)]
    assert all(len(t) == 10 and int(t, 16) >= 0 for t in tags)
    assert len(set(tags)) == len(tags)
    branch = newBranch()
    assert branch.startswith("z9hG4bK") and len(branch) == 23
    assert newCallId("h").endswith("@h") and len(newCallId()) == 24


def test_forkedChildDrawsFreshDigits():
    """
    A forked child does not hand out the digits its parent has drawn but
    not used yet: the pool is emptied in the child (os.register_at_fork).
    """
    reply._random.take(2)
    inParent = reply._random._text
    reply._random.forget()
    assert reply._random._text == ""
    reply._random._text = inParent
    reading, writing = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child
        os.write(writing, reply._random._text.encode() or b"-")
        os._exit(0)
    os.close(writing)
    seen = os.read(reading, len(inParent) + 1)
    os.close(reading)
    os.waitpid(pid, 0)
    assert seen == b"-"


def test_randomBytes():
    """
    L{randomBytes} gives the number of bytes asked, fresh each time (the
    random part of digest nonces comes from it).
    """
    draws = {randomBytes(8) for _ in range(1000)}
    assert len(draws) == 1000 and all(len(d) == 8 for d in draws)
