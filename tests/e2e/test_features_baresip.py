# -*- test-case-name: tests.e2e.test_features_baresip -*-
"""
The PBX's call features with real phones (SPEC E2, E3, E5, E6, B3):
attended transfer, busy and no-answer forwarding, ring groups (hunt and
ring-all), park/unpark, pickup and call recording.

Why these tests exist next to the unit tests of tpbx/pbx: each feature
re-wires media between legs (re-INVITEs, relay sides re-aimed, music on
hold), and only real phones show that the parties end up I{hearing each
other}.  baresip A (101) sends 1 kHz, B (102) 2 kHz, C (103) 1.5 kHz; a
feature works when the tone of the party it should connect is found in the
audio the other recorded (tests/tools/tone.py).  baresip 1.0 has no
attended transfer, so that transferor is SIPp (104,
sipp/uas_attended_transfer.xml).

One server and three phones serve the whole module; the configuration a
test needs (forwarding rules, a ring group, recordCalls) is set through the
REST API and removed afterwards, and every test starts with no call up.
"""

import contextlib
import time

import pytest

from tests.e2e.conftest import requireBinaries
from tests.e2e.harness import freePort, runSipp, writeSippUsers
from tests.e2e.sippcalls import SippProcess
from tests.e2e.tools.phones import BaresipPhone
from tests.tools.tone import analyse, writeTone

pytestmark = pytest.mark.e2e

A, B, C, SIPP_B = "101", "102", "103", "104"
TONES = {A: 1000, B: 2000, C: 1500}

#: Seconds the parties talk before the audio is checked; at least
#: L{HEARD} seconds of the other's tone must come through.
TALK = 2.5
HEARD = 1.5

#: The server re-reads its configuration every second (docs/admin/extensions.md).
CONFIG_DELAY = 1.5

#: The first park slot (docs/admin/dialcodes.md: parkSlots 701-709, first free taken).
FIRST_SLOT = "701"


@pytest.fixture(scope="module")
def pbx(tpbx_module_server, tmp_path_factory):
    """
    One server (101-104) and baresip phones A, B, C registered on it.

    @return: C{(server, {number: BaresipPhone}, work directory)}.
    """
    requireBinaries("baresip")
    server = tpbx_module_server(numbers=[A, B, C, SIPP_B], digits=3)
    work = tmp_path_factory.mktemp("features")
    phones = {}
    try:
        for number, freq in TONES.items():
            directory = work / number
            directory.mkdir()
            writeTone(str(directory / "tone.wav"), [freq], 90)
            phones[number] = BaresipPhone(server, number, directory, "tone.wav")
        for phone in phones.values():
            phone.ctl.wait_registered(timeout=15)
        yield server, phones, work
    finally:
        for phone in phones.values():
            phone.stop()


@pytest.fixture
def idle(pbx):
    """
    The module's server and phones, with every phone answering
    automatically and no call up at the PBX; after the test, calls left
    by a failure are hung up.

    @return: C{(server, A, B, C, work directory)}.
    """
    server, phones, work = pbx
    _settle(server, phones)
    yield server, phones[A], phones[B], phones[C], work
    for phone in phones.values():
        phone.hangup()


def _settle(server, phones, timeout=10.0):
    """Hang up leftovers, reset answer modes, wait for 0 calls at the PBX."""
    for phone in phones.values():
        if phone.inCall():
            phone.hangup()
        phone.answerMode("auto")
    deadline = time.monotonic() + timeout
    while server.api("/api/v1/status")["calls"] and time.monotonic() < deadline:
        time.sleep(0.2)
    for phone in phones.values():
        phone.ctl.poll(0.05)
        phone.ctl.clear()


def configure(server, method, path, body=None):
    """Change the configuration through the API and wait until it is live."""
    answer = server.apiRequest(method, path, body)
    time.sleep(CONFIG_DELAY)
    return answer


def established(phone, timeout=15.0):
    """Wait until C{phone}'s call is up (failing if it closes first)."""
    return phone.ctl.wait_event("CALL_ESTABLISHED", timeout, fail_on="CALL_CLOSED")


def accept(callee, caller):
    """C{callee} answers its ringing call; wait until both ends are up."""
    callee.ctl.command("accept")
    established(callee, 5)
    established(caller, 5)


def talkAndHangup(caller, other):
    """Let both talk for L{TALK} s, then C{caller} hangs up; both close."""
    time.sleep(TALK)
    caller.hangup()
    caller.ctl.wait_event("CALL_CLOSED", 10)
    other.ctl.wait_event("CALL_CLOSED", 10)


def assertHears(phone, before, speaker, seconds=HEARD):
    """
    C{phone}'s recording of its call since C{before} holds at least
    C{seconds} of C{speaker}'s tone.

    @return: the recording's path.
    """
    path = phone.heard(before)
    report = analyse(str(path), TONES[speaker.number])
    assert report.has(seconds), "%s did not hear %s: %s" % (phone.number, speaker.number, report)
    return path


def test_attendedTransferJoinsTransfereeAndTarget(idle):
    """
    A calls B (SIPp); B holds A, calls C, and sends REFER with Replaces
    naming its call with C (RFC 5589 sec. 7, RFC 3891): B's final NOTIFY
    says 200 and both of B's dialogs are hung up (SIPp exits 0), one call
    is left at the PBX, and A and C hear each other.
    """
    requireBinaries("sipp")
    server, a, _, c, work = idle
    target = "%s:%d" % (server.host, server.sipPort)
    users = work / "attended-b.csv"
    writeSippUsers(users, [server.extensions[SIPP_B]], target)
    port = freePort()
    registered = runSipp(work, target, users, 1, rate=1, timeout=20, localPort=port)
    assert registered.rc == 0, registered.errors[-2000:]
    transferor = SippProcess.start(work, "uas_attended_transfer.xml", [
        "-inf", users, "-s", C, "-auth_uri", "%s@%s" % (C, target), "-m", 1,
        "-trace_msg", "-recv_timeout", 20000], port=port)
    try:
        beforeA, beforeC = a.dumps(), c.dumps()
        time.sleep(0.3)   # SIPp binds its port
        a.dial(SIPP_B)
        established(a)
        established(c)                     # B's consultation call
        result = transferor.finish(30.0)
        assert result.rc == 0, result.errors[-4000:]
        assert server.api("/api/v1/status")["calls"] == 1
        talkAndHangup(a, c)
    finally:
        transferor.stop()
    assertHears(a, beforeA, c)
    assertHears(c, beforeC, a)


@contextlib.contextmanager
def forwarding(server, number, rules):
    """Extension C{number} has C{rules} while the block runs."""
    path = "/api/v1/extensions/%s/forwarding" % number
    configure(server, "PUT", path, {"forwarding": rules})
    try:
        yield
    finally:
        configure(server, "PUT", path, {"forwarding": []})


FORWARD_TO_C = [{"condition": "busy", "action": "extension:" + C},
                {"condition": "no-answer", "action": "extension:" + C, "delay": 2}]


def test_busyForwarding(idle):
    """
    B has "busy -> C": B rejects A's call (486), the PBX rings C, which
    answers, and A and C hear each other.
    """
    server, a, b, c, _ = idle
    with forwarding(server, B, FORWARD_TO_C):
        b.answerMode("manual")
        beforeA, beforeC = a.dumps(), c.dumps()
        a.dial(B)
        b.ctl.wait_event("CALL_INCOMING", 10)
        b.hangup()                                       # 486 Busy Here
        established(c, 10)
        established(a, 5)
        talkAndHangup(a, c)
    assertHears(a, beforeA, c)
    assertHears(c, beforeC, a)


def test_noAnswerForwarding(idle):
    """
    B has "no-answer after 2 s -> C": B rings, is cancelled after about
    2 s, C rings and answers, and A and C hear each other.
    """
    server, a, b, c, _ = idle
    with forwarding(server, B, FORWARD_TO_C):
        b.answerMode("manual")
        beforeA, beforeC = a.dumps(), c.dumps()
        a.dial(B)
        b.ctl.wait_event("CALL_INCOMING", 10)
        rang = time.monotonic()
        b.ctl.wait_event("CALL_CLOSED", 10)
        assert time.monotonic() - rang >= 1.0      # it rang for the delay, not 0 s
        established(c, 10)
        established(a, 5)
        talkAndHangup(a, c)
    assertHears(a, beforeA, c)
    assertHears(c, beforeC, a)


@contextlib.contextmanager
def ringGroup(server, strategy, number="600"):
    """Ring group C{number} of B then C, 5 s ring time, while the block runs."""
    configure(server, "POST", "/api/v1/ringgroups",
              {"number": number, "name": "E2e " + strategy, "strategy": strategy,
               "ringTime": 5, "members": [B, C]})
    try:
        yield number
    finally:
        configure(server, "DELETE", "/api/v1/ringgroups/" + number)


def test_ringGroupHunt(idle):
    """
    Hunt group 600 (B, C; 5 s each): B rings alone, is cancelled when its
    ring time is over, then C rings; C answers and talks with A.
    """
    server, a, b, c, _ = idle
    with ringGroup(server, "hunt") as group:
        b.answerMode("manual")
        c.answerMode("manual")
        beforeA = a.dumps()
        a.dial(group)
        b.ctl.wait_event("CALL_INCOMING", 10)
        early = c.ctl.poll(1.0)
        assert not [e for e in early if e.get("type") == "CALL_INCOMING"], early
        b.ctl.wait_event("CALL_CLOSED", 10)
        c.ctl.wait_event("CALL_INCOMING", 5)
        accept(c, a)
        talkAndHangup(a, c)
    assertHears(a, beforeA, c)


def test_ringGroupRingAll(idle):
    """
    Ring-all group 600 (B, C): both ring at once; when C answers, B's
    ringing is cancelled (its call closes) and A talks with C.
    """
    server, a, b, c, _ = idle
    with ringGroup(server, "ringall") as group:
        b.answerMode("manual")
        c.answerMode("manual")
        beforeA = a.dumps()
        a.dial(group)
        b.ctl.wait_event("CALL_INCOMING", 10)
        c.ctl.wait_event("CALL_INCOMING", 5)
        accept(c, a)
        b.ctl.wait_event("CALL_CLOSED", 5)
        assert not b.inCall()
        talkAndHangup(a, c)
    assertHears(a, beforeA, c)


def test_parkAndUnpark(idle):
    """
    B blind-transfers A to the park code (*5): B's call closes, A hears
    music on hold in slot 701; C dials *6701 and talks with A.
    """
    server, a, b, c, _ = idle
    beforeA, beforeC = a.dumps(), c.dumps()
    a.dial(B)
    established(a)
    established(b, 5)
    time.sleep(0.5)
    b.ctl.command("transfer", b.uri("*5"))
    b.ctl.wait_event("CALL_CLOSED", 10)
    time.sleep(TALK)                                 # A is parked
    assert a.inCall()
    c.dial("*6" + FIRST_SLOT)
    established(c, 10)
    talkAndHangup(a, c)
    path = assertHears(a, beforeA, c)
    # Besides B's and C's tones A heard other loud audio: the music.
    heardC, heardB = analyse(str(path), TONES[C]), analyse(str(path), TONES[B])
    music = heardC.loudSeconds - heardC.toneSeconds - heardB.toneSeconds
    assert music >= HEARD, (heardB, heardC)
    assertHears(c, beforeC, a)


@pytest.mark.parametrize("code", ["*8", "**" + B])
def test_pickup(idle, code):
    """
    A calls B, B rings; C dials the pickup code (group *8, or directed
    **102) and gets A: B stops ringing and A and C hear each other.
    """
    server, a, b, c, _ = idle
    b.answerMode("manual")
    beforeA, beforeC = a.dumps(), c.dumps()
    a.dial(B)
    b.ctl.wait_event("CALL_INCOMING", 10)
    c.dial(code)
    established(c, 10)
    established(a, 5)
    b.ctl.wait_event("CALL_CLOSED", 5)
    talkAndHangup(a, c)
    assertHears(a, beforeA, c)
    assertHears(c, beforeC, a)


@pytest.fixture(scope="module")
def recordedCall(pbx):
    """
    One call A -> B with recordCalls on for A (PATCH /api/v1/extensions).

    @return: C{(server, path)}: the recording the call left in the data
        directory's C{recordings/}.
    """
    server, phones, _ = pbx
    _settle(server, phones)
    a, b = phones[A], phones[B]
    directory = server.dataDir / "recordings"
    before = set(directory.glob("*.wav"))
    configure(server, "PATCH", "/api/v1/extensions/" + A, {"recordCalls": True})
    try:
        a.dial(B)
        established(a)
        established(b, 5)
        talkAndHangup(a, b)
    finally:
        configure(server, "PATCH", "/api/v1/extensions/" + A, {"recordCalls": False})
    deadline = time.monotonic() + 5.0
    while True:
        new = sorted(set(directory.glob("*.wav")) - before)
        if new or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    assert len(new) == 1, new
    return server, new[0]


def test_recordCallsWritesBothParties(recordedCall):
    """
    With recordCalls on for A, a call A -> B leaves one WAV in
    C{<data>/recordings} once it has ended, holding both parties' tones.
    """
    _, path = recordedCall
    for number in (A, B):
        # Both parties are mixed into one signal: each tone holds about
        # half the energy of a window.
        report = analyse(str(path), TONES[number], share=0.3)
        assert report.has(HEARD), (number, report)


def test_recordingListedAndServedByApi(recordedCall):
    """
    The recording is listed by C{GET /api/v1/recordings} (docs/api.md)
    and C{GET /api/v1/recordings/<name>} serves its bytes.
    """
    server, path = recordedCall
    names = [r["name"] for r in server.api("/api/v1/recordings")["recordings"]]
    assert path.name in names, names
    assert server.apiBytes("/api/v1/recordings/" + path.name) == path.read_bytes()
