# -*- test-case-name: tests.web.test_site -*-
"""
The web port's L{Site}: one root resource that every web part (the REST API
now; the console, the portal and provisioning later) is mounted on.

Why a root of our own rather than a bare L{Resource}: nothing outside the
mounted parts must answer (no directory listing, no Twisted error page
naming the server), and the C{Server} header must not advertise the
software version to scanners.
"""

from __future__ import annotations

from twisted.internet.interfaces import IReactorTime
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource, Resource
from twisted.web.server import Site

__all__ = ["makeSite"]


class _NotFound(Resource):
    """
    A plain-text 404 for every path nothing is mounted at.
    """

    isLeaf = True

    def render(self, request: IRequest) -> bytes:
        request.setResponseCode(404)
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        return b"Not found\n"


_NOT_FOUND = _NotFound()


class _Root(Resource):
    """
    The root: mounted children by name, a plain 404 for anything else.
    Every request passes here first, so this is where the C{Server} header
    Twisted set is replaced.

    @ivar serverHeader: the C{Server} value, or C{b""} to send none.
    """

    def __init__(self, serverHeader: bytes):
        super().__init__()
        self.serverHeader = serverHeader

    def getChildWithDefault(self, name: bytes, request: IRequest) -> IResource:
        if self.serverHeader:
            request.setHeader(b"server", self.serverHeader)
        else:
            request.responseHeaders.removeHeader(b"server")
        return super().getChildWithDefault(name, request)

    def getChild(self, name: bytes, request: IRequest) -> IResource:
        return _NOT_FOUND


def makeSite(apiResource: IResource, reactor: IReactorTime,
             serverHeader: str = "tpbx") -> Site:
    """
    Build the web port's site with the REST API at C{/api}.

    Further parts are mounted with C{site.resource.putChild(b"name", r)}.

    @param apiResource: L{tpbx.web.api.ApiApp.resource}'s result.
    @param reactor: the reactor the site's timeouts and log dates use.
    @param serverHeader: the C{Server} header (C{--server-header}); the
        product without a version by default, as RFC 9110 sec. 10.2.4
        warns that detail helps attackers; C{""} sends none.
    @return: the site, showing no tracebacks and not parsing form bodies
        (the API reads JSON itself).
    """
    root = _Root(serverHeader.encode("utf-8"))
    root.putChild(b"api", apiResource)
    site = Site(root, reactor=reactor, parsePOSTFormSubmission=False)
    site.displayTracebacks = False
    return site
