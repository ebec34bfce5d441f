# -*- test-case-name: tests.e2e.test_calls_baresip -*-
"""
Real softphones call each other through the PBX (SPEC E1, E2): baresip A
sends a 1 kHz tone, B a 2 kHz tone; each must hear the other's tone, which
proves the B2BUA set up both dialogs and the relay carries RTP both ways.
Also over TCP and TLS, with hold (music on hold, not the holder's audio)
and RFC 4733 DTMF end to end.

Audio is checked on baresip's sndfile dumps (received audio, decoded) with
the Goertzel analysis of tests/tools/tone.py.
"""

import time

import pytest

from tests.e2e.conftest import requireBinaries
from tests.e2e.tools.baresip_process import BaresipProcess
from tests.tools.tone import analyse, writeTone

pytestmark = pytest.mark.e2e

TONES = {"101": 1000, "102": 2000, "103": 1500}
TRANSPORTS = {"101": "udp", "102": "tcp", "103": "tls"}
TALK = 3.0


class Phone:
    """One baresip with one account, playing a tone, recording what it hears."""

    def __init__(self, server, number, directory):
        self.number = number
        self.directory = directory
        transport = TRANSPORTS[number]
        port = server.tlsPort if transport == "tls" else server.sipPort
        account = "<sip:%s@%s:%d;transport=%s>;auth_pass=%s;regint=60;answermode=auto" % (
            number, server.host, port, transport, server.extensions[number].password)
        writeTone(str(directory / "tone.wav"), [TONES[number]], 120)
        (directory / "rec").mkdir()
        self.process = BaresipProcess(directory, ["--source", "tone.wav", "--record", "rec",
                                                  "--account", account])
        self.ctl = self.process.ctl

    def heard(self):
        """@return: the analysis of the last call's received audio."""
        dumps = sorted((self.directory / "rec").glob("dump-*-dec.wav"))
        assert dumps, "no recording of received audio"
        return dumps[-1]

    def stop(self):
        self.process.stop()


@pytest.fixture
def phones(tpbx_server, tmp_path):
    """A server with 101 (UDP), 102 (TCP), 103 (TLS), each on a registered baresip."""
    requireBinaries("baresip")
    server = tpbx_server(numbers=list(TONES), digits=3)
    started = []
    try:
        for number in TONES:
            directory = tmp_path / number
            directory.mkdir()
            started.append(Phone(server, number, directory))
        for phone in started:
            phone.ctl.wait_registered(timeout=15)
        yield server, {phone.number: phone for phone in started}
    finally:
        for phone in started:
            phone.stop()


def call(server, caller, callee):
    """Dial from C{caller} to C{callee}'s number; both see the call up."""
    caller.ctl.clear()
    callee.ctl.clear()
    caller.ctl.command("dial", "sip:%s@%s:%d" % (callee.number, server.host, _port(server, caller)))
    caller.ctl.wait_event("CALL_ESTABLISHED", 15, fail_on="CALL_CLOSED")
    callee.ctl.wait_event("CALL_ESTABLISHED", 5, fail_on="CALL_CLOSED")


def hangup(caller, callee):
    caller.ctl.command("hangup")
    callee.ctl.wait_event("CALL_CLOSED", 10)


def _port(server, phone):
    return server.tlsPort if TRANSPORTS[phone.number] == "tls" else server.sipPort


@pytest.mark.parametrize("caller,callee", [("101", "102"), ("102", "103"), ("103", "101")])
def test_audioBothWays(phones, caller, callee):
    """
    A call between two phones (UDP->TCP, TCP->TLS, TLS->UDP) carries each
    phone's tone to the other through the relay.
    """
    server, byNumber = phones
    a, b = byNumber[caller], byNumber[callee]
    call(server, a, b)
    time.sleep(TALK)
    hangup(a, b)
    time.sleep(0.5)
    heardByA = analyse(str(a.heard()), TONES[callee])
    heardByB = analyse(str(b.heard()), TONES[caller])
    assert heardByA.has(1.5), heardByA
    assert heardByB.has(1.5), heardByB
    # CDRs are written by a worker thread a fraction of a second after the call.
    deadline = time.monotonic() + 10
    while True:
        calls = server.api("/api/v1/cdr")["cdr"]
        found = any(c["caller"] == caller and c["disposition"] == "answered" for c in calls)
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert found, calls


def test_holdPlaysMusicOnHold(phones):
    """
    While A holds, B hears the PBX's music on hold, not A's tone; after
    resume, A's tone again.
    """
    server, byNumber = phones
    a, b = byNumber["101"], byNumber["102"]
    call(server, a, b)
    time.sleep(1.0)
    a.ctl.command("hold")
    time.sleep(TALK)
    a.ctl.command("resume")
    time.sleep(1.5)
    hangup(a, b)
    time.sleep(0.5)
    report = analyse(str(b.heard()), TONES["101"])
    # Tone before the hold and after the resume, but not throughout: while
    # held, B heard other (loud) audio -- the music.
    assert report.has(1.0), report
    assert report.toneSeconds < report.loudSeconds - 2.0, report


def test_dtmfReachesTheOtherPhone(phones):
    """RFC 4733 digits sent by A arrive at B through the relay."""
    server, byNumber = phones
    a, b = byNumber["101"], byNumber["102"]
    call(server, a, b)
    a.ctl.command("sndcode", "123#")
    b.ctl.poll(3.0)
    assert b.ctl.dtmf_digits().endswith("123#")
    hangup(a, b)


def test_blindTransfer(phones):
    """
    B transfers A to C with REFER (baresip's blind transfer): the PBX rings
    C, connects it to A, and then A hears C's tone and C hears A's.
    """
    server, byNumber = phones
    a, b, c = byNumber["101"], byNumber["102"], byNumber["103"]
    call(server, a, b)
    c.ctl.clear()
    b.ctl.command("transfer", "sip:103@%s:%d" % (server.host, _port(server, b)))
    b.ctl.wait_event("CALL_CLOSED", 15)
    c.ctl.wait_event("CALL_ESTABLISHED", 15, fail_on="CALL_CLOSED")
    time.sleep(TALK)
    hangup(a, c)
    time.sleep(0.5)
    heardByC = analyse(str(c.heard()), TONES["101"])
    assert heardByC.has(1.5), heardByC
