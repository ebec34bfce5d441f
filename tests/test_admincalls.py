# -*- test-case-name: tests.test_admincalls -*-
"""
Tests for the call configuration commands of C{tpbx-admin}
(L{tpbx.admincalls}), run in-process through L{tpbx.admin.main}.
"""

import json

import pytest

from tests.test_admin import ADMIN, STRONG, storeOf
from tpbx.admincalls import parseDays, parseHours
from tpbx.errors import ValidationError
from tpbx.model import CallDetail


@pytest.fixture
def data(tmp_path):
    return str(tmp_path / "data")


@pytest.fixture
def pbx(capsys, data):
    """
    An initialised store with extensions 100-102; returns a runner of
    C{tpbx-admin} giving C{(code, stdout, stderr)}.
    """
    from tpbx.admin import main

    def run(*argv):
        code = main(list(argv) + ["--data", data])
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return code, out, err
    assert run("init", "--non-interactive", "--admin-password",
               ADMIN)[0] == 0
    for number in ("100", "101", "102"):
        assert run("extension", "add", number, "--first-name", "X",
                   "--password", STRONG)[0] == 0
    return run


def test_ringGroupCommands(pbx, data):
    """ringgroup add/list/show/set/remove reach the store."""
    code, out, err = pbx("ringgroup", "add", "200", "--name", "Sales",
                         "--strategy", "hunt", "--ring-time", "15",
                         "--member", "101", "--member", "100",
                         "--no-answer", "voicemail:100")
    assert (code, err) == (0, "")
    listed = json.loads(pbx("ringgroup", "list", "--json")[1])
    assert listed == [{"number": "200", "name": "Sales", "strategy": "hunt",
                       "ringTime": 15, "members": ["101", "100"],
                       "noAnswer": "voicemail:100", "multicast": ""}]
    assert pbx("ringgroup", "list")[1].split("\t")[:2] == ["200", "Sales"]
    assert "members   101,100" in pbx("ringgroup", "show", "200")[1]
    assert pbx("ringgroup", "set", "200", "--no-members")[0] == 0
    assert json.loads(pbx("ringgroup", "show", "200", "--json")[1])[
        "members"] == []
    assert pbx("ringgroup", "set", "200")[0] == 1
    assert pbx("ringgroup", "remove", "200")[0] == 0
    assert pbx("ringgroup", "show", "200")[0] == 1


@pytest.mark.parametrize("argv, where", [
    (["100"], "exists"),
    (["200", "--member", "555"], "--member"),
    (["200", "--no-answer", "nowhere"], "--no-answer"),
    (["200", "--ring-time", "1"], "--ring-time"),
])
def test_ringGroupRefused(pbx, argv, where):
    """A refused ring group is one error line naming the option."""
    code, out, err = pbx("ringgroup", "add", *argv)
    assert code == 1 and len(err.splitlines()) == 1 and where in err


def test_ringGroupMulticastSetAndClear(pbx, data):
    """
    --multicast sets a paging group's multicast group (SPEC E4) on add and
    set, list and show display it, and an empty value clears it.
    """
    assert pbx("ringgroup", "add", "300", "--strategy", "paging",
               "--multicast", "239.255.0.1:5004")[0] == 0
    store = storeOf(data)
    assert store.getRingGroup("300").multicastGroup() == ("239.255.0.1", 5004)
    store.close()
    assert pbx("ringgroup", "list")[1].rstrip("\n").split("\t")[-1] == \
        "239.255.0.1:5004"
    assert pbx("ringgroup", "set", "300", "--multicast",
               "[ff05::1]:5004")[0] == 0
    assert "multicast [ff05::1]:5004" in pbx("ringgroup", "show", "300")[1]
    assert pbx("ringgroup", "set", "300", "--multicast", "")[0] == 0
    shown = json.loads(pbx("ringgroup", "show", "300", "--json")[1])
    assert (shown["multicast"], shown["strategy"]) == ("", "paging")


@pytest.mark.parametrize("argv", [
    ["--strategy", "paging", "--multicast", "10.0.0.1:5004"],
    ["--strategy", "paging", "--multicast", "239.255.0.1:5005"],
    ["--strategy", "hunt", "--multicast", "239.255.0.1:5004"],
    ["--multicast", "239.255.0.1:5004"],
])
def test_ringGroupMulticastRefused(pbx, argv):
    """
    A bad multicast group, or one on a group that is not paging (the
    default strategy is ringall), is one error line naming --multicast.
    """
    code, out, err = pbx("ringgroup", "add", "300", *argv)
    assert code == 1 and len(err.splitlines()) == 1 and "--multicast" in err


def test_forwardCommands(pbx):
    """forward add/list/remove manage an extension's rules by id."""
    code, out, err = pbx("forward", "add", "100", "--condition", "busy",
                         "--action", "extension:101", "--status", "away",
                         "--hours", "outside", "--caller", "external",
                         "--delay", "25")
    assert code == 0 and out.startswith("forwarding rule ")
    ruleId = int(out.split()[2])
    rules = json.loads(pbx("forward", "list", "100", "--json")[1])
    assert rules == [{"id": ruleId, "status": "away", "hours": "outside",
                      "caller": "external", "condition": "busy",
                      "delay": 25, "action": "extension:101"}]
    assert pbx("forward", "list", "100")[1].startswith(f"{ruleId}\taway")
    assert pbx("forward", "remove", str(ruleId))[0] == 0
    assert pbx("forward", "remove", str(ruleId))[0] == 1
    code, out, err = pbx("forward", "add", "100", "--condition", "busy",
                         "--action", "external:abc")
    assert code == 1 and "--action" in err
    assert pbx("forward", "add", "100", "--condition", "late",
               "--action", "end")[0] == 2
    assert pbx("forward", "list", "555")[0] == 1


def test_extensionStatusAndOptions(pbx, data):
    """
    extension status sets the presence status; add/set take the call
    options; list shows the status.
    """
    assert pbx("extension", "status", "100", "away") == (
        0, "extension 100 is away\n", "")
    assert pbx("extension", "status", "100", "not a status")[0] == 1
    assert pbx("extension", "set", "101", "--no-call-waiting",
               "--record-calls", "--direct-media", "--status", "dnd")[0] == 0
    store = storeOf(data)
    ext = store.getExtension("101")
    assert (ext.callWaiting, ext.recordCalls, ext.directMedia,
            ext.status) == (False, True, True, "dnd")
    assert store.getExtension("100").status == "away"
    store.close()
    lines = pbx("extension", "list")[1].splitlines()
    assert lines[0].split("\t")[-1] == "away"


def test_hoursCommands(pbx, data):
    """
    hours set replaces the named days only; show prints every day with
    the zone; clear removes the schedule.
    """
    assert pbx("hours", "set", "mon-fri", "08:00-12:00,13:30-18:00")[0] == 0
    assert pbx("hours", "set", "wed,sat", "09:00-12:00")[0] == 0
    code, out, err = pbx("hours", "show")
    assert out.splitlines() == [
        "timezone UTC", "mon 08:00-12:00,13:30-18:00",
        "tue 08:00-12:00,13:30-18:00", "wed 09:00-12:00",
        "thu 08:00-12:00,13:30-18:00", "fri 08:00-12:00,13:30-18:00",
        "sat 09:00-12:00", "sun closed"]
    assert pbx("hours", "set", "all", "closed")[0] == 0
    assert json.loads(pbx("hours", "show", "--json")[1]) == {
        "timezone": "UTC", "intervals": []}
    code, out, err = pbx("hours", "set", "mon", "12:00-08:00")
    assert code == 1 and "HOURS" in err
    assert pbx("hours", "set", "funday", "08:00-09:00")[0] == 1
    assert pbx("hours", "set", "mon", "08:00-09:00")[0] == 0
    assert pbx("hours", "clear")[0] == 0
    assert "always office hours" in pbx("hours", "show")[1]


def test_holidayCommands(pbx):
    """holiday add/list/remove; a bad date is refused."""
    assert pbx("holiday", "add", "2026-12-25", "Christmas")[0] == 0
    assert pbx("holiday", "list")[1] == "2026-12-25\tChristmas\n"
    assert json.loads(pbx("holiday", "list", "--json")[1]) == [
        {"date": "2026-12-25", "name": "Christmas"}]
    assert pbx("holiday", "add", "2026-13-01")[0] == 1
    assert pbx("holiday", "remove", "2026-12-25")[0] == 0
    assert pbx("holiday", "remove", "2026-12-25")[0] == 1


def test_dialCodesAndCallSettings(pbx):
    """dialcodes show/set and callsettings show/set."""
    assert "pickup          *8" in pbx("dialcodes", "show")[1]
    assert pbx("dialcodes", "set", "park", "*55")[0] == 0
    assert json.loads(pbx("dialcodes", "show", "--json")[1])["park"] == "*55"
    code, out, err = pbx("dialcodes", "set", "park", "*8")
    assert code == 1 and "pickup" in err
    assert pbx("callsettings", "set", "--timezone", "Europe/Paris",
               "--external-uri", "sip:{number}@gw.example")[0] == 0
    assert json.loads(pbx("callsettings", "show", "--json")[1]) == {
        "externalCallUri": "sip:{number}@gw.example",
        "timezone": "Europe/Paris", "sipDigestAlgorithms": "MD5",
        "recordingFormat": "mixed", "parkSlots": "701-709", "parkTimeout": 120}
    code, out, err = pbx("callsettings", "set", "--timezone", "Mars/Base")
    assert code == 1 and "--timezone" in err
    assert pbx("callsettings", "set")[0] == 1


def test_cdrCommand(pbx, data):
    """
    cdr lists records newest first, filtered by time (read in the
    configured zone) and extension, as text or JSON.
    """
    store = storeOf(data)
    for i, start in enumerate([1767225600.0, 1767229200.0]):  # 2026-01-01
        store.recordCall(CallDetail(f"c{i}", "100", str(101 + i), "10" + str(
            1 + i), start, start + 5, start + 65, "answered", "caller",
            "PCMU"))
    store.close()
    rows = json.loads(pbx("cdr", "--json")[1])
    assert [r["callId"] for r in rows] == ["c1", "c0"]
    assert rows[1]["start"] == "2026-01-01T00:00:00+00:00"
    assert rows[1]["duration"] == 60.0
    since = pbx("cdr", "--since", "2026-01-01T00:30", "--json")[1]
    assert [r["callId"] for r in json.loads(since)] == ["c1"]
    assert pbx("cdr", "--extension", "101")[1].split("\t")[3] == "101"
    assert pbx("cdr", "--limit", "1")[1].count("\n") == 1
    code, out, err = pbx("cdr", "--since", "yesterday")
    assert code == 1 and "--since" in err
    assert pbx("cdr", "--limit", "0")[0] == 1


def test_parseDaysAndHours():
    """Day lists and ranges and interval lists parse as documented."""
    assert parseDays("mon-fri") == [0, 1, 2, 3, 4]
    assert parseDays("sun,mon") == [0, 6]
    assert parseDays("all") == list(range(7))
    for bad in ("fri-mon", "xyz", ""):
        with pytest.raises(ValidationError):
            parseDays(bad)
    assert parseHours("08:00-12:00, 13:00-17:00") == [
        ("08:00", "12:00"), ("13:00", "17:00")]
    assert parseHours("Closed") == []
    with pytest.raises(ValidationError):
        parseHours("08:00")
