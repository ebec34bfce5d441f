# -*- test-case-name: tests.test_admin_callsettings -*-
"""
Tests for the recording and park call settings: their rules
(L{tpbx.store.callvalidation.cleanCallSettings}) and C{tpbx-admin
callsettings set/show} (L{tpbx.admincalls}) on a real store.
"""

import json

import pytest

from tests.test_admincalls import data, pbx  # noqa: F401 (fixtures)
from tpbx.errors import ValidationError
from tpbx.store.callvalidation import cleanCallSettings


@pytest.mark.parametrize("fields, clean", [
    ({"recordingFormat": "stereo"}, {"recordingFormat": "stereo"}),
    ({"recordingFormat": "mixed"}, {"recordingFormat": "mixed"}),
    ({"parkSlots": " 701-705 , 710"}, {"parkSlots": "701-705,710"}),
    ({"parkSlots": "1-100"}, {"parkSlots": "1-100"}),
    ({"parkSlots": "08-10,8"}, {"parkSlots": "08-10,8"}),
    ({"parkTimeout": 10}, {"parkTimeout": 10}),
    ({"parkTimeout": "3600"}, {"parkTimeout": 3600}),
])
def test_goodValues(fields, clean):
    """Good values are stored normalised (spaces dropped, numbers typed)."""
    assert cleanCallSettings(fields) == clean


@pytest.mark.parametrize("fields, words", [
    ({"recordingFormat": "surround"}, "must be one of mixed, stereo"),
    ({"recordingFormat": 1}, "must be one of"),
    ({"parkSlots": ""}, "is not a slot number"),
    ({"parkSlots": "7a1"}, "is not a slot number"),
    ({"parkSlots": "701-"}, "is not a slot number"),
    ({"parkSlots": "701,,702"}, "is not a slot number"),
    ({"parkSlots": "123456789"}, "is not a slot number"),
    ({"parkSlots": "\u0667\u0660\u0661"}, "is not a slot number"),
    ({"parkSlots": "710-701"}, "ends before it starts"),
    ({"parkSlots": "1-101"}, "more than 100 slots"),
    ({"parkSlots": "1-60,100-140"}, "more than 100 slots"),
    ({"parkSlots": "701-705,703"}, "slot 703 is listed twice"),
    ({"parkSlots": 701}, "must be text"),
    ({"parkTimeout": 9}, "from 10 to 3600"),
    ({"parkTimeout": 3601}, "from 10 to 3600"),
    ({"parkTimeout": 12.5}, "from 10 to 3600"),
    ({"parkTimeout": True}, "from 10 to 3600"),
    ({"parkTimeout": "soon"}, "from 10 to 3600"),
])
def test_badValuesNameTheField(fields, words):
    """Each bad value is refused with an error naming its setting."""
    with pytest.raises(ValidationError) as error:
        cleanCallSettings(fields)
    assert error.value.field == next(iter(fields))
    assert words in error.value.message


def test_setAndShow(pbx):  # noqa: F811 (fixture)
    """
    C{callsettings set --recording-format --park-slots --park-timeout}
    stores them; C{show} lists them (JSON and text), defaults first.
    """
    shown = json.loads(pbx("callsettings", "show", "--json")[1])
    assert (shown["recordingFormat"], shown["parkSlots"], shown["parkTimeout"]) == (
        "mixed", "701-709", 120)
    code, out, _ = pbx("callsettings", "set", "--recording-format", "stereo",
                       "--park-slots", "801-805, 810", "--park-timeout", "300")
    assert (code, out) == (0, "call settings updated\n")
    shown = json.loads(pbx("callsettings", "show", "--json")[1])
    assert (shown["recordingFormat"], shown["parkSlots"], shown["parkTimeout"]) == (
        "stereo", "801-805,810", 300)
    text = pbx("callsettings", "show")[1]
    assert "recordingFormat      stereo\n" in text and "parkTimeout          300\n" in text


@pytest.mark.parametrize("argv, option", [
    (("--recording-format", "mono"), "--recording-format"),
    (("--park-slots", "1-500"), "--park-slots"),
    (("--park-timeout", "5"), "--park-timeout"),
    (("--digest-algorithms", "SHA-1"), "--digest-algorithms"),
])
def test_setRefusesBadValues(pbx, argv, option):  # noqa: F811 (fixture)
    """A bad value exits 1 with an error line naming the option; nothing changes."""
    code, _, err = pbx("callsettings", "set", *argv)
    assert code == 1 and err.startswith(f"tpbx-admin: error: {option}: ")
    assert json.loads(pbx("callsettings", "show", "--json")[1])["parkSlots"] == "701-709"


def test_setWithoutOptionsListsThem(pbx):  # noqa: F811 (fixture)
    """C{set} alone names every option it takes."""
    code, _, err = pbx("callsettings", "set")
    assert code == 1
    for option in ("--recording-format", "--park-slots", "--park-timeout"):
        assert option in err
