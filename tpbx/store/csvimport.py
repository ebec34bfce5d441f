# -*- test-case-name: tests.store.test_csvimport -*-
"""
Bulk import of extensions from CSV (SPEC B4), for C{tpbx-admin extension
import} and the console.

The format is documented in docs/admin/extensions.md: a header row naming
some of L{CSV_COLUMNS} (C{number} is required, unknown columns refuse the
file), one extension per row.  A bad row does not stop the import: it is
reported with its line number and the good rows are stored, all in one
transaction.
"""

from __future__ import annotations

import csv
from typing import NamedTuple, TextIO

from tpbx.errors import ValidationError
from tpbx.model import Extension
from tpbx.store.validation import ALLOW_WEAK, COLUMN_OF

__all__ = ["CSV_COLUMNS", "ImportReport", "readExtensionRows",
           "importExtensions"]

CSV_COLUMNS = ("number", "first_name", "last_name", "email", "password",
               "pin", "auth_id", "lan_only", "status", "call_waiting",
               "record_calls", "direct_media")
_FIELD_OF = {column: field for field, column in COLUMN_OF.items()}


class ImportReport(NamedTuple):
    """
    What an import did.

    @ivar created: C{(extension, generatedPassword or None)} per stored
        row, in file order.
    @ivar errors: one L{ValidationError} per refused row; C{field} is the
        CSV column, C{line} the line the row starts on.
    """

    created: list[tuple[Extension, str | None]]
    errors: list[ValidationError]


def readExtensionRows(stream: TextIO) -> list[tuple[int, dict]]:
    """
    Parse the CSV text into C{(line, fields)} pairs with API field names;
    empty cells are left out so defaults apply (generated password, auth
    ID equal to the number).  A row with the wrong number of cells comes
    back as C{(line, ValidationError)}.

    @raise ValidationError: the header is missing or wrong (line 1), or
        the file is not CSV at all.
    """
    reader = csv.reader(stream)
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        _checkHeader(header)
        rows = []
        start = reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append((start, _fields(header, cells, start)))
            start = reader.line_num + 1
    except csv.Error as error:
        raise ValidationError("file", f"not valid CSV ({error})",
                              reader.line_num)
    return rows


def _checkHeader(header: list[str]) -> None:
    if not header:
        raise ValidationError("header", "the file is empty; a header row "
                              "is required", 1)
    for name in header:
        if name not in CSV_COLUMNS:
            raise ValidationError(name, "unknown column (known: "
                                  + ", ".join(CSV_COLUMNS) + ")", 1)
        if header.count(name) > 1:
            raise ValidationError(name, "column appears twice", 1)
    if "number" not in header:
        raise ValidationError("number", "column is required", 1)


def _fields(header: list[str], cells: list[str], line: int) -> dict | \
        ValidationError:
    if len(cells) != len(header):
        return ValidationError("row", f"has {len(cells)} cells, the header "
                               f"has {len(header)}", line)
    return {_FIELD_OF[name]: cell for name, cell in zip(header, cells)
            if cell.strip()}


def importExtensions(store, stream: TextIO,
                     allowWeak: bool = False) -> ImportReport:
    """
    Import every good row of a CSV file; report the others.

    @param store: a L{tpbx.store.repositories.Store}.
    @param allowWeak: accept weak passwords (else such rows are refused).
    @raise ValidationError: the header is wrong (nothing is imported).
    """
    parsed = readExtensionRows(stream)
    report = ImportReport([], [fields for _, fields in parsed
                               if isinstance(fields, ValidationError)])
    good = [(line, {**fields, ALLOW_WEAK: allowWeak})
            for line, fields in parsed
            if not isinstance(fields, ValidationError)]
    results = store.createExtensions([fields for _, fields in good])
    for (line, _), result in zip(good, results):
        if isinstance(result, Exception):
            report.errors.append(_located(result, line))
        else:
            report.created.append(result)
    report.errors.sort(key=lambda error: error.line)
    return report


def _located(error: Exception, line: int) -> ValidationError:
    field = getattr(error, "field", "number")
    message = getattr(error, "message", str(error))
    return ValidationError(COLUMN_OF.get(field, field), message, line)
