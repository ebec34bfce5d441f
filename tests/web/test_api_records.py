# -*- test-case-name: tests.web.test_api_records -*-
"""
The record endpoints (L{tpbx.web.api_records}): call detail records and
call recordings.
"""

import os

import pytest

from tests.web.conftest import Client
from tpbx.model import CallDetail
from tpbx.web.api import ApiApp
from tpbx.web.site import makeSite

V1 = "/api/v1"


def detail(callId, start, caller="100", callee="101"):
    return CallDetail(callId, caller, callee, callee, start, start + 2,
                      start + 12, "answered", "callee", "PCMA")


def test_cdrQuery(client, store):
    """
    GET /cdr lists records newest first with every field; since/until
    take epoch seconds or ISO 8601, extension filters, limit/offset page.
    """
    store.recordCall(detail("a", 1767225600.0))            # 2026-01-01Z
    store.recordCall(detail("b", 1767229200.0, caller="102"))
    reply = client.get(f"{V1}/cdr")
    assert reply.status == 200
    assert reply.json()["cdr"][1] == {
        "callId": "a", "leg": "", "caller": "100", "callee": "101",
        "dialled": "101", "start": 1767225600.0, "answer": 1767225602.0,
        "end": 1767225612.0, "duration": 10.0, "disposition": "answered",
        "hangupSide": "callee", "codec": "PCMA"}

    def ids(query):
        reply = client.get(f"{V1}/cdr?{query}")
        assert reply.status == 200, reply.body
        return [d["callId"] for d in reply.json()["cdr"]]
    assert ids("since=1767225601") == ["b"]
    assert ids("until=2026-01-01T00:30:00") == ["a"]
    assert ids("since=2026-01-01T01:30:00%2B01:00") == ["b"]
    assert ids("extension=102") == ["b"]
    assert ids("limit=1&offset=1") == ["a"]


@pytest.mark.parametrize("query, field", [
    ("since=yesterday", "since"), ("limit=-1", "limit"),
    ("limit=0", "limit"), ("offset=x", "offset"),
    ("since=1&since=2", "since"),
])
def test_cdrQueryRefused(client, query, field):
    """Bad query parameters answer 400 naming the parameter."""
    reply = client.get(f"{V1}/cdr?{query}")
    assert (reply.status, reply.error()["field"]) == (400, field)


@pytest.fixture
def recordings(tmp_path):
    """A recordings directory with two WAV files and some other files."""
    directory = tmp_path / "recordings"
    directory.mkdir()
    (directory / "abc@host-1767225600.wav").write_bytes(b"RIFF" + b"1" * 40)
    (directory / "plain.wav").write_bytes(b"RIFF")
    (directory / ".tmp-x.wav").write_bytes(b"partial")
    (directory / "notes.txt").write_bytes(b"x")
    os.utime(directory / "plain.wav", (1000, 1000))
    (tmp_path / "secret.wav").write_bytes(b"secret")
    return directory


@pytest.fixture
def recordingClient(store, status, checker, clock, guard, recordings):
    api = ApiApp(store, status, checker, clock, guard=guard,
                 recordingsDir=str(recordings))
    yield Client(makeSite(api.resource(), clock).resource)
    assert clock.getDelayedCalls() == []


def test_recordingsListed(recordingClient):
    """
    GET /recordings lists the WAV files (not temporary or other files),
    newest first, with size, mtime and the call id parsed from the name.
    """
    reply = recordingClient.get(f"{V1}/recordings")
    assert reply.status == 200
    listed = reply.json()["recordings"]
    assert [r["name"] for r in listed] == ["abc@host-1767225600.wav",
                                           "plain.wav"]
    assert listed[0]["callId"] == "abc@host"
    assert listed[0]["timestamp"] == "1767225600"
    assert listed[0]["size"] == 44
    assert (listed[1]["callId"], listed[1]["mtime"]) == (None, 1000)


def test_recordingsWithoutDirectory(client):
    """Without a recordings directory the list is empty."""
    assert client.get(f"{V1}/recordings").json() == {"recordings": []}
    assert client.get(f"{V1}/recordings/x.wav").status == 404


def test_recordingStreamed(recordingClient):
    """GET /recordings/<name> sends the file as audio/wav."""
    reply = recordingClient.get(f"{V1}/recordings/abc@host-1767225600.wav")
    assert reply.status == 200
    assert reply.header("content-type") == "audio/wav"
    assert reply.body == b"RIFF" + b"1" * 40


@pytest.mark.parametrize("name, status", [
    ("..%2Fsecret.wav", 400),
    ("%2E%2E%2Fsecret.wav", 400),
    ("..%5Csecret.wav", 400),
    (".tmp-x.wav", 400),
    ("notes.txt", 400),
    ("missing.wav", 404),
])
def test_recordingTraversalRefused(recordingClient, name, status):
    """
    Only plain .wav names inside the directory are served: anything with a
    path separator or a leading dot is 400, an unknown name 404.
    """
    reply = recordingClient.get(f"{V1}/recordings/{name}")
    assert reply.status == status
    assert b"secret" not in reply.body
