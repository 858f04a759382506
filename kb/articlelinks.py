"""Which articles link where, and which of those links lead nowhere an agent can follow.

The `article_links` rows are rewritten by every save (kb.store) from the article's current text,
in the save's transaction. A link is broken when its target does not exist or is archived, and,
from a published article, when the target is not published: an agent following it would find
nothing. The checks of an article (kb.checks) are its content findings plus these.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session, aliased

from kb import checks
from kb.models import Article, ArticleLink, SlugAlias, Status
from kb.render import RenderedArticle

MAX_BROKEN_WEIGHED = checks.MAX_PER_KIND


@dataclass(frozen=True)
class BrokenLink:
    source_slug: str
    source_title: str
    target_slug: str
    line: int
    why: str


def record(session: Session, article: Article) -> None:
    """Replace `article`'s link rows with the links of its current body (call after a flush: needs the id)."""
    session.execute(delete(ArticleLink).where(ArticleLink.article_id == article.id))
    session.add_all(
        ArticleLink(article_id=article.id, target_slug=slug, line=line)
        for slug, line in checks.linked_slugs(article.body)
        if len(slug) <= 120
    )


def _why(target_status: Status | None, source_status: Status) -> str | None:
    if target_status is None:
        return "which does not exist"
    if target_status == Status.ARCHIVED:
        return "which is archived"
    if source_status == Status.PUBLISHED and target_status != Status.PUBLISHED:
        return f"which agents cannot read yet ({target_status.value})"
    return None


def broken_in(session: Session, body: str, *, status: Status) -> list[tuple[str, int, str]]:
    """(slug, line, why) for each broken link in `body`, as if saved with `status`: one query."""
    linked = checks.linked_slugs(body)
    if not linked:
        return []
    slugs = [s for s, _ in linked]
    found = dict(session.execute(select(Article.slug, Article.status).where(Article.slug.in_(slugs))).all())
    renamed = select(SlugAlias.slug, Article.status).join(Article, Article.id == SlugAlias.article_id)
    found.update(session.execute(renamed.where(SlugAlias.slug.in_(slugs))).all())  # old addresses still lead there
    broken = []
    for slug, line in linked:
        why = _why(found.get(slug), status)
        if why:
            broken.append((slug, line, why))
    return broken


def checks_for(session: Session, article: Article) -> checks.Checks:
    owner = article.owner.username if article.owner else None
    return checks.check(article.body, owner=owner, broken_links=broken_in(session, article.body, status=article.status))


def checks_of_text(session: Session, rendered: RenderedArticle, body: str, *, status: Status) -> checks.Checks:
    """The checks of a body being edited (the preview), with a body kb would refuse to save first."""
    found = checks.check(body, broken_links=broken_in(session, body, status=status))
    if rendered.problem:
        found.findings.insert(
            0, checks.Finding("cannot_save", f"body {rendered.problem}: it cannot be saved like this")
        )
    return found


def _broken_rows():
    source, target = aliased(Article), aliased(Article)
    query = (
        select(source.slug, source.title, ArticleLink.target_slug, ArticleLink.line, source.status, target.status)
        .join(source, source.id == ArticleLink.article_id)
        .outerjoin(SlugAlias, SlugAlias.slug == ArticleLink.target_slug)
        .outerjoin(target, or_(target.slug == ArticleLink.target_slug, target.id == SlugAlias.article_id))
        .where(source.status != Status.ARCHIVED)
        .where(
            or_(
                target.id.is_(None),
                target.status == Status.ARCHIVED,
                (source.status == Status.PUBLISHED) & (target.status != Status.PUBLISHED),
            )
        )
    )
    return query, source


def report(session: Session) -> list[BrokenLink]:
    """Every broken link in an article that is not archived, by article then line."""
    query, source = _broken_rows()
    rows = session.execute(query.order_by(source.slug, ArticleLink.line)).all()
    return [
        BrokenLink(slug, title, target_slug, line, _why(target_status, status) or "")
        for slug, title, target_slug, line, status, target_status in rows
    ]


def broken_counts(session: Session, article_ids: list[int]) -> dict[int, int]:
    """How many broken links each of `article_ids` has (absent: none), in one query."""
    if not article_ids:
        return {}
    query, source = _broken_rows()
    sub = query.with_only_columns(source.id).where(source.id.in_(article_ids)).subquery()
    return dict(session.execute(select(sub.c.id, func.count()).group_by(sub.c.id)).all())


def score(article: Article, broken: int) -> int:
    """An article's score for lists: its content score less what its broken links and a missing owner weigh."""
    content = article.quality if article.quality is not None else 100
    unowned = checks.WEIGHTS["no_owner"] if article.owner_id is None else 0
    return max(0, content - unowned - checks.WEIGHTS["broken_link"] * min(broken, MAX_BROKEN_WEIGHED))
