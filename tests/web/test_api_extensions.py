# -*- test-case-name: tests.web.test_api_extensions -*-
"""
The extensions endpoints of the REST API: /api/v1/extensions[/<number>].
"""

import pytest

from tests.web.fakes import GENERATED_PASSWORD
from tpbx.model import Extension

EXTENSIONS = "/api/v1/extensions"
CALL_OPTIONS = {"status": "available", "callWaiting": True,
                "recordCalls": False, "directMedia": False}
"""The call options every extension shows, at their defaults."""


def test_listEmpty(client):
    """With no extensions, the list is an empty JSON array."""
    reply = client.get(EXTENSIONS)
    assert reply.status == 200
    assert reply.json() == {"extensions": []}


def test_createGeneratesPassword(client, store):
    """
    POST creates the extension: 201, a Location naming it, and the body
    shows the generated password -- the only time it is ever shown.
    """
    reply = client.post(EXTENSIONS, {"number": "101", "firstName": "Ada",
                                     "email": "ada@example.com"})
    assert reply.status == 201
    assert reply.header("location") == "/api/v1/extensions/101"
    assert reply.header("cache-control") == "no-store"
    assert reply.json() == {
        "number": "101", "firstName": "Ada", "lastName": "",
        "email": "ada@example.com", "authId": "101", "pin": "",
        "lanOnly": False, "password": GENERATED_PASSWORD, **CALL_OPTIONS}
    assert store.extensions["101"].password == GENERATED_PASSWORD


def test_createWithPasswordDoesNotEchoIt(client, store):
    """A password the client chose is stored but never sent back."""
    reply = client.post(EXTENSIONS, {"number": "102", "password": "Chosen-1"})
    assert reply.status == 201
    assert "password" not in reply.json()
    assert b"Chosen-1" not in reply.body
    assert store.extensions["102"].password == "Chosen-1"


def test_listNeverShowsPasswords(client, store):
    """Neither generated nor chosen passwords appear in the list."""
    client.post(EXTENSIONS, {"number": "101"})
    client.post(EXTENSIONS, {"number": "102", "password": "Chosen-1",
                             "lanOnly": True})
    reply = client.get(EXTENSIONS)
    assert reply.status == 200
    assert [e["number"] for e in reply.json()["extensions"]] == ["101", "102"]
    assert all("password" not in e for e in reply.json()["extensions"])
    assert GENERATED_PASSWORD.encode() not in reply.body
    assert b"Chosen-1" not in reply.body


def test_getOne(client, store):
    """GET of one extension shows its fields, without the password."""
    store.extensions["105"] = Extension("105", "Bo", "Li", "bo@x.org", "a5",
                                        "pw-105", "1234", True)
    reply = client.get(f"{EXTENSIONS}/105")
    assert reply.status == 200
    assert reply.json() == {"number": "105", "firstName": "Bo",
                            "lastName": "Li", "email": "bo@x.org",
                            "authId": "a5", "pin": "1234", "lanOnly": True,
                            **CALL_OPTIONS}
    assert b"pw-105" not in reply.body


def test_getMissing(client):
    """GET of an unknown extension is a 404 JSON error."""
    reply = client.get(f"{EXTENSIONS}/999")
    assert reply.status == 404
    assert reply.error()["code"] == "not-found"


def test_createDuplicateConflicts(client):
    """Creating a number that exists answers 409."""
    client.post(EXTENSIONS, {"number": "101"})
    reply = client.post(EXTENSIONS, {"number": "101"})
    assert reply.status == 409
    assert reply.error()["code"] == "conflict"


def test_storeValidationNamesField(client):
    """A value the store refuses is a 400 naming the field."""
    reply = client.post(EXTENSIONS, {"number": "101", "email": "nope"})
    assert reply.status == 400
    assert reply.error() == {"code": "validation", "field": "email",
                             "message": "is not an email address"}


@pytest.mark.parametrize("body, field, message", [
    ({"number": "101", "colour": "red"}, "colour", "unknown field"),
    ({"number": 101}, "number", "must be a string"),
    ({"number": "101", "lanOnly": "yes"}, "lanOnly", "must be a boolean"),
    ({"number": "101", "lanOnly": 1}, "lanOnly", "must be a boolean"),
    ({"number": "101", "pin": None}, "pin", "must be a string"),
])
def test_createRejectsShape(client, store, body, field, message):
    """Unknown fields and wrong types are refused, naming the field."""
    reply = client.post(EXTENSIONS, body)
    assert reply.status == 400
    assert reply.error() == {"code": "validation", "field": field,
                             "message": message}
    assert store.extensions == {}


@pytest.mark.parametrize("raw, code", [
    (b'{"number": "1', "malformed-json"),
    (b"", "malformed-json"),
    (b'{"number": NaN}', "malformed-json"),
    (b'\xff{"number": "1"}', "malformed-json"),
    (b'["101"]', "validation"),
    (b'"101"', "validation"),
])
def test_createRejectsBadJSON(client, store, raw, code):
    """A body that is not a UTF-8 JSON object is a 400, never a crash."""
    reply = client.post(EXTENSIONS, raw=raw,
                        headers={"Content-Type": "application/json"})
    assert reply.status == 400
    assert reply.error()["code"] == code
    assert store.extensions == {}


@pytest.mark.parametrize("contentType", [None, "text/plain",
                                         "application/x-www-form-urlencoded"])
def test_createRejectsNonJSONMediaType(client, contentType):
    """A body not declared as application/json is a 415."""
    headers = {} if contentType is None else {"Content-Type": contentType}
    reply = client.post(EXTENSIONS, raw=b'{"number": "101"}',
                        headers=headers)
    assert reply.status == 415
    assert reply.error()["code"] == "unsupported-media-type"


def test_createAcceptsCharsetParameter(client):
    """C{application/json; charset=utf-8} is JSON too."""
    reply = client.post(EXTENSIONS, raw=b'{"number": "101"}', headers={
        "Content-Type": "Application/JSON; charset=utf-8"})
    assert reply.status == 201


def test_createRejectsHugeBody(client):
    """A body over the size limit is a 413."""
    raw = b'{"firstName": "' + b"x" * (64 * 1024) + b'"}'
    reply = client.post(EXTENSIONS, raw=raw,
                        headers={"Content-Type": "application/json"})
    assert reply.status == 413
    assert reply.error()["code"] == "too-large"


def test_patchChangesOnlyGivenFields(client, store):
    """PATCH changes the fields given and keeps the rest."""
    client.post(EXTENSIONS, {"number": "101", "firstName": "Ada",
                             "pin": "4321"})
    reply = client.patch(f"{EXTENSIONS}/101", {"lastName": "Lovelace",
                                               "password": "New-Pw-9"})
    assert reply.status == 200
    assert reply.json()["firstName"] == "Ada"
    assert reply.json()["lastName"] == "Lovelace"
    assert reply.json()["pin"] == "4321"
    assert b"New-Pw-9" not in reply.body
    assert store.extensions["101"].password == "New-Pw-9"


def test_patchMissing(client):
    """PATCH of an unknown extension is a 404."""
    reply = client.patch(f"{EXTENSIONS}/999", {"firstName": "X"})
    assert reply.status == 404
    assert reply.error()["code"] == "not-found"


def test_patchRejectsUnknownField(client, store):
    """PATCH names an unknown field and changes nothing."""
    client.post(EXTENSIONS, {"number": "101", "firstName": "Ada"})
    reply = client.patch(f"{EXTENSIONS}/101", {"firstName": "B", "x": 1})
    assert reply.status == 400
    assert reply.error()["field"] == "x"
    assert store.extensions["101"].firstName == "Ada"


def test_patchRenumberConflict(client):
    """Renumbering onto an existing number answers 409."""
    client.post(EXTENSIONS, {"number": "101"})
    client.post(EXTENSIONS, {"number": "102"})
    reply = client.patch(f"{EXTENSIONS}/101", {"number": "102"})
    assert reply.status == 409


def test_putReplacesShownFields(client, store):
    """
    PUT replaces every shown field: ones left out get their defaults
    (authId the number); the password, which GET never shows, is kept.
    """
    client.post(EXTENSIONS, {"number": "101", "firstName": "Ada",
                             "email": "a@x.org", "authId": "ada",
                             "password": "Keep-Me-1", "lanOnly": True})
    reply = client.put(f"{EXTENSIONS}/101", {"lastName": "Lovelace"})
    assert reply.status == 200
    assert reply.json() == {"number": "101", "firstName": "",
                            "lastName": "Lovelace", "email": "",
                            "authId": "101", "pin": "", "lanOnly": False,
                            **CALL_OPTIONS}
    assert store.extensions["101"].password == "Keep-Me-1"


def test_putRoundTrip(client):
    """What GET shows can be PUT back unchanged."""
    client.post(EXTENSIONS, {"number": "101", "firstName": "Ada",
                             "authId": "ada", "pin": "11"})
    shown = client.get(f"{EXTENSIONS}/101").json()
    reply = client.put(f"{EXTENSIONS}/101", shown)
    assert reply.status == 200
    assert reply.json() == shown


def test_putMissingAndBadType(client):
    """PUT of an unknown extension is 404; a wrong type is 400."""
    assert client.put(f"{EXTENSIONS}/999", {}).status == 404
    client.post(EXTENSIONS, {"number": "101"})
    reply = client.put(f"{EXTENSIONS}/101", {"email": 5})
    assert reply.status == 400
    assert reply.error()["field"] == "email"


def test_delete(client, store):
    """DELETE answers 204 with no body; the extension is gone."""
    client.post(EXTENSIONS, {"number": "101"})
    reply = client.delete(f"{EXTENSIONS}/101")
    assert reply.status == 204
    assert reply.body == b""
    assert store.extensions == {}
    assert client.get(f"{EXTENSIONS}/101").status == 404


def test_deleteMissing(client):
    """DELETE of an unknown extension is a 404."""
    reply = client.delete(f"{EXTENSIONS}/999")
    assert reply.status == 404
    assert reply.error()["code"] == "not-found"


def test_callOptions(client, store):
    """
    PATCH takes the call options (status, callWaiting, recordCalls,
    directMedia), typed strictly; PUT resets those left out.
    """
    client.post(EXTENSIONS, {"number": "101"})
    reply = client.patch(f"{EXTENSIONS}/101", {
        "status": "away", "callWaiting": False, "recordCalls": True,
        "directMedia": True})
    assert reply.status == 200
    assert store.extensions["101"].status == "away"
    assert (reply.json()["callWaiting"], reply.json()["recordCalls"],
            reply.json()["directMedia"]) == (False, True, True)
    bad = client.patch(f"{EXTENSIONS}/101", {"recordCalls": "yes"})
    assert (bad.status, bad.error()["field"]) == (400, "recordCalls")
    reply = client.put(f"{EXTENSIONS}/101", {})
    assert {k: reply.json()[k] for k in CALL_OPTIONS} == CALL_OPTIONS
