# -*- test-case-name: tests.web.test_jsonio -*-
"""
JSON reading, field checking and writing for the web API.
"""

import math

import pytest
from twisted.web.test.requesthelper import DummyRequest

from tpbx.web.jsonio import ApiError, checkFields, writeError, writeJSON


@pytest.mark.parametrize("typeName, good, bad", [
    ("string", ["", "x"], [None, 1, True, [], {}]),
    ("boolean", [True, False], [0, 1, "true", None]),
    ("number", [0, -1, 2.5], [True, False, "1", None]),
    ("number or null", [None, 0, 1.5], [False, "1", []]),
])
def test_checkFieldsTypes(typeName, good, bad):
    """
    Each schema type accepts exactly its JSON values; in particular a JSON
    boolean is never a number, although Python's bool is an int.
    """
    schema = {"f": typeName}
    for value in good:
        checkFields({"f": value}, schema)
    for value in bad:
        with pytest.raises(ApiError) as raised:
            checkFields({"f": value}, schema)
        assert (raised.value.status, raised.value.field) == (400, "f")


def test_checkFieldsUnknownBeforeRequired():
    """An unknown field is named before a missing required one."""
    with pytest.raises(ApiError) as raised:
        checkFields({"x": 1}, {"a": "string"}, required=["a"])
    assert (raised.value.field, raised.value.message) == ("x",
                                                          "unknown field")
    with pytest.raises(ApiError) as raised:
        checkFields({}, {"a": "string"}, required=["a"])
    assert (raised.value.field, raised.value.message) == ("a", "is required")


def test_writeJSON():
    """writeJSON sets status and JSON headers and encodes UTF-8 as is."""
    request = DummyRequest([b""])
    body = writeJSON(request, 201, {"name": "Zoë"})
    assert body == '{"name": "Zoë"}\n'.encode("utf-8")
    assert request.responseCode == 201
    assert request.responseHeaders.getRawHeaders(b"content-type") == [
        b"application/json; charset=utf-8"]
    assert request.responseHeaders.getRawHeaders(b"cache-control") == [
        b"no-store"]


@pytest.mark.parametrize("payload, error", [
    ({"x": object()}, TypeError), ({"x": math.nan}, ValueError),
    ({"x": math.inf}, ValueError)])
def test_writeJSONRefusesNonJSON(payload, error):
    """Only JSON values go out: no repr of objects, no NaN or Infinity."""
    with pytest.raises(error):
        writeJSON(DummyRequest([b""]), 200, payload)


def test_writeErrorShape():
    """An error always carries code, field and message, plus its headers."""
    request = DummyRequest([b""])
    body = writeError(request, ApiError(
        429, "locked-out", "later", headers=[(b"retry-after", b"5")]))
    assert body == (b'{"error": {"code": "locked-out", "field": null, '
                    b'"message": "later"}}\n')
    assert request.responseCode == 429
    assert request.responseHeaders.getRawHeaders(b"retry-after") == [b"5"]
