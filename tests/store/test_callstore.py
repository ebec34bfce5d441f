# -*- test-case-name: tests.store.test_callstore -*-
"""
Tests for L{tpbx.store.callstore}: ring groups, forwarding rules, presence
status, office hours, holidays, dial codes and call settings in the real
store (SQLite in tmp_path; PostgreSQL when configured).
"""

import pytest

from tpbx.errors import Conflict, NotFound, ValidationError
from tpbx.model import ForwardingRule, RingGroup
from tpbx.store.officehours import Holiday, OfficeInterval

STRONG = "Tr1cky-Sip-Secret"


@pytest.fixture
def ready(store):
    """A store with 3-digit extensions 100, 101 and 102."""
    store.setSetting("extensionDigits", 3)
    store.setSetting("voicemailNumber", "999")
    for number in ("100", "101", "102"):
        store.createExtension({"number": number, "firstName": "X" + number,
                               "password": STRONG})
    return store


def test_ringGroupCrud(ready):
    """
    A ring group is created with defaults, read back with members in
    order, updated (members replaced) and deleted.
    """
    group = ready.createRingGroup({"number": "200", "name": "Sales",
                                   "strategy": "hunt", "ringTime": 15,
                                   "members": ["101", "100"],
                                   "noAnswer": "voicemail:100"})
    assert group == RingGroup("200", "Sales", "hunt", 15, ("101", "100"),
                              "voicemail:100")
    assert ready.getRingGroup("200") == group
    ready.createRingGroup({"number": "201"})
    assert ready.getRingGroup("201") == RingGroup("201")
    updated = ready.updateRingGroup("200", {"members": ["102"],
                                            "strategy": "ringall"})
    assert (updated.members, updated.strategy, updated.ringTime) == (
        ("102",), "ringall", 15)
    assert [g.number for g in ready.listRingGroups()] == ["200", "201"]
    ready.deleteRingGroup("200")
    assert ready.getRingGroup("200") is None
    with pytest.raises(NotFound):
        ready.deleteRingGroup("200")
    with pytest.raises(NotFound):
        ready.updateRingGroup("200", {"name": "x"})


def test_numbersSharedWithExtensions(ready):
    """
    Ring groups and extensions share one numbering plan: neither may take
    the other's number (409), and ring group numbers follow the extension
    length.
    """
    with pytest.raises(Conflict):
        ready.createRingGroup({"number": "100"})
    ready.createRingGroup({"number": "300"})
    with pytest.raises(Conflict):
        ready.createRingGroup({"number": "300"})
    with pytest.raises(Conflict):
        ready.createExtension({"number": "300", "firstName": "A"})
    for number in ("3000", "999"):   # wrong length; voicemail number
        with pytest.raises(ValidationError) as error:
            ready.createRingGroup({"number": number})
        assert error.value.field == "number"


@pytest.mark.parametrize("fields, field", [
    ({"strategy": "random"}, "strategy"),
    ({"ringTime": 2}, "ringTime"),
    ({"ringTime": True}, "ringTime"),
    ({"members": ["555"]}, "members"),
    ({"members": ["100", "100"]}, "members"),
    ({"members": "100"}, "members"),
    ({"noAnswer": "extension:555"}, "noAnswer"),
    ({"noAnswer": "voicemail:200"}, "noAnswer"),
    ({"noAnswer": "external:12a"}, "noAnswer"),
    ({"noAnswer": "somewhere"}, "noAnswer"),
    ({"colour": "red"}, "colour"),
])
def test_ringGroupValidation(ready, fields, field):
    """Each bad field is refused with a ValidationError naming it."""
    with pytest.raises(ValidationError) as error:
        ready.createRingGroup({"number": "200", **fields})
    assert error.value.field == field
    assert ready.listRingGroups() == []


def test_deletingExtensionLeavesGroupsConsistent(ready):
    """
    Deleting an extension removes it from ring groups and deletes its
    forwarding rules (members are always existing extensions).
    """
    ready.createRingGroup({"number": "200", "members": ["100", "101"]})
    ready.addForwardingRule(ForwardingRule("101", "busy", "end"))
    ready.deleteExtension("101")
    assert ready.getRingGroup("200").members == ("100",)
    with pytest.raises(NotFound):
        ready.listForwardingRules("101")


def test_forwardingRules(ready):
    """
    Rules are appended with ids, listed in order, deleted by id and
    replaced all at once.
    """
    first = ready.addForwardingRule(ForwardingRule(
        "100", "no-answer", "voicemail", delay=15))
    second = ready.addForwardingRule(ForwardingRule(
        "100", "busy", "external:+3312345#", status="away", hours="office",
        caller="external"))
    rules = ready.listForwardingRules("100")
    assert [i for i, _ in rules] == [first, second]
    assert rules[1][1] == ForwardingRule("100", "busy", "external:+3312345#",
                                         "away", "office", "external", 20)
    ready.deleteForwardingRule(first)
    assert [i for i, _ in ready.listForwardingRules("100")] == [second]
    with pytest.raises(NotFound):
        ready.deleteForwardingRule(first)
    ids = ready.replaceForwardingRules("100", [
        ForwardingRule("ignored", "not-registered", "extension:101"),
        ForwardingRule("100", "busy", "end")])
    assert [r.extension for _, r in ready.listForwardingRules("100")] == [
        "100", "100"]
    assert [i for i, _ in ready.listForwardingRules("100")] == ids
    assert ready.listForwardingRules("101") == []


@pytest.mark.parametrize("rule, field", [
    (ForwardingRule("100", "ringing", "end"), "condition"),
    (ForwardingRule("100", "busy", "extension:100"), "action"),
    (ForwardingRule("100", "busy", "end", hours="night"), "hours"),
    (ForwardingRule("100", "busy", "end", caller="vip"), "caller"),
    (ForwardingRule("100", "busy", "end", delay=0), "delay"),
    (ForwardingRule("100", "busy", "end", delay=301), "delay"),
    (ForwardingRule("100", "busy", "end", status="Out Of Office"), "status"),
    (ForwardingRule("555", "busy", "end"), "extension"),
])
def test_forwardingValidation(ready, rule, field):
    """A bad rule is refused naming the field; nothing is stored."""
    with pytest.raises(ValidationError) as error:
        ready.addForwardingRule(rule)
    assert error.value.field == field


def test_replaceIsAllOrNothing(ready):
    """One bad rule in a replacement leaves the old rules in place."""
    ready.addForwardingRule(ForwardingRule("100", "busy", "end"))
    with pytest.raises(ValidationError):
        ready.replaceForwardingRules("100", [
            ForwardingRule("100", "busy", "voicemail"),
            ForwardingRule("100", "nope", "end")])
    assert [r.action for _, r in ready.listForwardingRules("100")] == ["end"]
    with pytest.raises(NotFound):
        ready.replaceForwardingRules("555", [])


def test_extensionStatus(ready):
    """
    Status is set by name (custom names allowed, case folded) and
    refused when not a word; the call options default as documented.
    """
    ext = ready.getExtension("100")
    assert (ext.status, ext.callWaiting, ext.recordCalls,
            ext.directMedia) == ("available", True, False, False)
    assert ready.setExtensionStatus("100", "Lunch-Break").status == \
        "lunch-break"
    with pytest.raises(ValidationError):
        ready.setExtensionStatus("100", "on holiday")
    with pytest.raises(NotFound):
        ready.setExtensionStatus("555", "away")
    ready.updateExtension("100", {"callWaiting": "no", "recordCalls": True,
                                  "directMedia": "yes"})
    ext = ready.getExtension("100")
    assert (ext.callWaiting, ext.recordCalls, ext.directMedia) == (
        False, True, True)


def test_officeHoursAndHolidays(store):
    """
    The schedule is replaced as a whole and read back sorted; holidays
    are added (or renamed), listed by date and removed.
    """
    stored = store.setOfficeHours([
        {"weekday": 0, "open": "13:30", "close": "18:00"},
        OfficeInterval(0, "08:00", "12:00"),
        OfficeInterval(5, "09:00", "24:00")])
    assert stored == store.getOfficeHours() == [
        OfficeInterval(0, "08:00", "12:00"),
        OfficeInterval(0, "13:30", "18:00"),
        OfficeInterval(5, "09:00", "24:00")]
    store.setOfficeHours([])
    assert store.getOfficeHours() == []
    store.addHoliday("2026-12-25", "Christmas")
    store.addHoliday("2026-01-01")
    store.addHoliday("2026-12-25", "Noël")
    assert store.listHolidays() == [Holiday("2026-01-01", ""),
                                    Holiday("2026-12-25", "Noël")]
    store.removeHoliday("2026-01-01")
    with pytest.raises(NotFound):
        store.removeHoliday("2026-01-01")


@pytest.mark.parametrize("intervals, field", [
    ([{"weekday": 7, "open": "08:00", "close": "09:00"}], "weekday"),
    ([{"weekday": 0, "open": "8:00", "close": "09:00"}], "open"),
    ([{"weekday": 0, "open": "09:00", "close": "09:00"}], "close"),
    ([{"weekday": 0, "open": "24:00", "close": "24:00"}], "open"),
    ([{"weekday": 0, "open": "08:00", "close": "12:60"}], "close"),
    ([{"weekday": 0, "open": "08:00", "close": "12:00"},
      {"weekday": 0, "open": "11:00", "close": "13:00"}], "open"),
    ([{"weekday": 0, "open": "08:00"}], "close"),
    ([{"weekday": 0, "open": "08:00", "close": "09:00", "x": 1}], "x"),
])
def test_officeHoursValidation(store, intervals, field):
    """A bad schedule is refused naming the field, and nothing changes."""
    store.setOfficeHours([OfficeInterval(1, "08:00", "17:00")])
    with pytest.raises(ValidationError) as error:
        store.setOfficeHours(intervals)
    assert error.value.field == field
    assert store.getOfficeHours() == [OfficeInterval(1, "08:00", "17:00")]


@pytest.mark.parametrize("day", ["2026-02-30", "26-12-25", "2026-1-1", 5])
def test_holidayValidation(store, day):
    """Only real dates written YYYY-MM-DD are holidays."""
    with pytest.raises(ValidationError) as error:
        store.addHoliday(day, "x")
    assert error.value.field == "date"


def test_dialCodes(store):
    """
    Dial codes have documented defaults; changing one keeps the others;
    bad or duplicate codes and unknown names are refused.
    """
    codes = store.getDialCodes()
    assert codes["pickup"] == "*8" and codes["voicemail"] == "*97"
    assert store.setDialCodes({"park": "#70"})["park"] == "#70"
    assert store.getDialCodes() == {**codes, "park": "#70"}
    for change, field in [({"park": "70"}, "park"), ({"park": "*"}, "park"),
                          ({"park": "*8"}, "park"), ({"fax": "*3"}, "fax"),
                          ({"park": 5}, "park")]:
        with pytest.raises(ValidationError) as error:
            store.setDialCodes(change)
        assert error.value.field == field
    swapped = store.setDialCodes({"dndOn": "*79", "dndOff": "*78"})
    assert (swapped["dndOn"], swapped["dndOff"]) == ("*79", "*78")


PARK_AND_RECORDING_DEFAULTS = {"recordingFormat": "mixed", "parkSlots": "701-709",
                               "parkTimeout": 120}


def test_callSettings(store):
    """
    The external call URI, time zone and digest algorithms have defaults,
    are validated and stored.
    """
    assert store.getCallSettings() == {"externalCallUri": "",
                                       "timezone": "UTC", "sipDigestAlgorithms": "MD5",
                                       **PARK_AND_RECORDING_DEFAULTS}
    assert store.setCallSettings({
        "timezone": "Europe/Paris", "sipDigestAlgorithms": "sha-256, MD5",
        "externalCallUri": "sip:{number}@gw.example:5060"}) == {
            "externalCallUri": "sip:{number}@gw.example:5060",
            "timezone": "Europe/Paris", "sipDigestAlgorithms": "SHA-256,MD5",
            **PARK_AND_RECORDING_DEFAULTS}
    for fields, field in [({"timezone": "Mars/Olympus"}, "timezone"),
                          ({"sipDigestAlgorithms": "MD5,MD5"}, "sipDigestAlgorithms"),
                          ({"sipDigestAlgorithms": "SHA-1"}, "sipDigestAlgorithms"),
                          ({"externalCallUri": "sip:gw.example"},
                           "externalCallUri"),
                          ({"externalCallUri": "http://{number}"},
                           "externalCallUri"),
                          ({"moh": "x"}, "moh")]:
        with pytest.raises(ValidationError) as error:
            store.setCallSettings(fields)
        assert error.value.field == field


def test_everyCallConfigWriteBumpsVersion(ready):
    """
    Every call configuration write bumps config_version, so the running
    server's snapshot follows.
    """
    writes = [
        lambda: ready.createRingGroup({"number": "200"}),
        lambda: ready.updateRingGroup("200", {"name": "x"}),
        lambda: ready.addForwardingRule(ForwardingRule("100", "busy", "end")),
        lambda: ready.replaceForwardingRules("100", []),
        lambda: ready.setExtensionStatus("100", "away"),
        lambda: ready.setOfficeHours([OfficeInterval(0, "08:00", "09:00")]),
        lambda: ready.addHoliday("2026-12-25"),
        lambda: ready.removeHoliday("2026-12-25"),
        lambda: ready.setDialCodes({"park": "*55"}),
        lambda: ready.setCallSettings({"timezone": "UTC"}),
        lambda: ready.deleteRingGroup("200"),
    ]
    for write in writes:
        before = ready.configVersion()
        write()
        assert ready.configVersion() == before + 1
