# -*- test-case-name: tests.store.test_bindings -*-
"""
Registration bindings persisted across restarts (DESIGN.md, "Data
survives"): a restart must not leave phones unreachable until they
re-register.

The location service keeps the live bindings in memory; the server
flushes what changed about once a second in a single transaction (one
executemany of upserts, one of deletes), and loads the live rows back at
start-up.  Rows are plain dicts keyed by L{BINDING_FIELDS} so this module
does not depend on the PBX layer's binding class.
"""

from __future__ import annotations

from typing import Iterable

from sqlalchemy import Connection, bindparam, delete, select

from tpbx.store.engine import upsert
from tpbx.store.schema import bindings

__all__ = ["BINDING_FIELDS", "flushBindings", "loadBindings"]

# Dict key (as the PBX spells it) -> column.
BINDING_FIELDS = {
    "aor": "aor",
    "contact": "contact",
    "expiresAt": "expires_at",
    "q": "q",
    "callId": "call_id",
    "cseq": "cseq",
    "transport": "transport",
    "sourceHost": "source_host",
    "sourcePort": "source_port",
    "userAgent": "user_agent",
    "instanceId": "instance_id",
    "regId": "reg_id",
}
_KEYS = ("aor", "contact")
_OPTIONAL = {"q": None, "userAgent": "", "instanceId": None, "regId": None}
_FIELD_OF = {column: field for field, column in BINDING_FIELDS.items()}
_DELETE = delete(bindings).where(
    bindings.c.aor == bindparam("keyAor"),
    bindings.c.contact == bindparam("keyContact"))


def flushBindings(connection: Connection, saved: Iterable[dict],
                  deleted: Iterable[tuple[str, str]]) -> None:
    """
    Upsert C{saved} and delete the C{deleted} keys, on C{connection}
    (the caller's transaction).

    @param saved: dicts with the keys of L{BINDING_FIELDS} (C{q},
        C{userAgent}, C{instanceId}, C{regId} may be left out).
    @param deleted: C{(aor, contact)} pairs; unknown ones are ignored.
    @raise KeyError: a saved row lacks a required key.
    """
    rows = [_toRow(binding) for binding in saved]
    upsert(connection, bindings, rows, _KEYS)
    keys = [{"keyAor": aor, "keyContact": contact}
            for aor, contact in deleted]
    if keys:
        connection.execute(_DELETE, keys)


def loadBindings(connection: Connection, now: float) -> list[dict]:
    """
    Delete the bindings that expired while the server was down and
    return the rest, grouped by AOR, freshest first.
    """
    connection.execute(delete(bindings).where(bindings.c.expires_at <= now))
    result = connection.execute(select(bindings).order_by(
        bindings.c.aor, bindings.c.expires_at.desc()))
    return [{_FIELD_OF[column]: value
             for column, value in row._mapping.items()} for row in result]


def _toRow(binding: dict) -> dict:
    values = {**_OPTIONAL, **binding}
    return {column: values[field] for field, column in BINDING_FIELDS.items()}
