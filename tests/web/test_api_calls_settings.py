# -*- test-case-name: tests.web.test_api_calls_settings -*-
"""
Tests for the recording and park settings in C{/api/v1/callsettings}
(L{tpbx.web.api_calls}): PATCH takes them with the store's rules and
answers a bad value with a 400 naming the field; GET shows them, defaults
filled in (on a real store).
"""

import pytest

from tests.web.conftest import Client
from tests.web.test_api_calls import V1
from tpbx.store import openStore
from tpbx.web.api import ApiApp
from tpbx.web.site import makeSite


@pytest.fixture
def realClient(tmp_path, status, checker, clock, guard):
    """The API on a real (SQLite) store."""
    store = openStore(str(tmp_path / "data"))
    yield Client(makeSite(ApiApp(store, status, checker, clock, guard=guard).resource(),
                          clock).resource)
    store.close()


def test_patchStoresTheNewSettings(client, store):
    """recordingFormat, parkSlots, parkTimeout and sipDigestAlgorithms are taken."""
    reply = client.patch(f"{V1}/callsettings", {
        "recordingFormat": "stereo", "parkSlots": "801-805, 810",
        "parkTimeout": 300, "sipDigestAlgorithms": "SHA-256,MD5"})
    assert reply.status == 200
    assert {name: store.settings[name] for name in (
        "recordingFormat", "parkSlots", "parkTimeout", "sipDigestAlgorithms")} == {
        "recordingFormat": "stereo", "parkSlots": "801-805,810", "parkTimeout": 300,
        "sipDigestAlgorithms": "SHA-256,MD5"}


@pytest.mark.parametrize("body, field", [
    ({"recordingFormat": "surround"}, "recordingFormat"),
    ({"recordingFormat": 2}, "recordingFormat"),
    ({"parkSlots": "701-1701"}, "parkSlots"),
    ({"parkSlots": "abc"}, "parkSlots"),
    ({"parkSlots": ["701"]}, "parkSlots"),
    ({"parkTimeout": 5}, "parkTimeout"),
    ({"parkTimeout": "120"}, "parkTimeout"),
    ({"parkTimeout": 60.5}, "parkTimeout"),
])
def test_patchRefusesBadValues(client, store, body, field):
    """A bad value or type is a 400 C{validation} error naming the field; nothing is stored."""
    reply = client.patch(f"{V1}/callsettings", body)
    assert (reply.status, reply.error()["code"], reply.error()["field"]) == (
        400, "validation", field)
    assert field not in store.settings


def test_getShowsEverySetting(realClient):
    """GET lists the new settings with their defaults, then as PATCHed."""
    shown = realClient.get(f"{V1}/callsettings").json()
    assert {k: shown[k] for k in ("recordingFormat", "parkSlots", "parkTimeout")} == {
        "recordingFormat": "mixed", "parkSlots": "701-709", "parkTimeout": 120}
    reply = realClient.patch(f"{V1}/callsettings", {"parkTimeout": 45,
                                                    "recordingFormat": "stereo"})
    assert reply.json()["parkTimeout"] == 45
    assert realClient.get(f"{V1}/callsettings").json()["recordingFormat"] == "stereo"
