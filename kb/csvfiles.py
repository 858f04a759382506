"""CSV downloads (reading-path progress, the insights tables): text a spreadsheet opens as data.

A cell a spreadsheet would run as a formula (`=HYPERLINK(...)` in a username, a query or a slug)
gets a leading apostrophe, so it shows as the text it is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(cell: Any) -> Any:
    return "'" + cell if isinstance(cell, str) and cell.startswith(_FORMULA_START) else cell


def text_of(rows: Iterable[Sequence[Any]]) -> str:
    """The rows (the first being the header) as CSV text, every cell made inert."""
    out = io.StringIO()
    csv.writer(out).writerows([inert(cell) for cell in row] for row in rows)
    return out.getvalue()


def text_of_records(records: Sequence[dict[str, Any]], header: Sequence[str]) -> str:
    """Records (dicts) as CSV under `header`, their keys in that order."""
    return text_of([list(header), *([record.get(key, "") for key in header] for record in records)])
