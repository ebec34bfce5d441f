# -*- test-case-name: tests.web.test_site -*-
"""
The web port's site: the API mounted at /api, nothing else answering, and
no software version advertised.
"""

import pytest
from twisted.internet.task import Clock
from twisted.web.resource import Resource
from twisted.web.server import Site

from tests.web.conftest import Client
from tpbx.web.site import makeSite


class _Hello(Resource):
    isLeaf = True

    def render_GET(self, request):
        return b"hello"


@pytest.fixture
def site():
    return makeSite(_Hello(), Clock())


def test_makeSite(site):
    """makeSite builds a Site that shows no tracebacks, API at /api."""
    assert isinstance(site, Site)
    assert site.displayTracebacks is False
    reply = Client(site.resource).get("/api/v1/anything", auth=None)
    assert (reply.status, reply.body) == (200, b"hello")


@pytest.mark.parametrize("path", ["/", "/index.html", "/management",
                                  "/api2", "/../etc/passwd", "/%2e%2e/"])
def test_otherPathsPlain404(site, path):
    """
    Every path nothing is mounted at is a plain-text 404: no directory
    listing, no Twisted error page.
    """
    reply = Client(site.resource).get(path, auth=None)
    assert reply.status == 404
    assert reply.header("content-type") == "text/plain; charset=utf-8"
    assert reply.body == b"Not found\n"


@pytest.mark.parametrize("path", ["/", "/api/x"])
def test_serverHeaderGeneric(site, path):
    """The Server header names the product only, not Twisted or versions."""
    reply = Client(site.resource).get(path, auth=None)
    assert reply.headers.getRawHeaders("server") == ["tpbx"]


@pytest.mark.parametrize("value, sent", [("pbx-1", ["pbx-1"]), ("", None)])
def test_serverHeaderConfigurable(value, sent):
    """The Server header follows --server-header; empty sends none."""
    site = makeSite(_Hello(), Clock(), serverHeader=value)
    for path in ["/", "/api/"]:
        reply = Client(site.resource).get(path, auth=None)
        assert reply.headers.getRawHeaders("server") == sent


def test_moreMountable(site):
    """Further parts (console, portal) mount beside the API."""
    site.resource.putChild(b"management", _Hello())
    reply = Client(site.resource).get("/management/", auth=None)
    assert (reply.status, reply.body) == (200, b"hello")
