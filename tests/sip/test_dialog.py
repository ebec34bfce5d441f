# -*- test-case-name: tests.sip.test_dialog -*-
"""
Tests for L{tpbx.sip.dialog}: dialog creation on both sides (RFC 3261
sec. 12.1.1, 12.1.2), in-dialog requests with loose and strict routing
(sec. 12.2.1.1), CSeq ordering (sec. 12.2.2), target refresh and lookup.
"""

import pytest

from tpbx.errors import ProtocolError
from tpbx.sip.dialog import (
    Dialog, DialogId, DialogSet, newRequest, requestDialogId,
    responseDialogId, setVia,
)
from tpbx.sip.headers import Headers
from tpbx.sip.reply import makeResponse
from tpbx.sip.via import parseVia, topViaOf

RR = ["<sip:p1.example.net;lr>", "<sip:p2.example.net;lr>"]


def invite(recordRoute=RR):
    """An initial INVITE as it reaches the callee through two proxies."""
    request = newRequest("INVITE", "sip:bob@example.net",
                         "Alice <sip:alice@example.net>;tag=at",
                         "Bob <sip:bob@example.net>", "sip:alice@192.0.2.1",
                         "SIP/2.0/UDP 192.0.2.1", callId="c1", cseq=5)
    for route in recordRoute:
        request.headers.add("Record-Route", route)
    return request


def ok(request, status=200):
    """The callee's response, Record-Route copied back, with a Contact."""
    response = makeResponse(request, status, toTag="bt")
    for route in request.headers.getAll("Record-Route"):
        response.headers.add("Record-Route", route)
    response.headers.add("Contact", "<sip:bob@192.0.2.2>")
    return response


def test_uasDialog():
    """The UAS dialog: route set in Record-Route order, remote target from
    Contact, remote CSeq from the INVITE, our tag added to To."""
    dialog = Dialog.fromUASRequest(invite(), "bt", "sip:bob@192.0.2.2")
    assert dialog.id == DialogId("c1", "bt", "at")
    assert dialog.routeSet == RR
    assert dialog.remoteTarget == "sip:alice@192.0.2.1"
    assert (dialog.remoteSeq, dialog.localSeq) == (5, None)
    assert dialog.localUri == "Bob <sip:bob@example.net>;tag=bt"
    assert dialog.state == "early" and not dialog.secure


def test_uacDialog():
    """The UAC dialog: route set is Record-Route reversed, local CSeq the
    INVITE's, confirmed by a 2xx, early by a 1xx."""
    request = invite()
    dialog = Dialog.fromUACResponse(request, ok(request))
    assert dialog.id == DialogId("c1", "at", "bt")
    assert dialog.routeSet == RR[::-1]
    assert dialog.remoteTarget == "sip:bob@192.0.2.2"
    assert dialog.localSeq == 5 and dialog.state == "confirmed"
    assert Dialog.fromUACResponse(request, ok(request, 180)).state == "early"
    with pytest.raises(ProtocolError):
        Dialog.fromUACResponse(request, makeResponse(request, 180))


def test_secureDialog():
    """Over TLS with a sips Request-URI the dialog is secure."""
    request = invite()
    request.uri = "sips:bob@example.net"
    assert Dialog.fromUASRequest(request, "bt", "sips:b@h", overTLS=True).secure
    assert not Dialog.fromUASRequest(request, "bt", "sips:b@h").secure


def test_looseRouting():
    """With a loose router first, the Request-URI is the remote target and
    the Route headers are the route set; CSeq goes up by one each time,
    from 1 for a UAS; From and To carry the tags."""
    dialog = Dialog.fromUASRequest(invite(), "bt", "sip:bob@192.0.2.2")
    bye = dialog.createRequest("BYE", via="SIP/2.0/UDP 192.0.2.2")
    assert bye.uri == "sip:alice@192.0.2.1"
    assert bye.headers.getAll("Route") == RR
    assert bye.cseq == (1, "BYE")
    assert dialog.createRequest("INFO").cseq == (2, "INFO")
    assert bye.headers.get("From").endswith("tag=bt")
    assert bye.headers.get("To").endswith("tag=at")
    assert ";branch=z9hG4bK" in bye.headers.get("Via")
    assert bye.headers.get("Max-Forwards") == "70"
    assert bye.headers.get("Contact") == "<sip:bob@192.0.2.2>"
    assert dialog.nextHop() == "sip:p1.example.net;lr"


def test_strictRouting():
    """With a strict router first, its URI is the Request-URI and the
    remote target goes last in Route (sec. 12.2.1.1)."""
    request = invite(["<sip:strict.example.net>", "<sip:p2.example.net;lr>"])
    dialog = Dialog.fromUASRequest(request, "bt", "sip:bob@192.0.2.2")
    bye = dialog.createRequest("BYE")
    assert bye.uri == "sip:strict.example.net"
    assert bye.headers.getAll("Route") == ["<sip:p2.example.net;lr>",
                                           "<sip:alice@192.0.2.1>"]
    assert "Via" not in bye.headers


def test_ackUsesInviteCSeq():
    """The ACK for a 2xx reuses the INVITE's CSeq and credentials and does
    not move the local sequence; ACK and CANCEL are refused by
    createRequest."""
    request = invite()
    request.headers.add("Authorization", "Digest x")
    dialog = Dialog.fromUACResponse(request, ok(request))
    ack = dialog.createAck(5, b"v=0", "application/sdp", invite=request)
    assert ack.cseq == (5, "ACK") and dialog.localSeq == 5
    assert ack.headers.get("Authorization") == "Digest x"
    assert ack.headers.get("Content-Type") == "application/sdp"
    with pytest.raises(ValueError):
        dialog.createRequest("ACK")


def test_checkRequest():
    """A lower CSeq gets 500; a higher one becomes the remote sequence; ACK
    and CANCEL are not checked."""
    request = invite()
    dialog = Dialog.fromUASRequest(request, "bt", "sip:bob@192.0.2.2")
    peer = Dialog.fromUACResponse(request, ok(request))
    info = peer.createRequest("INFO")
    assert dialog.checkRequest(info) is None and dialog.remoteSeq == 6
    old = newRequest("INFO", "sip:x@y", "<sip:a@b>;tag=at", "<sip:c@d>",
                     "sip:a@b", "SIP/2.0/UDP h", callId="c1", cseq=4)
    assert dialog.checkRequest(old) == 500
    assert dialog.checkRequest(peer.createAck(5)) is None
    assert dialog.remoteSeq == 6


def test_targetRefresh():
    """A Contact in a re-INVITE or its 2xx replaces the remote target; none
    leaves it; two are an error."""
    request = invite()
    dialog = Dialog.fromUACResponse(request, ok(request))
    response = ok(request)
    response.headers.set("Contact", "<sip:bob@198.51.100.7>")
    dialog.targetRefresh(response)
    assert dialog.remoteTarget == "sip:bob@198.51.100.7"
    response.headers.remove("Contact")
    dialog.targetRefresh(response)
    assert dialog.remoteTarget == "sip:bob@198.51.100.7"
    response.headers.add("Contact", "<sip:a@h>, <sip:b@h>")
    with pytest.raises(ProtocolError):
        dialog.targetRefresh(response)


def test_confirmByResponse():
    """An early dialog confirmed by a 2xx takes the 2xx's route set."""
    request = invite()
    dialog = Dialog.fromUACResponse(request, ok(request, 180))
    request.headers.remove("Record-Route")
    dialog.confirmByResponse(ok(request))
    assert dialog.state == "confirmed" and dialog.routeSet == []


def test_dialogSet():
    """Both sides find their dialog: the UAS by an incoming request's
    (To tag, From tag), the UAC by a response's (From tag, To tag)."""
    request = invite()
    uas = Dialog.fromUASRequest(request, "bt", "sip:bob@192.0.2.2")
    uac = Dialog.fromUACResponse(request, ok(request))
    table = DialogSet()
    table.add(uas, "uas-owner")
    table.add(uac)
    bye = uac.createRequest("BYE")
    assert requestDialogId(bye) == uas.id
    assert table.forRequest(bye) == "uas-owner"
    assert responseDialogId(makeResponse(bye, 200)) == uac.id
    assert table.forResponse(makeResponse(bye, 200)) is uac
    table.remove(uas)
    assert len(table) == 1 and list(table) == [uac.id]
    assert table.get(uas.id) is None


@pytest.mark.parametrize("via", ["SIP/2.0/UDP 192.0.2.1:5060;rport", "SIP/2.0/TLS [2001:db8::1]",
                                 "SIP/2.0/tcp PBX.example.com:5061;rport;x=Y"])
def test_setViaKeepsWhatParsingGives(via):
    """The Via setVia keeps parsed is the one parsing its text gives, and
    each call draws a new branch."""
    first, second = Headers(), Headers()
    setVia(first, via)
    setVia(second, via)
    [text] = first.getAll("Via")
    assert topViaOf(first) == parseVia(text)
    assert topViaOf(first).branch.startswith("z9hG4bK")
    assert topViaOf(first).branch != topViaOf(second).branch


def test_terminatedAndHelpers():
    """A terminated dialog refuses new requests (481); withBranch keeps an
    existing branch; newRequest adds a From tag and demands a content
    type for a body."""
    dialog = Dialog.fromUASRequest(invite(), "bt", "sip:bob@192.0.2.2")
    dialog.state = "terminated"
    with pytest.raises(ProtocolError) as error:
        dialog.createRequest("BYE")
    assert error.value.statusHint == 481
    headers = Headers([("Via", "SIP/2.0/UDP old")])
    setVia(headers, "SIP/2.0/UDP h;branch=z9hG4bKx")
    assert headers.getAll("Via") == ["SIP/2.0/UDP h;branch=z9hG4bKx"]
    assert topViaOf(headers).branch == "z9hG4bKx"
    request = newRequest("INVITE", "sip:b@h", "<sip:a@h>", "<sip:b@h>",
                         "sip:a@h", "SIP/2.0/UDP h")
    assert ";tag=" in request.headers.get("From")
    with pytest.raises(ValueError):
        newRequest("INVITE", "sip:b@h", "<sip:a@h>", "<sip:b@h>", "sip:a@h",
                   "SIP/2.0/UDP h", body=b"x")


def test_badContact():
    """A dialog-creating request without Contact is a 400."""
    request = invite()
    request.headers.remove("Contact")
    with pytest.raises(ProtocolError) as error:
        Dialog.fromUASRequest(request, "bt", "sip:b@h")
    assert error.value.statusHint == 400
