# -*- test-case-name: tests.transport.test_conformance_transport -*-
"""
The public SIP torture vectors (RFC 4475, RFC 5118, PROTOS c07) through the
UDP and stream transports: none causes an unexpected error, every valid
request is delivered with its Via stamped, and no bad response is answered.
"""

import csv
import os
from pathlib import Path

import pytest

from tpbx.sip.message import Request
from tpbx.transport.common import topVia

from .support import SOURCE, connectStream, loggedFailures, makeProtocol

CONFORMANCE = Path(os.environ.get(
    "TPBX_CONFORMANCE_DIR",
    Path(__file__).resolve().parents[3] / "shared" / "conformance"))


def _vectors():
    rows = []
    for folder in ("rfc4475", "rfc5118"):
        manifest = CONFORMANCE / folder / "manifest.tsv"
        if manifest.exists():
            with manifest.open(newline="", encoding="utf-8") as f:
                rows += [pytest.param(CONFORMANCE / folder / row["file"], row,
                                      id=f"{folder}/{row['file']}")
                         for row in csv.DictReader(f, delimiter="\t")]
    rows += [pytest.param(path, {}, id=f"protos/{path.name}")
             for path in sorted((CONFORMANCE / "protos-c07-capture").glob("*.sip"))]
    return rows


VECTORS = _vectors()
pytestmark = pytest.mark.skipif(not VECTORS, reason="conformance vectors not found")


@pytest.mark.parametrize("path,row", VECTORS)
def test_datagram(path, row):
    """As a datagram: no unexpected error; a valid request is delivered
    with received/rport stamped; a bad response is never answered."""
    protocol, transport, sink, _ = makeProtocol()
    with loggedFailures() as failures:
        protocol.datagramReceived(path.read_bytes(), SOURCE)
    assert failures == []
    if row.get("rfc_class") == "valid" and row.get("kind") == "request":
        [(message, _)] = sink.received
        assert isinstance(message, Request)
        assert topVia(message).received == SOURCE[0] or topVia(message).host == SOURCE[0]
    if row.get("kind") == "response":
        assert transport.written == []


@pytest.mark.parametrize("path,row", VECTORS)
def test_stream(path, row):
    """On a connection, whole and byte by byte: no unexpected error."""
    for chunk in (None, 1):
        protocol, transport, _, _, _ = connectStream()
        data = path.read_bytes()
        with loggedFailures() as failures:
            if chunk is None:
                protocol.dataReceived(data)
            else:
                for i in range(len(data)):
                    protocol.dataReceived(data[i:i + 1])
        assert failures == []
        protocol.connectionLost(None)
