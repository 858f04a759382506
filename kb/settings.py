"""Settings admins change in kb's pages: each a JSON value under a key, with a default in code.

A setting row exists only once an admin has saved it, so a new kb needs none and a default can
improve with kb until someone chooses otherwise. Saves name the version they were based on, as
article saves do: of two admins saving at once, the second is told instead of overwriting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kb import limits, render
from kb.db import begin_write, utcnow
from kb.models import Setting, User

ARTICLE_TEMPLATE = "article_template"
# The template's file in an export (not `.md`: it is not an article).
TEMPLATE_FILE_NAME = "template.markdown"

# The understanding-first outline (kb.checks.SECTIONS) with one line of guidance under each
# heading. The guidance is an HTML comment: an author who leaves it in shows agents nothing.
# articles/template.markdown holds the same text, as `kb export` writes it (a test keeps them equal).
DEFAULT_TEMPLATE = """\
## What the customer notices

<!-- What the customer says and sees, in their own words: one quoted phrasing per line. -->

## What is going on

<!-- What is really happening and why, in plain words an agent can pass on; an analogy helps. -->

## How to confirm

<!-- The questions and checks that tell this situation apart from the ones that look like it. -->

## Resolution

<!-- The options, when each one fits and what it means for the customer. -->

## Prevent it

<!-- What stops it coming back, for this customer and at the root. -->

## Related

<!-- Links to the articles an agent may need next: a slug in double square brackets. -->
"""

# Publishing needs someone other than the article's last editor (kb.lifecycle), unless turned off.
REVIEW_REQUIRED = "review_required"
# How long a published article stays trusted before it is due a check (kb.verification), in days,
# and the products whose articles age faster or slower.
REVIEW_DAYS = "review_days"
REVIEW_DAYS_BY_PRODUCT = "review_days_by_product"
MAX_REVIEW_DAYS = 3650

# What kind of problem an article's root cause is (kb.loop.rootfix); admins keep the list.
CAUSE_CATEGORIES = "cause_categories"
DEFAULT_CAUSES = ["product defect", "configuration", "user knowledge", "third party", "infrastructure", "other"]

DEFAULTS: dict[str, Any] = {
    ARTICLE_TEMPLATE: DEFAULT_TEMPLATE,
    REVIEW_REQUIRED: True,
    REVIEW_DAYS: 180,
    REVIEW_DAYS_BY_PRODUCT: {},
    CAUSE_CATEGORIES: DEFAULT_CAUSES,
}


def _days(value: Any) -> str | None:
    ok = type(value) is int and 1 <= value <= MAX_REVIEW_DAYS
    return None if ok else f"must be a whole number of days from 1 to {MAX_REVIEW_DAYS}"


def _days_by_product(value: Any) -> str | None:
    if not isinstance(value, dict) or len(value) > 500:
        return 'must be an object of at most 500 products, such as {"VPN": 90}'
    for product, days in value.items():
        problem = limits.text_problem(product, max_chars=120) or _days(days)
        if problem:
            return f"'{str(product)[:40]}' {problem}"
    return None


def _causes(value: Any) -> str | None:
    if not isinstance(value, list) or not 1 <= len(value) <= 50:
        return 'must be a list of 1 to 50 categories, such as ["product defect", "other"]'
    for number, cause in enumerate(value, start=1):
        problem = limits.text_problem(cause, max_chars=60) or (None if str(cause).strip() else "is empty")
        if problem:
            return f"category {number} {problem}"
    if len({" ".join(c.split()).lower() for c in value}) < len(value):
        return "lists a category twice"
    return None


# The settings changed through the generic settings page and API (the template has its own),
# each with the check its value must pass.
EDITABLE: dict[str, Callable[[Any], str | None]] = {
    REVIEW_REQUIRED: lambda value: None if type(value) is bool else "must be true or false",
    REVIEW_DAYS: _days,
    REVIEW_DAYS_BY_PRODUCT: _days_by_product,
    CAUSE_CATEGORIES: _causes,
}


class SettingConflict(Exception):
    """Someone saved the setting after the version this change was based on."""

    def __init__(self, key: str, current: int):
        super().__init__(f"the setting '{key}' was changed by someone else (it is now at version {current})")
        self.key, self.current = key, current


@dataclass
class Current:
    value: Any
    version: int  # 0: the default, never saved
    updated_by: str | None = None


def get(session: Session, key: str) -> Current:
    row = session.get(Setting, key)
    if row is None:
        return Current(DEFAULTS[key], 0)
    return Current(row.value, row.version, row.updated_by.username if row.updated_by else None)


def put(session: Session, key: str, value: Any, *, user: User | None, based_on: int) -> Current:
    """Save `value` unless the setting changed after version `based_on` (0: still the default)."""
    begin_write(session)
    row = session.get(Setting, key, populate_existing=True)
    current = row.version if row is not None else 0
    if current != based_on:
        raise SettingConflict(key, current)
    try:
        with session.begin_nested():
            if row is None:
                row = Setting(key=key)
                session.add(row)
            row.value, row.version, row.updated_at, row.updated_by = value, current + 1, utcnow(), user
            session.flush()
    except (StaleDataError, IntegrityError):
        raise SettingConflict(key, current + 1) from None
    return Current(row.value, row.version, user.username if user else None)


def template_problem(text: str) -> str | None:
    """Why `text` cannot be the new-article template (it must be a body kb would save)."""
    return limits.text_problem(text, max_bytes=limits.limit("MAX_ARTICLE_BYTES")) or render.render_article(text).problem


def review_days(session: Session, product: str) -> int:
    """The review period of an article about `product`: its product's own, else everyone's."""
    return int(get(session, REVIEW_DAYS_BY_PRODUCT).value.get(product) or get(session, REVIEW_DAYS).value)


def problem(key: str, value: Any) -> str | None:
    """Why `value` cannot be the setting `key` (an EDITABLE one), or None."""
    return EDITABLE[key](value)
