# -*- test-case-name: tests.web.test_api_ringgroup_multicast -*-
"""
The C{multicast} field of ring groups in the REST API
(L{tpbx.web.api_calls}): multicast paging, SPEC E4.
"""

import pytest

from tpbx.model import Extension

V1 = "/api/v1"
GROUP = "239.255.0.1:5004"


@pytest.fixture
def extensions(store):
    """Extension 100 in the fake store."""
    store.extensions["100"] = Extension("100", "X", password="pw")
    return store


def test_createShowAndClear(client, extensions):
    """
    A paging group is created with a multicast group and no members,
    shown with it, and PATCH changes or clears it (C{""}).
    """
    reply = client.post(f"{V1}/ringgroups", {
        "number": "300", "strategy": "paging", "members": [],
        "multicast": GROUP})
    assert reply.status == 201
    assert reply.json()["multicast"] == GROUP
    assert client.get(f"{V1}/ringgroups/300").json()["multicast"] == GROUP
    reply = client.patch(f"{V1}/ringgroups/300", {
        "strategy": "paging", "multicast": "[ff05::1]:5004"})
    assert reply.json()["multicast"] == "[ff05::1]:5004"
    reply = client.patch(f"{V1}/ringgroups/300", {"multicast": ""})
    assert (reply.status, reply.json()["multicast"]) == (200, "")
    assert client.get(f"{V1}/ringgroups").json()["ringGroups"][0][
        "multicast"] == ""


@pytest.mark.parametrize("body, message", [
    ({"strategy": "paging", "multicast": 5004}, None),
    ({"strategy": "paging", "multicast": "239.255.0.1"}, None),
    ({"strategy": "paging", "multicast": "10.1.2.3:5004"},
     "10.1.2.3 is not a multicast address (224.0.0.0/4 or ff00::/8)"),
    ({"strategy": "paging", "multicast": "[ff05::1]:5005"}, None),
    ({"strategy": "paging", "multicast": "[ff05::1]:99999"}, None),
    ({"strategy": "hunt", "multicast": GROUP}, "only for paging groups"),
    ({"multicast": GROUP}, "only for paging groups"),
])
def test_refused(client, extensions, body, message):
    """
    A multicast value of the wrong type, one that is not a multicast
    group and an even port, or one on a group that does not page is
    400 C{validation} naming C{multicast}; nothing is created.
    """
    reply = client.post(f"{V1}/ringgroups", {"number": "300", **body})
    assert reply.status == 400
    error = reply.error()
    assert (error["code"], error["field"]) == ("validation", "multicast")
    assert message is None or error["message"] == message
    assert client.get(f"{V1}/ringgroups/300").status == 404


def test_patchToAnotherStrategyRefused(client, extensions):
    """PATCH may not leave a multicast group on a group that no longer
    pages: 400 naming C{multicast}."""
    client.post(f"{V1}/ringgroups", {"number": "300", "strategy": "paging",
                                     "multicast": GROUP})
    reply = client.patch(f"{V1}/ringgroups/300", {"strategy": "ringall",
                                                  "multicast": GROUP})
    assert (reply.status, reply.error()["field"]) == (400, "multicast")
