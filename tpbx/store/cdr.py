# -*- test-case-name: tests.store.test_cdr -*-
"""
Call detail records (SPEC E7): written by the PBX when a call or a leg
ends, queried by the API and C{tpbx-admin cdr}.

A mixin of L{tpbx.store.repositories.Store}.  Writing is on the call path
(the PBX queues the records of each call that ends and writes them in
batches off the reactor thread with L{CallDetailRepository.recordCalls}),
so it is one prepared INSERT per batch and does not bump
C{config_version}: CDRs are records, not configuration.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Iterable

from sqlalchemy import Connection, insert, or_, select

from tpbx.model import CallDetail
from tpbx.store.callvalidation import checkLimit
from tpbx.store.engine import reading, writing
from tpbx.store.schema import cdr

__all__ = ["CallDetailRepository", "QUERY_LIMIT", "DISPOSITIONS"]

QUERY_LIMIT = range(1, 10001)
"""How many records one query may return."""

DISPOSITIONS = ("answered", "busy", "no-answer", "failed", "cancelled")

_INSERT = insert(cdr)
# CallDetail attribute -> column, for the columns named differently.
_COLUMN_OF = {"callId": "call_id", "hangupSide": "hangup_side"}
_FIELDS = tuple(field.name for field in fields(CallDetail))


class CallDetailRepository:
    """
    The CDR half of L{IConfigStore}.  Needs C{self.engine}.
    """

    def recordCall(self, detail: CallDetail) -> None:
        """Append one record (see L{recordCalls})."""
        self.recordCalls((detail,))

    def recordCalls(self, details: Iterable[CallDetail]) -> None:
        """
        Append records in one transaction (one INSERT, many rows; no
        validation beyond the types the PBX builds).  The server calls it
        from a worker thread with a batch (L{tpbx.pbx.writebehind}).
        """
        rows = []
        for detail in details:
            row = {_COLUMN_OF.get(name, name): getattr(detail, name)
                   for name in _FIELDS}
            row["duration"] = detail.duration
            rows.append(row)
        if rows:
            with writing(self.engine) as connection:
                connection.execute(_INSERT, rows)

    def queryCalls(self, since: float | None = None,
                   until: float | None = None,
                   extension: str | None = None, limit: int = 100,
                   offset: int = 0) -> list[CallDetail]:
        """
        Records whose start is in C{[since, until)}, newest first.

        @param extension: only calls it made or received (caller or
            callee).
        @param limit: 1 to 10000.
        @param offset: records to skip (paging), 0 or more.
        @raise ValidationError: a bad limit or offset.
        """
        limit = checkLimit("limit", limit, QUERY_LIMIT)
        offset = checkLimit("offset", offset, range(0, 2 ** 31))
        query = select(cdr).order_by(cdr.c.start.desc(), cdr.c.id.desc())
        if since is not None:
            query = query.where(cdr.c.start >= since)
        if until is not None:
            query = query.where(cdr.c.start < until)
        if extension is not None:
            query = query.where(or_(cdr.c.caller == extension,
                                    cdr.c.callee == extension))
        with reading(self.engine) as connection:
            return _details(connection, query.limit(limit).offset(offset))


def _details(connection: Connection, query) -> list[CallDetail]:
    return [CallDetail(**{name: row._mapping[_COLUMN_OF.get(name, name)]
                          for name in _FIELDS})
            for row in connection.execute(query)]
