# -*- test-case-name: tests.e2e.test_conformance_server -*-
"""
The RFC 4475 and RFC 5118 torture messages sent to a running server over
UDP and TCP, byte for byte -- except, over UDP, the top Via's sent-by,
which is rewritten to the test's own socket: RFC 3261 sec. 18.2.2 sends a
UDP response to the sent-by port (5060 for these messages), not to the
source port, so without it the answers would go elsewhere.

Why against the running server and not only the parser: framing (UDP
datagram vs TCP stream, Content-Length), the transaction layer and the
registrar all see these bytes; each message must get the answer its
manifest row names (or none where no answer is possible), and the server
must still answer an OPTIONS afterwards.

Outcome tokens of manifest.tsv (columns C{expect} and C{alt}, C{|}-separated,
C{@udp}/C{@tcp} limit a token to one transport):
  - C{process}: any response that is not a parse rejection (400, or a 5xx
    other than 501 Not Implemented, which an endpoint gives unknown methods);
  - C{drop}: no response within a short wait (a closed TCP connection too);
  - C{close}: the TCP connection is closed;
  - C{error}: any 4xx-6xx response;
  - a number: exactly that status code.
"""

import csv
import os
import re
import socket
import time
from pathlib import Path

import pytest

from tests.e2e.harness import optionsRequest, sipRequestAnswered

pytestmark = pytest.mark.e2e

CONFORMANCE = Path(os.environ.get("TPBX_CONFORMANCE_DIR")
                   or Path(__file__).resolve().parents[3] / "shared" / "conformance")
SUITES = ("rfc4475", "rfc5118")
ANSWER_WAIT, DROP_WAIT = 3.0, 1.0


def manifestRows():
    """@return: pytest params (suite/file, transport) for every manifest row."""
    params = []
    for suite in SUITES:
        manifest = CONFORMANCE / suite / "manifest.tsv"
        if not manifest.exists():
            continue
        with open(manifest, newline="") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                row["path"] = CONFORMANCE / suite / row["file"]
                for transport in ("udp", "tcp"):
                    params.append(pytest.param(row, transport, id="%s/%s-%s" % (
                        suite, row["file"], transport)))
    return params or [pytest.param(None, None, marks=pytest.mark.skip(
        reason="conformance vectors not found in %s" % CONFORMANCE))]


def tokens(row, transport):
    """@return: the acceptable outcome tokens of C{row} for C{transport}."""
    result = []
    for token in (row["expect"] + "|" + row["alt"]).split("|"):
        name, _, only = token.strip().partition("@")
        if name and (not only or only == transport):
            result.append(name)
    return result


def acceptable(outcome, token):
    """
    @param outcome: a status code, C{"drop"} (nothing) or C{"close"}.
    @return: whether C{outcome} satisfies one manifest token.
    """
    if token == "drop":
        return outcome in ("drop", "close")
    if token == "close":
        return outcome == "close"
    if not isinstance(outcome, int):
        return False
    if token == "process":
        return outcome != 400 and (outcome < 500 or outcome == 501)
    if token == "error":
        return outcome >= 400
    return token.isdigit() and outcome == int(token)


def statusCodes(data):
    """@return: the status codes of the responses at the start of lines in C{data}."""
    codes = []
    for line in data.split(b"\n"):
        if line.startswith(b"SIP/2.0 ") and line[8:11].isdigit():
            codes.append(int(line[8:11]))
    return codes


def firstOutcome(codes, closed):
    """@return: the first final code, else the first provisional, else drop/close."""
    finals = [c for c in codes if c >= 200]
    if finals or codes:
        return (finals or codes)[0]
    return "close" if closed else "drop"


_LWS = rb"(?:[ \t]|\r?\n[ \t])*"   # linear white space, folding included
_TOP_VIA = re.compile(
    rb"(?im)^((?:via|v)" + _LWS + rb":" + _LWS + rb"SIP" + _LWS + rb"/" + _LWS + rb"[0-9.]+"
    + _LWS + rb"/" + _LWS + rb"[a-z]+" + _LWS + rb")(\[[^\]]*\](?::\d+)?|[^;,\s]+)")


def answerHere(payload, port):
    """
    @return: C{payload} with its top Via's sent-by set to 127.0.0.1:C{port}
        (see the module docstring); unchanged when it has no Via.
    """
    return _TOP_VIA.sub(lambda m: m.group(1) + b"127.0.0.1:%d" % port, payload, count=1)


def sendUdp(host, port, payload, wait):
    """Send one datagram; @return: the outcome seen within C{wait} seconds."""
    codes = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.sendto(answerHere(payload, s.getsockname()[1]), (host, port))
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and not any(c >= 200 for c in codes):
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                codes += statusCodes(s.recv(65536))
            except (socket.timeout, ConnectionRefusedError):
                break
    return firstOutcome(codes, False)


def sendTcp(host, port, payload, wait):
    """Send C{payload} on a new connection; @return: the outcome within C{wait}."""
    data, closed = b"", False
    with socket.create_connection((host, port), timeout=wait) as s:
        s.sendall(payload)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and not any(c >= 200 for c in statusCodes(data)):
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            data += chunk
    return firstOutcome(statusCodes(data), closed)


@pytest.fixture(scope="module")
def servers(tpbx_module_server):
    """
    Servers of their own: a flood of odd messages must not affect other
    tests.  One per transport: the same message sent over UDP and then TCP
    would be the same transaction (RFC 2543 matching, no branch cookie).
    """
    return {"udp": tpbx_module_server(numbers=["100"]),
            "tcp": tpbx_module_server(numbers=["100"])}


@pytest.mark.parametrize("row,transport", manifestRows())
def test_tortureMessage(servers, row, transport):
    """
    The message gets an answer its manifest allows (RFC 4475 section 3,
    RFC 5118 section 4), and the server still answers OPTIONS over UDP and
    TCP afterwards.
    """
    server = servers[transport]
    allowed = tokens(row, transport)
    payload = row["path"].read_bytes()
    wait = ANSWER_WAIT if any(t != "drop" for t in allowed) else DROP_WAIT
    send = sendUdp if transport == "udp" else sendTcp
    outcome = send(server.host, server.sipPort, payload, wait)
    assert any(acceptable(outcome, t) for t in allowed), (
        "%s over %s: got %r, manifest allows %s (%s)"
        % (row["file"], transport, outcome, allowed, row["expected"]))
    assert sipRequestAnswered(server.host, server.sipPort, timeout=2.0) is not None
    probe = optionsRequest(server.host, server.sipPort, "127.0.0.1", 9, "TCP")
    assert isinstance(sendTcp(server.host, server.sipPort, probe, 2.0), int)
