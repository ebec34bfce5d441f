# -*- test-case-name: tests.web.test_jsonio -*-
"""
JSON in and out for the REST API, and the one error shape every failure takes.

Why a module of its own: the API's routes, its authentication wrapper and
(later) the console's JSON calls must answer errors identically --
C{{"error": {"code", "field", "message"}}} with a precise status -- and must
refuse a bad body the same way, naming the offending field.  Keeping the
parsing and the error shape here means no route ever builds either by hand.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping

from twisted.web.iweb import IRequest

__all__ = ["ApiError", "MAX_BODY", "readJSONObject", "checkFields",
           "FIELD_TYPES", "writeJSON", "writeError", "internalError"]

MAX_BODY = 64 * 1024
"""Largest request body accepted, in bytes (RFC 9110 sec. 15.5.14: 413)."""

_JSON_TYPE = b"application/json; charset=utf-8"


class ApiError(Exception):
    """
    An HTTP error to answer with the standard JSON error body.

    @ivar status: the HTTP status code.
    @ivar code: a short machine-readable code (C{"validation"},
        C{"not-found"} ...).
    @ivar message: what went wrong, for a human; never a traceback.
    @ivar field: the request field at fault, or L{None}.
    @ivar headers: extra response headers, as C{(name, value)} byte pairs.
    """

    def __init__(self, status: int, code: str, message: str,
                 field: str | None = None,
                 headers: Iterable[tuple[bytes, bytes]] = ()):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = tuple(headers)


def _isNumber(value: object) -> bool:
    """
    @return: whether C{value} is a JSON number (a bool is not one, although
        Python's C{bool} subclasses C{int}).
    """
    return isinstance(value, (int, float)) and not isinstance(value, bool)


FIELD_TYPES: Mapping[str, Callable[[object], bool]] = {
    "string": lambda value: isinstance(value, str),
    "boolean": lambda value: isinstance(value, bool),
    "number": _isNumber,
    "number or null": lambda value: value is None or _isNumber(value),
}
"""The type names a field schema may use, each with its check."""


def _rejectConstant(name: str) -> None:
    """
    Refuse C{NaN}, C{Infinity} and C{-Infinity}, which Python's json module
    accepts but RFC 8259 sec. 6 does not.

    @raise ValueError: always.
    """
    raise ValueError(f"{name} is not valid JSON")


def _contentTypeIsJSON(request: IRequest) -> bool:
    """
    @return: whether the request's Content-Type is C{application/json}
        (parameters such as C{charset=utf-8} are allowed).
    """
    value = request.getHeader(b"content-type")
    if value is None:
        return False
    mediaType = value.split(b";", 1)[0].strip().lower()
    return mediaType == b"application/json"


def readJSONObject(request: IRequest) -> dict:
    """
    Read the request body as a JSON object.

    @param request: the request; its body is read from C{request.content}.
    @return: the decoded object.
    @raise ApiError: 415 when the Content-Type is not JSON, 413 when the body
        is larger than L{MAX_BODY}, 400 C{malformed-json} when it does not
        parse (RFC 8259, UTF-8 only per sec. 8.1), 400 C{validation} when it
        is not an object.
    """
    if not _contentTypeIsJSON(request):
        raise ApiError(415, "unsupported-media-type",
                       "the body must be application/json")
    raw = request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise ApiError(413, "too-large",
                       f"the body is larger than {MAX_BODY} bytes")
    try:
        value = json.loads(raw.decode("utf-8"),
                           parse_constant=_rejectConstant)
    except UnicodeDecodeError:
        raise ApiError(400, "malformed-json", "the body is not UTF-8")
    except ValueError as e:
        raise ApiError(400, "malformed-json", f"the body is not JSON: {e}")
    if not isinstance(value, dict):
        raise ApiError(400, "validation", "the body must be a JSON object")
    return value


def checkFields(body: Mapping[str, object], schema: Mapping[str, str],
                required: Iterable[str] = ()) -> None:
    """
    Check a decoded body against a schema of field types.

    @param body: the decoded JSON object.
    @param schema: field name -> a key of L{FIELD_TYPES}.
    @param required: fields that must be present.
    @raise ApiError: 400 C{validation} naming the first unknown field, the
        first field of the wrong type, or the first missing required field.
    """
    for name, value in body.items():
        typeName = schema.get(name)
        if typeName is None:
            raise ApiError(400, "validation", "unknown field", field=name)
        if not FIELD_TYPES[typeName](value):
            raise ApiError(400, "validation", f"must be a {typeName}",
                           field=name)
    for name in required:
        if name not in body:
            raise ApiError(400, "validation", "is required", field=name)


def _notJSON(value: object) -> object:
    """
    C{json.dumps} hook: nothing but the JSON types goes out.

    @raise TypeError: always; reaching it is a bug in the caller.
    """
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def writeJSON(request: IRequest, status: int, payload: object) -> bytes:
    """
    Set the status and JSON headers of a response and encode its body.

    Responses are never cached (RFC 9111 sec. 5.2.2.5): one of them may
    carry a freshly generated SIP password.

    @param request: the request to answer.
    @param status: the HTTP status code.
    @param payload: a JSON-able value (finite numbers only).
    @return: the UTF-8 body, ending with a newline for terminal users.
    """
    body = json.dumps(payload, ensure_ascii=False, allow_nan=False,
                      default=_notJSON).encode("utf-8") + b"\n"
    request.setResponseCode(status)
    request.setHeader(b"content-type", _JSON_TYPE)
    request.setHeader(b"cache-control", b"no-store")
    request.setHeader(b"x-content-type-options", b"nosniff")
    return body


def internalError() -> ApiError:
    """
    @return: the 500 answered for any unexpected exception; it says nothing
        about the exception (which goes to the log instead).
    """
    return ApiError(500, "internal", "internal error; see the server log")


def writeError(request: IRequest, error: ApiError) -> bytes:
    """
    Answer C{request} with C{error} as the standard JSON error body.

    @return: the body to write.
    """
    for name, value in error.headers:
        request.setHeader(name, value)
    return writeJSON(request, error.status, {"error": {
        "code": error.code, "field": error.field, "message": error.message}})
