"""Read the JSON bodies and query parameters of the knowledge loop's API into what kb.loop takes.

Types are checked here, each error naming the field as the request spells it, so a list where
text belongs is a 400 and never reaches the database. What the values mean (a known outcome, a
cause on the admins' list, a web address) is for kb.loop to judge.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kb.loop import insights
from kb.views.articleinput import RequestError
from kb.views.jsonbody import text

ROOT_FIX_TEXTS = ("cause", "fix", "owner", "status", "link")
GAP_STATES = ("open", "closed", "dismissed", "all")
MAX_GAPS = 500
_DIGITS = re.compile(r"[0-9]{1,6}")


@dataclass(frozen=True)
class CallInput:
    article: str | None  # a slug, or None for a call no article helped
    outcome: str
    case: str
    words: str


def call_input(data: Mapping[str, Any]) -> CallInput:
    """`{"article": SLUG or null, "outcome", "case", "words"}`, each text (or null) as sent."""
    article = data.get("article")
    if article is not None and not isinstance(article, str):
        raise RequestError("article", "must be an article's slug (text), or null for a call no article helped")
    return CallInput(
        article=(article.strip() or None) if article is not None else None,
        outcome=text(data, "outcome"),
        case=text(data, "case"),
        words=text(data, "words"),
    )


def root_fix_input(data: Mapping[str, Any]) -> tuple[dict[str, Any], int | None]:
    """The record as kb.loop.rootfix.save takes it, and the `version` it was read at (None: unchecked).

    The whole record is sent: a text left out is saved empty, `resolved` left out is false.
    """
    values: dict[str, Any] = {name: text(data, name) for name in ROOT_FIX_TEXTS}
    resolved = data.get("resolved", False)
    if resolved is None:
        resolved = False
    if not isinstance(resolved, bool):
        raise RequestError("resolved", "must be true or false")
    values["resolved"] = resolved
    return values, _version(data)


def _version(data: Mapping[str, Any]) -> int | None:
    """The root fix's `version` as read (0: there was no record yet); absent or null: not checked."""
    value = data.get("version")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise RequestError("version", f"must be the root fix's version as read (0 or more), not {str(value)[:40]!r}")
    return value


def gap_state(args: Mapping[str, str]) -> str:
    state = args.get("state", "open")
    if state not in GAP_STATES:
        raise RequestError("state", f"must be one of {', '.join(GAP_STATES)}")
    return state


def gap_limit(args: Mapping[str, str]) -> int:
    value = args.get("limit", "").strip()
    if not value:
        return 100
    if not _DIGITS.fullmatch(value) or not 1 <= int(value) <= MAX_GAPS:
        raise RequestError("limit", f"must be a whole number from 1 to {MAX_GAPS}")
    return int(value)


def wanted_format(args: Mapping[str, str]) -> str:
    wanted = args.get("format", "json")
    if wanted not in ("json", "csv"):
        raise RequestError("format", "must be json or csv")
    return wanted


def csv_table(args: Mapping[str, str]) -> str:
    """The insights table to download as CSV (`table=`): required with `format=csv`."""
    table = args.get("table", "")
    if table not in insights.CSV_TABLES:
        raise RequestError("table", f"must be one of {', '.join(insights.CSV_TABLES)}")
    return table


def slug_of(data: Mapping[str, Any], name: str = "article") -> str:
    """A required slug field: text that is not empty."""
    slug = text(data, name).strip()
    if not slug:
        raise RequestError(name, "is required: the slug of an article")
    return slug
