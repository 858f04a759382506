"""The article lifecycle: validate, save, read and list articles.

Every save that changes something writes a new `Revision` (a full snapshot) and an `IndexEvent`
in the same transaction, so the article, its history and the index's to-do list never disagree.
Nothing here commits: the caller owns the unit of work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kb.db import utcnow
from kb.models import Article, Audience, IndexEvent, Revision, Role, Status, User

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_SLUG = 120
MAX_TITLE = 300
MAX_PRODUCT = 120
MAX_TAG = 60

# Who may read articles in each status. Agents (and trainers) only ever see published ones.
VISIBLE_STATUSES: dict[Role, tuple[Status, ...]] = {
    Role.AGENT: (Status.PUBLISHED,),
    Role.TRAINER: (Status.PUBLISHED,),
    Role.AUTHOR: tuple(Status),
    Role.ADMIN: tuple(Status),
}


class ArticleNotFound(LookupError):
    pass


@dataclass
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ArticleInvalid(ValueError):
    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(map(str, errors)))
        self.errors = errors


@dataclass
class ArticleFields:
    """Everything an author controls about an article: what a revision snapshots."""

    slug: str
    title: str
    summary: str = ""
    body: str = ""
    tags: list[str] = field(default_factory=list)
    product: str = ""
    audience: Audience = Audience.INTERNAL
    status: Status = Status.DRAFT
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, article: Article | Revision) -> ArticleFields:
        return cls(**{f.name: getattr(article, f.name) for f in fields(cls)})

    def normalized(self) -> ArticleFields:
        """Return a copy with whitespace and tags tidied, as it would be stored."""
        return replace(
            self,
            slug=self.slug.strip(),
            title=" ".join(self.title.split()),
            summary=" ".join(self.summary.split()),
            body=normalize_body(self.body),
            tags=normalize_tags(self.tags),
            product=" ".join(self.product.split()),
            audience=Audience(self.audience),
            status=Status(self.status),
            extra=dict(self.extra),
        )


def normalize_body(body: str) -> str:
    """LF line endings and exactly one final newline (none for an empty body)."""
    body = body.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")
    return body + "\n" if body.strip() else ""


def normalize_tags(tags: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags:
        tag = " ".join(str(tag).split()).lower()
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:MAX_SLUG].rstrip("-")


def validate(data: ArticleFields) -> list[FieldError]:
    """Return what is wrong with `data` (an empty list when it can be saved)."""
    errors = []
    if not data.title:
        errors.append(FieldError("title", "is required"))
    elif len(data.title) > MAX_TITLE:
        errors.append(FieldError("title", f"is longer than {MAX_TITLE} characters"))
    if not SLUG_RE.match(data.slug) or len(data.slug) > MAX_SLUG:
        errors.append(
            FieldError("slug", f"'{data.slug}' must be lowercase letters, digits and single hyphens (max {MAX_SLUG})")
        )
    if len(data.product) > MAX_PRODUCT:
        errors.append(FieldError("product", f"is longer than {MAX_PRODUCT} characters"))
    errors += [
        FieldError("tags", f"'{tag}' is longer than {MAX_TAG} characters") for tag in data.tags if len(tag) > MAX_TAG
    ]
    return errors


@dataclass
class SaveResult:
    article: Article
    created: bool
    changed: bool


def save_article(
    session: Session,
    data: ArticleFields,
    *,
    user: User | None,
    message: str = "",
    article: Article | None = None,
    verified: bool = False,
) -> SaveResult:
    """Create or update an article; store a revision and an index event when anything changed.

    `article` is the article being edited (its slug may change); without it, the slug decides
    between creating and updating. Saving identical content is a no-op, which keeps imports
    idempotent and the history free of empty revisions.
    """
    data = data.normalized()
    errors = validate(data)
    if article is None:
        article = find_by_slug(session, data.slug)
    if data.slug != (article.slug if article else None) and find_by_slug(session, data.slug) is not None:
        errors.append(FieldError("slug", f"'{data.slug}' is already used by another article"))
    if errors:
        raise ArticleInvalid(errors)
    created = article is None
    if created:
        article = Article(created_by=user, created_at=utcnow())
        session.add(article)
    elif ArticleFields.of(article) == data and not verified:
        return SaveResult(article, created=False, changed=False)
    _apply(article, data, user, verified)
    _add_revision(session, article, user, message)
    session.flush()
    session.add(IndexEvent(article_id=article.id))
    session.flush()
    return SaveResult(article, created=created, changed=True)


def _apply(article: Article, data: ArticleFields, user: User | None, verified: bool) -> None:
    for f in fields(ArticleFields):
        setattr(article, f.name, getattr(data, f.name))
    now = utcnow()
    article.version = (article.version or 0) + 1
    article.updated_at = now
    article.updated_by = user
    if verified:
        article.verified_at = now


def _add_revision(session: Session, article: Article, user: User | None, message: str) -> None:
    snapshot = {f.name: getattr(article, f.name) for f in fields(ArticleFields)}
    article.revisions.append(
        Revision(
            number=article.version, created_by=user, created_at=article.updated_at, message=message[:500], **snapshot
        )
    )


def find_by_slug(session: Session, slug: str) -> Article | None:
    return session.scalar(select(Article).where(Article.slug == slug))


def visible_statuses(role: Role) -> tuple[Status, ...]:
    return VISIBLE_STATUSES.get(role, (Status.PUBLISHED,))


def get_article(session: Session, slug: str, *, role: Role) -> Article:
    """Return the article `slug` if `role` may read it; otherwise raise ArticleNotFound.

    An article the role may not see is reported as missing, not forbidden, so agents cannot
    probe for the existence of drafts.
    """
    article = find_by_slug(session, slug)
    if article is None or article.status not in visible_statuses(role):
        raise ArticleNotFound(slug)
    return article


def list_articles(session: Session, *, role: Role, status: Status | None = None) -> list[Article]:
    statuses = visible_statuses(role)
    if status is not None:
        statuses = tuple(s for s in statuses if s == status)
    query = select(Article).where(Article.status.in_(statuses)).order_by(Article.updated_at.desc(), Article.id.desc())
    return list(session.scalars(query))


def get_revision(session: Session, article: Article, number: int) -> Revision:
    revision = session.scalar(select(Revision).where(Revision.article_id == article.id, Revision.number == number))
    if revision is None:
        raise ArticleNotFound(f"{article.slug} revision {number}")
    return revision


def count_articles(session: Session) -> int:
    return session.scalar(select(func.count(Article.id))) or 0


def last_change(session: Session) -> datetime | None:
    return session.scalar(select(func.max(Article.updated_at)))
