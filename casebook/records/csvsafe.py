"""Cells a spreadsheet would run as formulas, neutralised in every CSV the casebook writes.

A learner's name such as `-A1` or `=HYPERLINK(...)` is allowed (names are free text) and is
kept exactly in the database and the xAPI export, but Excel, LibreOffice and Google Sheets
evaluate a cell that starts with `=`, `+`, `-`, `@`, tab or carriage return as a formula. As
OWASP's CSV-injection advice says, such a text cell gets a leading `'`, which spreadsheets show
as text and hide; numbers (a negative score, say) are values, not text, and are left alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
CRLF = "\r\n"  # RFC 4180's line end; with it, Python's csv quotes a cell holding a bare CR too


def safe_cell(value: Any) -> Any:
    """`value`, or `'value` if it is text a spreadsheet would take for a formula."""
    return "'" + value if isinstance(value, str) and value.startswith(TRIGGERS) else value


def safe_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows for `csv.DictWriter`, every text cell neutralised."""
    return [{k: safe_cell(v) for k, v in row.items()} for row in rows]


def safe_frame(frame: Any) -> Any:
    """A copy of a pandas DataFrame for `to_csv`, every text cell neutralised."""
    return frame.map(safe_cell)
