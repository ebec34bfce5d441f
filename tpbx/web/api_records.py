# -*- test-case-name: tests.web.test_api_records -*-
"""
The record endpoints of the REST API: call detail records (SPEC E7) and
call recordings (E5).

Why a module of its own: L{tpbx.web.api} would pass 500 lines.  Routes are
registered on L{tpbx.web.api.ApiApp}'s Klein app by L{addRecordRoutes}, as
in L{tpbx.web.api_calls}.  Recordings are WAV files the recorder writes
(atomically) into one directory, named C{CALLID-TIMESTAMP.wav}; the API
lists that directory and streams a file by name, and a name is only ever
a plain file name in it (no path, no traversal).
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

from typing import BinaryIO

from klein import Klein
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IPushProducer
from twisted.web.iweb import IRequest
from zope.interface import implementer

from tpbx.errors import NotFound
from tpbx.model import CallDetail
from tpbx.web.jsonio import ApiError, writeJSON

__all__ = ["addRecordRoutes", "callDetailJSON", "recordingJSON",
           "parseInstant", "FileStreamer"]

_WAV = ".wav"
_CHUNK = 64 * 1024


@implementer(IPushProducer)
class FileStreamer:
    """
    Write a file to a request in chunks, as fast as the connection takes
    them: a push producer, paused and resumed by the transport's buffer.
    (A pull producer would be driven by Twisted's global cooperator,
    which the API never touches: no global reactor.)

    @ivar done: fires with C{b""} once the file is sent or the client
        went away; the file is closed then.
    """

    def __init__(self, stream: BinaryIO, request: IRequest):
        self._stream = stream
        self._request = request
        self._paused = False
        self.done = Deferred()

    def start(self) -> Deferred:
        """Register with the request and send what it takes now."""
        self._request.registerProducer(self, True)
        self._send()
        return self.done

    def _send(self) -> None:
        while not self._paused and not self.done.called:
            chunk = self._stream.read(_CHUNK)
            if not chunk:
                self._request.unregisterProducer()
                self._finish()
                return
            self._request.write(chunk)

    def _finish(self) -> None:
        if not self.done.called:
            self._stream.close()
            self.done.callback(b"")

    def pauseProducing(self) -> None:
        self._paused = True

    def resumeProducing(self) -> None:
        self._paused = False
        self._send()

    def stopProducing(self) -> None:
        self._finish()


def callDetailJSON(detail: CallDetail) -> dict:
    """@return: a CDR as the API shows it (times in epoch seconds)."""
    return {"callId": detail.callId, "leg": detail.leg,
            "caller": detail.caller, "callee": detail.callee,
            "dialled": detail.dialled, "start": detail.start,
            "answer": detail.answer, "end": detail.end,
            "duration": detail.duration, "disposition": detail.disposition,
            "hangupSide": detail.hangupSide, "codec": detail.codec}


def parseInstant(field: str, text: str) -> float:
    """
    @param text: epoch seconds (C{1767225600}) or ISO 8601
        (C{2026-01-01T08:00:00+01:00}; without an offset, UTC).
    @return: epoch seconds.
    @raise ApiError: 400 naming C{field}.
    """
    try:
        return float(text) if text.replace(".", "", 1).isdigit() else \
            _isoSeconds(text)
    except ValueError:
        raise ApiError(400, "validation", "must be epoch seconds or an ISO "
                       "8601 time", field=field)


def _isoSeconds(text: str) -> float:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _query(request: IRequest, name: str) -> str | None:
    values = request.args.get(name.encode("ascii"), [])
    if len(values) > 1:
        raise ApiError(400, "validation", "give it at most once", field=name)
    try:
        return values[0].decode("utf-8") if values else None
    except UnicodeDecodeError:
        raise ApiError(400, "validation", "is not UTF-8", field=name)


def _integer(request: IRequest, name: str, default: int) -> int:
    text = _query(request, name)
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()):
        raise ApiError(400, "validation", "must be a whole number",
                       field=name)
    return int(text)


def queryCalls(self, request: IRequest) -> bytes:
    """
    CDRs, newest first: C{since}, C{until} (epoch seconds or ISO 8601),
    C{extension}, C{limit} (default 100), C{offset}.
    """
    since, until = (_query(request, name) for name in ("since", "until"))
    details = self._config.queryCalls(
        since=None if since is None else parseInstant("since", since),
        until=None if until is None else parseInstant("until", until),
        extension=_query(request, "extension"),
        limit=_integer(request, "limit", 100),
        offset=_integer(request, "offset", 0))
    return writeJSON(request, 200, {"cdr": [callDetailJSON(d)
                                            for d in details]})


def recordingJSON(entry: os.DirEntry) -> dict:
    """
    @return: a recording's name, size, mtime, and the call id and
        timestamp parsed from its name (L{None} when it has no C{-}).
    """
    stem = entry.name[:-len(_WAV)]
    callId, dash, stamp = stem.rpartition("-")
    info = entry.stat()
    return {"name": entry.name, "size": info.st_size,
            "mtime": info.st_mtime, "callId": callId if dash else None,
            "timestamp": stamp if dash else None}


def listRecordings(self, request: IRequest) -> bytes:
    """The WAV files of the recordings directory, newest first."""
    recordings = []
    if self._recordingsDir is not None and os.path.isdir(
            self._recordingsDir):
        with os.scandir(self._recordingsDir) as entries:
            recordings = [recordingJSON(entry) for entry in entries
                          if entry.name.endswith(_WAV)
                          and not entry.name.startswith(".")
                          and entry.is_file(follow_symlinks=False)]
    recordings.sort(key=lambda r: (-r["mtime"], r["name"]))
    return writeJSON(request, 200, {"recordings": recordings})


def getRecording(self, request: IRequest, name: str) -> Deferred:
    """
    Stream one recording as C{audio/wav}, a chunk at a time (a long
    recording is never read into memory whole).

    @raise ApiError: 400 when C{name} is not a plain C{.wav} file name.
    @raise NotFound: no such recording.
    """
    if not name.endswith(_WAV) or name.startswith(".") or any(
            c in name for c in "/\\\x00"):
        raise ApiError(400, "validation", "must be the file name of a "
                       "recording", field="name")
    path = None if self._recordingsDir is None else os.path.join(
        self._recordingsDir, name)
    if path is None or not os.path.isfile(path) or os.path.islink(path):
        raise NotFound(f"no recording {name}")
    stream = open(path, "rb")
    request.setHeader(b"content-type", b"audio/wav")
    request.setHeader(b"content-length",
                      str(os.fstat(stream.fileno()).st_size).encode("ascii"))
    request.setHeader(b"cache-control", b"no-store")
    request.setHeader(b"x-content-type-options", b"nosniff")
    return FileStreamer(stream, request).start()


def addRecordRoutes(app: Klein) -> None:
    """
    Register this module's routes on C{app} (an L{ApiApp}'s Klein app).
    """
    app.route("/v1/cdr", methods=["GET"])(queryCalls)
    app.route("/v1/recordings", methods=["GET"])(listRecordings)
    # <path:...> so a name with an (encoded) slash reaches getRecording's
    # check and is refused with 400, rather than missing the route.
    app.route("/v1/recordings/<path:name>", methods=["GET"])(getRecording)
