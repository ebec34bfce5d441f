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
from functools import lru_cache
from operator import attrgetter
from typing import Iterable

from sqlalchemy import Connection, insert, or_, select
from sqlalchemy.engine import Dialect

from tpbx.model import CallDetail
from tpbx.store.callvalidation import checkLimit
from tpbx.store.engine import reading, writing
from tpbx.store.schema import cdr

__all__ = ["CallDetailRepository", "QUERY_LIMIT", "DISPOSITIONS"]

QUERY_LIMIT = range(1, 10001)
"""How many records one query may return."""

DISPOSITIONS = ("answered", "busy", "no-answer", "failed", "cancelled")

# CallDetail attribute -> column, for the columns named differently.
_COLUMN_OF = {"callId": "call_id", "hangupSide": "hangup_side"}
_FIELDS = tuple(field.name for field in fields(CallDetail))
_ATTRIBUTE_OF = {column: name for name, column in _COLUMN_OF.items()}
_WRITTEN = tuple(column.name for column in cdr.c if column.name != "id")


@lru_cache(maxsize=4)
def _insertFor(dialect: Dialect) -> tuple[str, tuple[str, ...], bool]:
    """
    The CDR INSERT as C{dialect}'s driver takes it, compiled once: on the
    call path a batch goes to the driver's C{executemany} as it is,
    without SQLAlchemy's per-row parameter processing (most of the cost
    of a batch; its only bind processors here turn numbers into floats,
    and every time of a L{CallDetail} is one already).

    @return: C{(sql, columns, positional)}: the statement, the columns
        its parameters fill, in order, and whether the driver takes them
        as tuples (else as dicts by column).
    """
    compiled = insert(cdr).compile(dialect=dialect, column_keys=list(_WRITTEN))
    columns = tuple(compiled.positiontup) if compiled.positional else _WRITTEN
    return compiled.string, columns, compiled.positional


@lru_cache(maxsize=4)
def _rowOf(columns: tuple[str, ...]) -> attrgetter:
    """@return: C{detail -> tuple} of the values of C{columns}, in order."""
    return attrgetter(*(_ATTRIBUTE_OF.get(column, column) for column in columns))


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
        sql, columns, positional = _insertFor(self.engine.dialect)
        rowOf = _rowOf(columns)
        rows = [rowOf(detail) for detail in details]
        if not positional:
            rows = [dict(zip(columns, row)) for row in rows]
        if rows:
            with writing(self.engine) as connection:
                connection.exec_driver_sql(sql, rows)

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
