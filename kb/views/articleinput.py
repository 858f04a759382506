"""Read article fields sent by a form or a JSON body, the same way for the UI and the API."""

from __future__ import annotations

import re
from typing import Any, Mapping

from kb import store
from kb.models import Article, Audience, Status

_ENUMS = {"audience": Audience, "status": Status}
# A version sent as text (forms send text): ASCII digits only, since str.isdigit() also accepts "²",
# which int() refuses, and few enough that int() never meets its limit on digits.
_DIGITS = re.compile(r"[0-9]{1,10}")


def fields_from(data: Mapping[str, Any], existing: Article | None) -> store.ArticleFields:
    """Merge submitted values over the existing article (or the defaults for a new one).

    Raises ArticleInvalid naming the field when a value has the wrong type or is not allowed.
    """
    base = store.ArticleFields.of(existing) if existing else store.ArticleFields(slug="", title="")
    errors: list[store.FieldError] = []
    values: dict[str, Any] = {}
    for name in ("title", "slug", "summary", "body", "product"):
        if name in data:
            if not isinstance(data[name], str):
                errors.append(store.FieldError(name, "must be text"))
            else:
                values[name] = data[name]
    if "tags" in data:
        tags = data["tags"]
        if isinstance(tags, str):
            values["tags"] = [t for t in (p.strip() for p in tags.split(",")) if t]
        elif isinstance(tags, list) and all(isinstance(t, str) for t in tags):
            values["tags"] = tags
        else:
            errors.append(store.FieldError("tags", "must be a list of words or a comma-separated text"))
    for name, enum in _ENUMS.items():
        if name in data:
            try:
                values[name] = enum(str(data[name]).strip().lower())
            except ValueError:
                allowed = ", ".join(m.value for m in enum)
                errors.append(store.FieldError(name, f"'{data[name]}' is not one of: {allowed}"))
    if errors:
        raise store.ArticleInvalid(errors)
    merged = store.ArticleFields(**{**base.__dict__, **values})
    if not merged.slug.strip():
        merged.slug = store.slugify(merged.title)
    if "audience" in values and existing is not None and values["audience"] != existing.audience:
        merged.extra = {k: v for k, v in merged.extra.items() if k != "audience"}  # the author chose
    return merged


class RequestError(ValueError):
    """A request field that is missing or malformed, with the HTTP status that says so."""

    def __init__(self, field: str, message: str, *, status: int = 400, code: str = "invalid"):
        super().__init__(f"{field}: {message}")
        self.field, self.status, self.code = field, status, code


def based_on_version(data: Mapping[str, Any]) -> int:
    """The article version an edit was based on: required, so a save never overwrites unseen work."""
    if "version" not in data or data["version"] in (None, ""):
        raise RequestError(
            "version",
            'is required: send the article\'s "version" as you read it (GET /api/v1/articles/<slug>), '
            "so that your save cannot overwrite someone else's newer edit",
            status=428,
            code="precondition_required",
        )
    value = data["version"]
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
        raise RequestError("version", f"must be a positive whole number, not {str(value)[:40]!r}")
    return value
