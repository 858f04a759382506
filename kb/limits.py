"""What kb accepts from people and files: size limits, and the one check every text goes through.

Every way in (a page's form, the JSON API, `kb import`, the CLI) reaches the same functions here,
so a text refused on one path is refused on all of them with the same words. Texts are checked
for what would break something further down rather than for taste:

- a lone surrogate (`"\\ud800"`) is valid JSON escape syntax and a valid Python `str`, but not
  Unicode: SQLite stores it, then UTF-8 encoding fails in the index, in page rendering and in
  PostgreSQL, long after the save said 200;
- a NUL cannot be stored in PostgreSQL text, and the other C0 control characters (besides tab
  and line breaks) have no meaning in an article, a title or a username, and hide text in a page.

The limits are configuration (`KB_MAX_ARTICLE_BYTES` and the like, see README); their defaults
are far above anything a support article needs and far below what would slow a search down.
"""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, has_app_context

DEFAULT_LIMITS: dict[str, int] = {
    "MAX_REQUEST_BYTES": 2 * 1024 * 1024,  # any request body: form, JSON or upload
    "MAX_ARTICLE_BYTES": 500 * 1024,  # an article's Markdown body, encoded as UTF-8
    "MAX_ATTACHMENT_BYTES": 10 * 1024 * 1024,  # one uploaded file (its request may be this large)
    "MAX_TITLE_CHARS": 300,
    "MAX_SUMMARY_CHARS": 2000,
    "MAX_TAG_CHARS": 60,
    "MAX_TAGS": 30,
    "MAX_QUERY_CHARS": 500,  # a search query; an agent pastes at most a customer's message
}

# Lone surrogates, and C0 control characters other than tab, line feed and carriage return.
_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def limit(name: str) -> int:
    """The configured value of the limit `name` (one of DEFAULT_LIMITS), or its default outside an app."""
    if has_app_context():
        return int(current_app.config.get(name, DEFAULT_LIMITS[name]))
    return DEFAULT_LIMITS[name]


def text_problem(value: Any, *, max_chars: int | None = None, max_bytes: int | None = None) -> str | None:
    """What is wrong with `value` as a text kb can store, or None.

    The message completes a sentence that starts with the field's name ("title is longer than ...").
    Linear in the text's length: one regular-expression scan, one encode.
    """
    if not isinstance(value, str):
        return f"must be text, not {_kind(value)}"
    if max_chars is not None and len(value) > max_chars:
        return f"is longer than the limit of {max_chars:,} characters (it has {len(value):,})"
    bad = _REFUSED.search(value)
    if bad:
        return _refused_character(value, bad.start())
    if max_bytes is not None:
        size = len(value.encode("utf-8"))
        if size > max_bytes:
            return f"is larger than the limit of {max_bytes:,} bytes (it has {size:,})"
    return None


def _refused_character(value: str, position: int) -> str:
    char = value[position]
    line = value.count("\n", 0, position) + 1
    where = f"character {position + 1}" + (f" (line {line})" if "\n" in value else "")
    if "\ud800" <= char <= "\udfff":
        return f"holds a lone surrogate (U+{ord(char):04X}) at {where}: that is not Unicode text"
    return f"holds the control character U+{ord(char):04X} at {where}"


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "true/false", int: "a number", float: "a number", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )
