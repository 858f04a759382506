"""The article lifecycle: validate, create, update, read and list articles.

Every save that changes something writes a new `Revision` (a full snapshot) and a change-log
event (kb.changelog) in the same transaction, so the article, its history and the index's to-do
list never disagree. Nothing here commits: the caller owns the unit of work.

No edit is ever lost: creating never touches an existing article (a taken slug is refused), and
an update names the version it was based on; if someone saved in between, it is refused with
what they changed (VersionConflict) instead of overwriting their work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any, Iterable, Iterator

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kb import articlelinks, changelog, checks, limits, render, settings
from kb.db import begin_write, utcnow
from kb.models import Article, Audience, Revision, Role, SlugAlias, Status, User
from kb.textdiff import Change, word_diff

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_SLUG = 120
MAX_PRODUCT = 120

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
    """Return what is wrong with `data` (an empty list when it can be saved).

    The one check of every article, whichever way it comes in (page form, API, import): what
    passes here can be stored, rendered and indexed, so one article can never break search.
    """
    errors = [FieldError(name, problem) for name, problem in _text_problems(data) if problem]
    if not data.title and not any(e.field == "title" for e in errors):
        errors.append(FieldError("title", "is required"))
    if not SLUG_RE.match(data.slug) or len(data.slug) > MAX_SLUG:
        errors.append(
            FieldError(
                "slug", f"'{data.slug[:80]}' must be lowercase letters, digits and single hyphens (max {MAX_SLUG})"
            )
        )
    if len(data.tags) > limits.limit("MAX_TAGS"):
        errors.append(FieldError("tags", f"has {len(data.tags)} tags; the limit is {limits.limit('MAX_TAGS')}"))
    if not errors:
        errors += _body_problems(data.body)
    return errors


def _text_problems(data: ArticleFields) -> Iterator[tuple[str, str | None]]:
    yield "title", limits.text_problem(data.title, max_chars=limits.limit("MAX_TITLE_CHARS"))
    yield "summary", limits.text_problem(data.summary, max_chars=limits.limit("MAX_SUMMARY_CHARS"))
    yield "product", limits.text_problem(data.product, max_chars=MAX_PRODUCT)
    yield "body", limits.text_problem(data.body, max_bytes=limits.limit("MAX_ARTICLE_BYTES"))
    max_tag = limits.limit("MAX_TAG_CHARS")
    for position, tag in enumerate(data.tags[: limits.limit("MAX_TAGS")], start=1):
        problem = limits.text_problem(tag, max_chars=max_tag)
        if problem:
            yield "tags", f"tag {position} ('{tag[:30]}') {problem}"
    yield "extra", _extra_problem(data.extra)


def _extra_problem(extra: dict[str, Any]) -> str | None:
    """Front-matter keys kb keeps but does not use (from an import): texts all the same, to any depth."""
    stack: list[Any] = [extra]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack += [*value.keys(), *value.values()]
        elif isinstance(value, list):
            stack += value
        elif isinstance(value, str):
            problem = limits.text_problem(value)
            if problem:
                return f"a value {problem}"
    return None


def _body_problems(body: str) -> list[FieldError]:
    """Refuse a body kb could not render (a shape the Markdown library cannot handle, or a bug):
    saved, it would reach agents only as plain text."""
    problem = render.render_article(body).problem
    return [FieldError("body", problem)] if problem else []


class SlugTaken(ArticleInvalid):
    """The slug asked for belongs to another article (`holder`)."""

    def __init__(self, slug: str, holder: Article):
        super().__init__([FieldError("slug", f"'{slug}' is already used by the article '{holder.title}'")])
        self.slug, self.holder = slug, holder


class VersionConflict(Exception):
    """Someone saved the article after the version an edit was based on."""

    def __init__(self, article: Article, based_on: int):
        super().__init__(f"'{article.slug}' is at version {article.version}; this edit was based on {based_on}")
        self.article, self.based_on = article, based_on


@dataclass
class SaveResult:
    article: Article
    created: bool
    changed: bool


def create_article(session: Session, data: ArticleFields, *, user: User | None, message: str = "") -> SaveResult:
    """Create a new article; raise SlugTaken rather than touch the article holding its slug."""
    data = _checked(data)
    begin_write(session)
    _refuse_taken_slug(session, data.slug, None)
    article = Article(created_by=user, owner=user, created_at=utcnow())
    try:
        with session.begin_nested():
            session.add(article)
            _save(session, article, data, user, message, verified=False)
    except IntegrityError:  # created by someone else a moment ago
        _refuse_taken_slug(session, data.slug, None)
        raise
    return SaveResult(article, created=True, changed=True)


def update_article(
    session: Session,
    article: Article,
    data: ArticleFields,
    *,
    user: User | None,
    based_on: int | None,
    message: str = "",
    verified: bool = False,
) -> SaveResult:
    """Save `data` over `article` unless someone saved since version `based_on`.

    `based_on=None` is for imports, where the file's content is meant to win: it still never
    overwrites a save that lands while this one is running. Saving identical content is a no-op,
    which keeps imports idempotent and the history free of empty revisions.
    """
    data = _checked(data)
    if based_on is not None and based_on != article.version:
        raise VersionConflict(article, based_on)
    if ArticleFields.of(article) == data and not verified:
        return SaveResult(article, created=False, changed=False)
    expected = article.version
    begin_write(session)
    _refuse_taken_slug(session, data.slug, article)
    try:
        with session.begin_nested():  # on a lost race only this save is undone, not the caller's work
            _save(session, article, data, user, message, verified)
    except (StaleDataError, IntegrityError):  # another save of this article (or slug) won the race
        current = session.get(Article, article.id, populate_existing=True)
        if current is None:
            raise ArticleNotFound(data.slug) from None
        _refuse_taken_slug(session, data.slug, current)
        raise VersionConflict(current, expected) from None
    return SaveResult(article, created=False, changed=True)


def _checked(data: ArticleFields) -> ArticleFields:
    data = data.normalized()
    errors = validate(data)
    if errors:
        raise ArticleInvalid(errors)
    return data


def _refuse_taken_slug(session: Session, slug: str, article: Article | None) -> None:
    holder = find_by_slug(session, slug)
    if holder is not None and holder is not article:
        raise SlugTaken(slug, holder)


def _save(session: Session, article: Article, data: ArticleFields, user: User | None, message: str, verified: bool):
    published_now = data.status == Status.PUBLISHED and (article.status != Status.PUBLISHED or verified)
    old_slug = article.slug
    _apply(article, data, user, verified)
    if published_now or (article.status == Status.PUBLISHED and article.review_by is None):
        # Published or checked just now: trusted for the review period (kb.verification).
        article.review_by = article.updated_at + timedelta(days=settings.review_days(session, article.product))
    article.quality = checks.check(article.body).score
    _add_revision(session, article, user, message)
    session.flush()
    _keep_old_address(session, article, old_slug)
    articlelinks.record(session, article)
    changelog.record(session, [article.id])
    session.flush()


def _keep_old_address(session: Session, article: Article, old_slug: str | None) -> None:
    """A renamed article keeps answering at its old slug (a 301 to the new one), and a slug taken
    now, by this article or a new one, stops being anyone's old address."""
    session.execute(delete(SlugAlias).where(SlugAlias.slug == article.slug))
    if old_slug and old_slug != article.slug:
        session.execute(delete(SlugAlias).where(SlugAlias.slug == old_slug))
        session.add(SlugAlias(slug=old_slug, article_id=article.id, created_at=utcnow()))
        session.flush()


def renamed(session: Session, old_slug: str, *, role: Role) -> str | None:
    """The slug now of the article renamed from `old_slug`, if no article has `old_slug` and `role` may read it."""
    if find_by_slug(session, old_slug) is not None:
        return None
    alias = session.get(SlugAlias, old_slug)
    article = session.get(Article, alias.article_id) if alias is not None else None
    return article.slug if article is not None and article.status in visible_statuses(role) else None


def _apply(article: Article, data: ArticleFields, user: User | None, verified: bool) -> None:
    for f in fields(ArticleFields):
        setattr(article, f.name, getattr(data, f.name))
    now = utcnow()
    article.version = (article.version or 0) + 1
    article.updated_at = now
    article.updated_by = user
    if verified:
        article.verified_at, article.verified_by = now, user


def _add_revision(session: Session, article: Article, user: User | None, message: str) -> None:
    snapshot = {f.name: getattr(article, f.name) for f in fields(ArticleFields)}
    article.revisions.append(
        Revision(
            number=article.version, created_by=user, created_at=article.updated_at, message=message[:500], **snapshot
        )
    )


def changes_since(session: Session, article: Article, version: int) -> list[Change]:
    """What changed in `article` after `version`, word by word (everything, if that version is unknown)."""
    try:
        before = comparable_text(ArticleFields.of(get_revision(session, article, version)))
    except ArticleNotFound:
        before = ""
    return word_diff(before, comparable_text(ArticleFields.of(article)))


def changed_by(session: Session, article: Article, version: int) -> list[Revision]:
    """The revisions saved after `version`, oldest first: who changed what, and when."""
    return list(
        session.scalars(
            select(Revision)
            .where(Revision.article_id == article.id, Revision.number > version)
            .order_by(Revision.number)
        )
    )


def comparable_text(data: ArticleFields) -> str:
    """An article as one text an author can read a diff of: the fields, then the body."""
    head = [
        f"Title: {data.title}",
        f"Slug: {data.slug}",
        f"Summary: {data.summary}",
        f"Product: {data.product}",
        f"Audience: {data.audience.value}",
        f"Status: {data.status.value}",
        f"Tags: {', '.join(data.tags)}",
    ]
    return "\n".join(head) + "\n\n" + data.body


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


def list_articles(
    session: Session, *, role: Role, status: Status | None = None, created_by: User | None = None
) -> list[Article]:
    statuses = visible_statuses(role)
    if status is not None:
        statuses = tuple(s for s in statuses if s == status)
    query = select(Article).where(Article.status.in_(statuses)).order_by(Article.updated_at.desc(), Article.id.desc())
    if created_by is not None:
        query = query.where(Article.created_by_id == created_by.id)
    return list(session.scalars(query))


def published_titles(session: Session, *, limit: int | None = None) -> list[tuple[str, str]]:
    """(slug, title) of published articles by title, at most `limit`: for pickers, without the bodies."""
    query = select(Article.slug, Article.title).where(Article.status == Status.PUBLISHED).order_by(Article.title)
    return [(slug, title) for slug, title in session.execute(query.limit(limit))]


def titles_of(session: Session, slugs: Iterable[str]) -> dict[str, tuple[str, Status]]:
    """{slug: (title, status)} of the articles `slugs` name (unknown slugs are left out)."""
    wanted = [slug for slug in dict.fromkeys(slugs) if slug][:1000]
    rows = session.execute(select(Article.slug, Article.title, Article.status).where(Article.slug.in_(wanted)))
    return {slug: (title, status) for slug, title, status in rows}


def count_in_status(session: Session, status: Status) -> int:
    return session.scalar(select(func.count(Article.id)).where(Article.status == status)) or 0


def get_revision(session: Session, article: Article, number: int) -> Revision:
    revision = session.scalar(select(Revision).where(Revision.article_id == article.id, Revision.number == number))
    if revision is None:
        raise ArticleNotFound(f"{article.slug} revision {number}")
    return revision


def count_articles(session: Session) -> int:
    return session.scalar(select(func.count(Article.id))) or 0


def last_change(session: Session) -> datetime | None:
    return session.scalar(select(func.max(Article.updated_at)))
