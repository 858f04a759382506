"""Knowledge that expires: who answers for an article, when it was last checked, when it is due again.

A published article carries a review-by date: when it is published or verified, the date moves
to that day plus the review period (`review_days`, 180 by default, or the article's product's
own period in `review_days_by_product`). Past that date agents see "review overdue" on the
article and in search results, and the article sits in its owner's "due for review" list. The
owner is whoever created the article unless someone gave it to another person.

Verifying names the version the verifier read, like a save: "this is still right" said of text
someone changed a moment ago would be a lie. It is not a new revision (nothing the article says
changed), but it is a change the search index shows, so it goes through the change log.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kb import changelog, settings, store
from kb.db import begin_write, utcnow
from kb.models import Article, Role, Status, User

DUE_SOON_DAYS = 14  # the "due for review" list shows what falls due within this many days, too


def next_review(session: Session, article: Article, checked: datetime) -> datetime:
    return checked + timedelta(days=settings.review_days(session, article.product))


def is_overdue(article: Article, now: datetime | None = None) -> bool:
    return _overdue(article.status, article.review_by, now or utcnow())


def _overdue(status: Status, review_by: datetime | None, now: datetime) -> bool:
    return status == Status.PUBLISHED and review_by is not None and review_by < now


def verify(session: Session, article: Article, *, user: User, based_on: int) -> Article:
    """Record that `user` checked `article` (as of version `based_on`) and set its next review date."""
    if based_on != article.version:
        raise store.VersionConflict(article, based_on)
    begin_write(session)
    now = utcnow()
    try:
        with session.begin_nested():
            article.verified_at, article.verified_by = now, user
            article.review_by = next_review(session, article, now)
            session.flush()  # UPDATE ... WHERE version = based_on: a save in between makes this stale
            changelog.record(session, [article.id])
            session.flush()
    except StaleDataError:
        current = session.get(Article, article.id, populate_existing=True)
        raise store.VersionConflict(current, based_on) from None
    return article


class OwnerError(ValueError):
    """The person named cannot own an article."""


def give_to(session: Session, article: Article, username: str) -> bool:
    """Make `username` (an active author or admin) the article's owner; True if that changed it.

    Call before the unit of work changes anything else: on SQLite the write lock comes first.
    """
    owner = session.scalar(select(User).where(User.username == username)) if username else None
    if owner is None or not owner.is_active or owner.role not in (Role.AUTHOR, Role.ADMIN):
        raise OwnerError(f"'{username[:80]}' is not an active author or admin")
    if article.owner_id == owner.id:
        return False
    begin_write(session)
    article.owner = owner
    return True


def signals(session: Session, slugs: list[str]) -> dict[str, dict]:
    """For search results: who last verified each article and whether its review is overdue (one query)."""
    if not slugs:
        return {}
    now = utcnow()
    # Only the columns shown: a search answers on every keystroke, and an article row holds its body.
    rows = session.execute(
        select(Article.slug, Article.status, Article.review_by, User.username)
        .outerjoin(User, User.id == Article.verified_by_id)
        .where(Article.slug.in_(slugs))
    )
    return {
        slug: {"verified_by": verifier, "review_overdue": _overdue(status, review_by, now)}
        for slug, status, review_by, verifier in rows
    }


def due(session: Session, *, owner: User | None = None, now: datetime | None = None) -> list[Article]:
    """Published articles overdue or due within DUE_SOON_DAYS, soonest first (one owner's, or all)."""
    limit = (now or utcnow()) + timedelta(days=DUE_SOON_DAYS)
    query = (
        select(Article)
        .where(Article.status == Status.PUBLISHED, Article.review_by.is_not(None), Article.review_by <= limit)
        .order_by(Article.review_by, Article.id)
    )
    if owner is not None:
        query = query.where(Article.owner_id == owner.id)
    return list(session.scalars(query))


# --- in article files (kb import / kb export) ------------------------------------------------------

# Front-matter keys for who keeps an article right, written after kb's own article keys.
FILE_KEYS = ("owner", "review_by", "verified_at", "verified_by")


def file_values(article: Article) -> dict[str, str]:
    """The FILE_KEYS an exported file carries: only those set, dates as ISO 8601 text."""
    values = {
        "owner": article.owner.username if article.owner else None,
        "review_by": article.review_by.isoformat() if article.review_by else None,
        "verified_at": article.verified_at.isoformat() if article.verified_at else None,
        "verified_by": article.verified_by.username if article.verified_by else None,
    }
    return {key: value for key, value in values.items() if value is not None}


def take_file_values(session: Session, extra: dict) -> tuple[dict, dict, list[str]]:
    """Split an imported file's extra front matter into the FILE_KEYS kb understands and the rest.

    A value kb cannot use (an owner who is not an author here, a date it cannot read) stays in
    the rest, to be written back as it was, with a warning saying why it was not applied.
    """
    rest, taken, warnings = dict(extra), {}, []
    for key in FILE_KEYS:
        if key not in rest:
            continue
        value = _file_value(session, key, rest[key])
        if value is None:
            warnings.append(f"{key} '{str(rest[key])[:80]}' is not {_WANTED[key]} here; kept as written, not applied")
            continue
        taken[key] = value
        del rest[key]
    return taken, rest, warnings


_WANTED = {
    "owner": "an active author or admin",
    "verified_by": "a user",
    "review_by": "a date and time (ISO 8601)",
    "verified_at": "a date and time (ISO 8601)",
}


def _file_value(session: Session, key: str, value: object) -> object | None:
    if not isinstance(value, str):
        return None
    if key in ("owner", "verified_by"):
        user = session.scalar(select(User).where(User.username == value))
        wanted_roles = (Role.AUTHOR, Role.ADMIN) if key == "owner" else tuple(Role)
        return user if user is not None and user.role in wanted_roles and (key != "owner" or user.is_active) else None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)


def apply_file_values(session: Session, article: Article, taken: dict) -> bool:
    """Set what `take_file_values` took on `article`; True when something changed."""
    changes = {key: value for key, value in taken.items() if getattr(article, key) != value}
    if not changes:
        return False
    begin_write(session)
    for key, value in changes.items():
        setattr(article, key, value)
    if "verified_at" in changes:
        changelog.record(session, [article.id])  # search results show the verified date
    session.flush()
    return True
