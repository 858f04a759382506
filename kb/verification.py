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

from datetime import datetime, timedelta

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
    return (
        article.status == Status.PUBLISHED and article.review_by is not None and article.review_by < (now or utcnow())
    )


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
    found = session.scalars(select(Article).where(Article.slug.in_(slugs)))
    return {
        a.slug: {"verified_by": a.verified_by.username if a.verified_by else None, "review_overdue": is_overdue(a, now)}
        for a in found
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
