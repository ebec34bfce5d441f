# -*- test-case-name: tests.store.test_csvimport -*-
"""
Tests for L{tpbx.store.csvimport}: good rows import, bad rows are reported
with the right line and column (SPEC B4).
"""

import io

import pytest

from tpbx.errors import ValidationError
from tpbx.store.csvimport import importExtensions, readExtensionRows

MIXED = (
    "number,first_name,last_name,email,password,pin,auth_id,lan_only\r\n"
    "100,Ann,Lee,ann@example.com,Tr1cky-Sip-Secret,4711,ann.lee,yes\r\n"
    "101,,Nofirst,,,,,\r\n"                       # line 3: first_name
    "\r\n"                                        # line 4: blank, skipped
    '102,"Bob\nBobby",Multi,,,,,\r\n'             # line 5 (to 6): name
    "103,Cy,,cy@,,,,\r\n"                         # line 7: email
    "100,Dup,,,,,,\r\n"                           # line 8: number taken
    "104,Di,,,1234,,,\r\n"                        # line 9: weak password
    "105,Ed,,,,,101,\r\n"                         # good: auth ID 101 free
    "106,Flo,,,,,ann.lee,\r\n"                    # line 11: auth ID taken
    "107,Gil\r\n"                                 # line 12: cell count
)


def test_mixedFile(store):
    """
    The good rows are stored, each bad one is reported once with the line
    it starts on and its CSV column, and rows without a password get a
    generated one.
    """
    report = importExtensions(store, io.StringIO(MIXED, newline=""))
    assert [(e.line, e.field) for e in report.errors] == [
        (3, "first_name"), (5, "first_name"), (7, "email"), (8, "number"),
        (9, "password"), (11, "auth_id"), (12, "row")]
    created = {ext.number: generated for ext, generated in report.created}
    assert sorted(created) == ["100", "105"]
    assert created["100"] is None and created["105"]
    assert [e.number for e in store.listExtensions()] == ["100", "105"]
    ann = store.getExtension("100")
    assert (ann.authId, ann.pin, ann.lanOnly) == ("ann.lee", "4711", True)


def test_allowWeak(store):
    """With allowWeak, a row with a weak password imports."""
    report = importExtensions(
        store, io.StringIO("number,first_name,password\n104,Di,1234\n"),
        allowWeak=True)
    assert report.errors == []
    assert store.getExtension("104").password == "1234"


def test_headerOnlyColumnsGiven(store):
    """Columns may come in any order and any subset that has number."""
    report = importExtensions(store, io.StringIO(
        "Email , NUMBER,first_name\nz@example.com,200,Zed\n"))
    assert report.errors == []
    assert store.getExtension("200").email == "z@example.com"


@pytest.mark.parametrize("text, field", [
    ("", "header"),
    ("number,first_name,colour\n100,A,red\n", "colour"),
    ("first_name\nAnn\n", "number"),
    ("number,number\n100,100\n", "number"),
])
def test_badHeaderRefusesFile(store, text, field):
    """A bad header refuses the whole file, at line 1."""
    with pytest.raises(ValidationError) as caught:
        importExtensions(store, io.StringIO(text))
    assert (caught.value.field, caught.value.line) == (field, 1)
    assert store.listExtensions() == []


def test_notCsv():
    """Garbage the csv module chokes on is a ValidationError too."""
    with pytest.raises(ValidationError) as caught:
        readExtensionRows(io.StringIO("number\n" + "1" * 200_000 + "\n"))
    assert caught.value.field == "file"


def test_callOptionColumns(store):
    """
    The call option columns (status, call_waiting, record_calls,
    direct_media) import; empty cells keep the defaults; a bad status is
    reported with its column.
    """
    report = importExtensions(store, io.StringIO(
        "number,first_name,status,call_waiting,record_calls,direct_media\n"
        "100,Ann,away,no,yes,on\n"
        "101,Bob,,,,\n"
        "102,Cy,gone fishing,,,\n", newline=""))
    assert [(e.line, e.field) for e in report.errors] == [(4, "status")]
    ann, bob = store.getExtension("100"), store.getExtension("101")
    assert (ann.status, ann.callWaiting, ann.recordCalls,
            ann.directMedia) == ("away", False, True, True)
    assert (bob.status, bob.callWaiting, bob.recordCalls,
            bob.directMedia) == ("available", True, False, False)
