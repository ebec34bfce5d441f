# -*- test-case-name: tests.web.test_api_extensions,tests.web.test_api_access,tests.web.test_api_misc -*-
"""
The REST API (SPEC G4) under C{/api/v1/}: extensions, registrations and the
access lists, as JSON; the call configuration and the records (CDRs,
recordings) are routed by L{tpbx.web.api_calls} and L{tpbx.web.api_records}
on the same app.

Why a class-bound Klein app (STYLE.md sec. 2): the routes need the config
store, the status source and the clock, and those are injected through
C{__init__} by the composition root -- no module-level app, no global state.
The routes only translate HTTP to L{IConfigStore} calls and back: the store
validates values (raising L{ValidationError} naming the field), this module
checks shapes and types, and every failure leaves as the one JSON error
body of L{tpbx.web.jsonio}.  Authentication happens before routing, in
L{tpbx.web.auth.AuthenticatedResource}.
"""

from __future__ import annotations

from collections.abc import Callable

from klein import Klein
from klein.interfaces import IKleinRequest
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.iweb import IRequest
from twisted.web.resource import IResource
from werkzeug import exceptions as http
from werkzeug.routing import RequestRedirect

from tpbx.errors import Conflict, NotFound, ValidationError
from tpbx.interfaces import IAccessGuard, IConfigStore, IStatusSource
from tpbx.model import AccessEntry, Extension
from tpbx.web.api_calls import addCallRoutes
from tpbx.web.api_records import addRecordRoutes
from tpbx.web.auth import (AdminAuthenticator, AuthenticatedResource,
                           LoginThrottle)
from tpbx.web.jsonio import (ApiError, checkFields, internalError,
                             readJSONObject, writeError, writeJSON)

__all__ = ["ApiApp", "EXTENSION_SCHEMA", "ACCESS_SCHEMA", "extensionJSON",
           "accessJSON"]

EXTENSION_SCHEMA = {
    "number": "string", "firstName": "string", "lastName": "string",
    "email": "string", "authId": "string", "password": "string",
    "pin": "string", "lanOnly": "boolean", "status": "string",
    "callWaiting": "boolean", "recordCalls": "boolean",
    "directMedia": "boolean",
}
"""Fields an extension body may carry, with their JSON types."""

ACCESS_SCHEMA = {
    "network": "string", "until": "number or null", "duration": "number",
    "reason": "string",
}
"""Fields an access-list body may carry, with their JSON types."""

_LISTED_FIELDS = ("number", "firstName", "lastName", "email", "authId",
                  "pin", "lanOnly", "status", "callWaiting", "recordCalls",
                  "directMedia")
"""What an extension shows: everything but its SIP password."""

_PUT_DEFAULTS = {"firstName": "", "lastName": "", "email": "", "pin": "",
                 "lanOnly": False, "status": "available", "callWaiting": True,
                 "recordCalls": False, "directMedia": False}
"""What PUT sets the fields its body leaves out to (authId: the number)."""

_KIND = "<any(blacklist, whitelist):kind>"

_log = Logger()


def extensionJSON(extension: Extension, password: str | None = None) -> dict:
    """
    @param extension: the record to show.
    @param password: a password to show with it: only ever one the store
        has just generated, which the administrator sees this once.
    @return: the extension as the API shows it.
    """
    data = {name: getattr(extension, name) for name in _LISTED_FIELDS}
    if password is not None:
        data["password"] = password
    return data


def accessJSON(entry: AccessEntry) -> dict:
    """
    @return: an access-list entry as the API shows it.
    """
    return {"network": entry.network, "until": entry.until,
            "reason": entry.reason}


def _asApiError(failure: Failure) -> ApiError:
    """
    Translate what a route raised into the HTTP error to answer.

    @return: the L{ApiError}; for anything unexpected a generic 500, after
        logging the traceback.
    """
    error = failure.value
    if isinstance(error, ApiError):
        return error
    if isinstance(error, ValidationError):
        return ApiError(400, "validation", error.message, field=error.field)
    if isinstance(error, NotFound):
        return ApiError(404, "not-found", str(error) or "not found")
    if isinstance(error, Conflict):
        return ApiError(409, "conflict", str(error) or "exists already")
    if isinstance(error, http.MethodNotAllowed):
        allow = ", ".join(sorted(error.valid_methods or ()))
        return ApiError(405, "method-not-allowed", "method not allowed",
                        headers=[(b"allow", allow.encode("ascii"))])
    if isinstance(error, RequestRedirect):
        return ApiError(error.code, "moved", f"see {error.new_url}",
                        headers=[(b"location", error.new_url.encode("utf-8"))])
    if isinstance(error, http.NotFound):
        return ApiError(404, "not-found", "no such resource")
    _log.failure("unexpected error in a web API request", failure=failure)
    return internalError()


class ApiApp:
    """
    The REST API's routes; mount L{resource} at C{/api}.
    """

    app = Klein()
    addCallRoutes(app)
    addRecordRoutes(app)

    def __init__(self, config: IConfigStore, status: IStatusSource,
                 checkPassword: Callable[[str, str], bool],
                 clock: IReactorTime, guard: IAccessGuard | None = None,
                 *, throttle: LoginThrottle | None = None,
                 recordingsDir: str | None = None):
        """
        @param config: where configuration is read and edited.
        @param status: live state (registrations, counts).
        @param checkPassword: C{(user, password) -> bool}, the admin check.
        @param clock: the time source (access-list durations, lockouts).
        @param guard: the PBX-wide anti-hacking policy, told about failed
            logins and asked whether an address is blacklisted; optional.
        @param throttle: the failed-login counter, to configure its limits;
            by default 10 failures in 60 s lock an address out for 300 s.
        @param recordingsDir: where the recorder writes call recordings
            (C{<data>/recordings}); L{None} lists none.
        """
        self._config = config
        self._recordingsDir = recordingsDir
        self._status = status
        self._clock = clock
        self.authenticator = AdminAuthenticator(checkPassword, clock,
                                                throttle=throttle,
                                                guard=guard)

    def resource(self) -> IResource:
        """
        @return: the resource to mount at C{/api}; it authenticates every
            request before routing it.
        """
        return AuthenticatedResource(self.app.resource(), self.authenticator)

    @app.handle_errors(Exception)
    def _error(self, request: IRequest, failure: Failure) -> bytes:
        """
        Answer whatever a route (or the routing) raised as a JSON error.
        """
        return writeError(request, _asApiError(failure))

    @app.route("/v1/", methods=["GET"])
    def index(self, request: IRequest) -> bytes:
        """
        Links to the collections.
        """
        link = IKleinRequest(request).url_for
        return writeJSON(request, 200, {"links": {
            "extensions": link("listExtensions"),
            "registrations": link("registrations"),
            "blacklist": link("listAccess", {"kind": "blacklist"}),
            "whitelist": link("listAccess", {"kind": "whitelist"}),
            "ringGroups": link("listRingGroups"),
            "officeHours": link("getOfficeHours"),
            "holidays": link("listHolidays"),
            "dialCodes": link("getDialCodes"),
            "callSettings": link("getCallSettings"),
            "cdr": link("queryCalls"),
            "recordings": link("listRecordings"),
        }})

    @app.route("/v1/extensions", methods=["GET"])
    def listExtensions(self, request: IRequest) -> bytes:
        """
        Every extension, by number; passwords left out.
        """
        return writeJSON(request, 200, {"extensions": [
            extensionJSON(e) for e in self._config.listExtensions()]})

    @app.route("/v1/extensions", methods=["POST"])
    def createExtension(self, request: IRequest) -> bytes:
        """
        Create an extension: 201 with its C{Location}; the password is shown
        only when the store generated it.
        """
        body = readJSONObject(request)
        checkFields(body, EXTENSION_SCHEMA)
        extension, generated = self._config.createExtension(body)
        link = IKleinRequest(request).url_for
        request.setHeader(b"location", link(
            "getExtension", {"number": extension.number}).encode("utf-8"))
        return writeJSON(request, 201, extensionJSON(extension, generated))

    @app.route("/v1/extensions/<number>", methods=["GET"])
    def getExtension(self, request: IRequest, number: str) -> bytes:
        """
        One extension, or 404.
        """
        extension = self._config.getExtension(number)
        if extension is None:
            raise ApiError(404, "not-found", f"no extension {number}")
        return writeJSON(request, 200, extensionJSON(extension))

    @app.route("/v1/extensions/<number>", methods=["PATCH"])
    def updateExtension(self, request: IRequest, number: str) -> bytes:
        """
        Change the fields given (RFC 5789 merge semantics); others stay.
        """
        body = readJSONObject(request)
        checkFields(body, EXTENSION_SCHEMA)
        extension = self._config.updateExtension(number, body)
        return writeJSON(request, 200, extensionJSON(extension))

    @app.route("/v1/extensions/<number>", methods=["PUT"])
    def replaceExtension(self, request: IRequest, number: str) -> bytes:
        """
        Replace the extension's shown fields (RFC 9110 sec. 9.3.4): the ones
        the body leaves out get their defaults (authId: the number).  The
        password is not part of what GET shows, so it changes only when
        given.
        """
        body = readJSONObject(request)
        checkFields(body, EXTENSION_SCHEMA)
        fields = {**_PUT_DEFAULTS, "authId": body.get("number", number),
                  **body}
        extension = self._config.updateExtension(number, fields)
        return writeJSON(request, 200, extensionJSON(extension))

    @app.route("/v1/extensions/<number>", methods=["DELETE"])
    def deleteExtension(self, request: IRequest, number: str) -> bytes:
        """
        Delete an extension: 204, or 404.
        """
        self._config.deleteExtension(number)
        request.setResponseCode(204)
        return b""

    @app.route("/v1/registrations", methods=["GET"])
    def registrations(self, request: IRequest) -> bytes:
        """
        The live registrations (the extension status page's data).
        """
        return writeJSON(request, 200, {
            "registrations": list(self._status.registrations())})

    @app.route("/v1/status", methods=["GET"])
    def status(self, request: IRequest) -> bytes:
        """
        Live counts: calls, legs, transactions, timers, relay sessions and
        ports (leak checks after calls; read-only).
        """
        return writeJSON(request, 200, self._status.counts())

    @app.route(f"/v1/{_KIND}", methods=["GET"])
    def listAccess(self, request: IRequest, kind: str) -> bytes:
        """
        The blacklist or whitelist, expired entries left out.
        """
        return writeJSON(request, 200, {
            kind: [accessJSON(e) for e in self._config.listAccess(kind)]})

    @app.route(f"/v1/{_KIND}", methods=["POST"])
    def addAccess(self, request: IRequest, kind: str) -> bytes:
        """
        Add (or replace) the entry for a network: 201 with its C{Location}.
        """
        body = readJSONObject(request)
        checkFields(body, ACCESS_SCHEMA, required=("network",))
        entry = AccessEntry(network=body["network"], until=self._until(body),
                            reason=body.get("reason", ""))
        self._config.addAccess(kind, entry)
        location = IKleinRequest(request).url_for(
            "removeAccess", {"kind": kind, "network": entry.network})
        request.setHeader(b"location", location.encode("utf-8"))
        return writeJSON(request, 201, accessJSON(entry))

    def _until(self, body: dict) -> float | None:
        """
        @return: when an entry ends, from C{until} (epoch seconds) or
            C{duration} (seconds from now); L{None} for permanent.
        @raise ApiError: both given, or the end is not in the future.
        """
        now = self._clock.seconds()
        if "duration" not in body:
            until = body.get("until")
            if until is not None and until <= now:
                raise ApiError(400, "validation", "is in the past",
                               field="until")
            return until
        if "until" in body:
            raise ApiError(400, "validation",
                           "give until or duration, not both",
                           field="duration")
        if body["duration"] <= 0:
            raise ApiError(400, "validation", "must be positive",
                           field="duration")
        return now + body["duration"]

    @app.route(f"/v1/{_KIND}/<path:network>", methods=["DELETE"])
    def removeAccess(self, request: IRequest, kind: str,
                     network: str) -> bytes:
        """
        Remove the entry for C{network} (its C{/} may be sent raw or as
        C{%2F}): 204, or 404.
        """
        self._config.removeAccess(kind, network)
        request.setResponseCode(204)
        return b""

    @app.route(f"/v1/{_KIND}", methods=["DELETE"])
    def removeAccessByQuery(self, request: IRequest, kind: str) -> bytes:
        """
        Remove the entry named by the C{network} query parameter.
        """
        values = request.args.get(b"network", [])
        if len(values) != 1:
            raise ApiError(400, "validation",
                           "give exactly one network parameter",
                           field="network")
        try:
            network = values[0].decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "validation", "is not UTF-8", field="network")
        return self.removeAccess(request, kind, network)
