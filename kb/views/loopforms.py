"""Reading the knowledge loop's forms (calls, root fixes, cause categories) and naming its values
for people, shared by the agent pages, the insights pages and the admin settings page.

The domain (kb.loop) checks every value and names the field that is wrong; what is left here is
what only a browser sends: text for numbers, a checkbox for a boolean, a textarea for a list, and
a `next` address that must stay inside kb.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from kb.loop import LoopError
from kb.models import RootFix
from kb.store import FieldError

OUTCOME_LABELS = {"solved": "Solved", "partly": "Partly solved", "not_solved": "Not solved", "no_article": "No article"}
STATUS_LABELS = {"proposed": "proposed", "accepted": "accepted", "fixed": "fixed", "wont_fix": "won't fix"}
SOURCE_LABELS = {
    "zero_result": "Searches with no results",
    "no_click": "Searches with no result opened",
    "not_solved": "Calls not solved",
    "no_article": "Calls no article helped",
    "not_helpful": '"Not helpful" votes',
}
ROOT_FIX_FIELDS = ("cause", "fix", "owner", "status", "link")
_DIGITS = re.compile(r"[0-9]{1,10}")


def local_next(value: str | None, default: str) -> str:
    """`value` when it is an address inside kb ("/..."), else `default`: never a way off-site.

    "//host/..." and "/\\host" are other hosts to a browser, and so is anything with a scheme.
    """
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")) or "\\" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in value):
        return default
    return value


def error_of(bad: Exception) -> FieldError:
    """A domain error as the templates' `field_errors` macro shows it next to its field."""
    if isinstance(bad, LoopError):
        return FieldError(bad.field, bad.message)
    return FieldError(getattr(bad, "field", "") or "", str(bad))


def version_field(form: Mapping[str, Any]) -> int:
    """The root-fix version the form was read at (0: there was no record yet)."""
    value = str(form.get("version", "")).strip()
    if not _DIGITS.fullmatch(value) or int(value) >= 2**31:
        raise LoopError("version", "must be the form's version number: reload the page and try again")
    return int(value)


def root_fix_input(form: Mapping[str, Any]) -> dict[str, Any]:
    """The root-fix form as kb.loop.rootfix.save takes it: texts, and the checkbox as a boolean."""
    data: dict[str, Any] = {name: form.get(name, "") for name in ROOT_FIX_FIELDS}
    data["fix"] = data["fix"].replace("\r\n", "\n")
    data["resolved"] = form.get("resolved") == "1"
    return data


def root_fix_values(record: RootFix | None) -> dict[str, Any]:
    """What the root-fix form shows for a saved record (or an empty one)."""
    if record is None:
        return {"cause": "", "fix": "", "owner": "", "status": "proposed", "link": "", "resolved": False, "version": 0}
    values: dict[str, Any] = {name: getattr(record, name) or "" for name in ("cause", "fix", "owner", "link")}
    values.update(status=record.status.value, resolved=record.resolved_at is not None, version=record.version)
    return values


def causes_from_text(text: str) -> list[str]:
    """One cause category per line of the admin's textarea, blank lines dropped, spaces tidied."""
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]
