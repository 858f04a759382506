"""What an author does with a knowledge gap: write the missing article, attach the words to an
article that already answers it, or dismiss it with a reason.

Each closes the gap and records what closed it. The first two put the customers' own words where
kb's search weighs them most: quoted lines under "What the customer notices" (kb.render's
phrasings), as a new revision, so nothing earlier is lost. Two authors acting on one gap at the
same moment: the second is told who was first (a 409), and their draft is not kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kb import limits, settings, store
from kb.db import begin_write, utcnow
from kb.loop import LoopError, gaps
from kb.models import Article, Gap, GapState, Status, User
from kb.render import PHRASING_HEADINGS

MAX_REASON = 2000
MAX_PHRASINGS = 10
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_LIST_ITEM = re.compile(r"^\s*[-*+]\s")
NOTICES_HEADING = "## What the customer notices"


class GapConflict(LoopError):
    """The gap was closed or dismissed by someone else first."""

    def __init__(self, gap: Gap):
        who = gap.closed_by.username if gap.closed_by else "someone"
        super().__init__("gap", f"was {_done(gap)} by {who} already", status=409)
        self.gap = gap


def _done(gap: Gap) -> str:
    return {"draft": "turned into a draft", "attach": "attached to an article", "dismiss": "dismissed"}.get(
        gap.action, "closed"
    )


def _open_gap(session: Session, gap_id: int) -> gaps.GapSummary:
    summary = gaps.get(session, gap_id)
    if summary is None:
        raise LoopError("gap", f"there is no gap {gap_id}", status=404)
    if summary.state != GapState.OPEN.value:
        raise GapConflict(summary.gap)
    return summary


def draft_from(session: Session, gap_id: int, *, user: User) -> Article:
    """A draft article for the gap, from the template, with the customers' words as its phrasings."""
    begin_write(session)
    summary = _open_gap(session, gap_id)
    template = settings.get(session, settings.ARTICLE_TEMPLATE).value
    title = summary.label if summary.label != summary.label.lower() else summary.label.capitalize()
    data = store.ArticleFields(
        slug=_free_slug(session, store.slugify(title) or f"gap-{gap_id}"),
        title=title[: limits.limit("MAX_TITLE_CHARS")],
        body=with_phrasings(template, summary.examples[:MAX_PHRASINGS]),
        status=Status.DRAFT,
    )
    try:
        article = store.create_article(session, data, user=user, message=f"Draft for knowledge gap #{gap_id}").article
    except store.SlugTaken:  # another author's draft for this gap took the slug a moment ago
        session.rollback()
        _open_gap(session, gap_id)
        raise
    _close(session, summary.gap, "draft", user=user, article=article)
    return article


def _free_slug(session: Session, slug: str) -> str:
    """`slug`, or `slug-2`, `slug-3`... the first no article holds (a race is still a SlugTaken)."""
    slug = slug[: store.MAX_SLUG - 4].rstrip("-")
    for n in range(1, 50):
        candidate = slug if n == 1 else f"{slug}-{n}"
        if store.find_by_slug(session, candidate) is None:
            return candidate
    return f"{slug}-{utcnow():%H%M%S}"


def attach(session: Session, gap_id: int, article: Article, *, user: User) -> Article:
    """Add the gap's wordings to `article` as customer phrasings (a new revision) and close the gap."""
    begin_write(session)
    summary = _open_gap(session, gap_id)
    session.refresh(article)  # as it is now: a save since it was read is a conflict, not overwritten
    known = article.body.lower()
    fresh = [said for said in summary.examples[:MAX_PHRASINGS] if said.lower() not in known]
    if fresh:
        data = store.ArticleFields.of(article)
        data.body = with_phrasings(article.body, fresh)
        message = f"Customer words from knowledge gap #{gap_id}"
        store.update_article(session, article, data, user=user, based_on=article.version, message=message)
    _close(session, summary.gap, "attach", user=user, article=article)
    return article


def dismiss(session: Session, gap_id: int, reason: object, *, user: User) -> Gap:
    """Close the gap without a change, saying why (not kb's to answer, a one-off, spam)."""
    problem = limits.text_problem(reason, max_chars=MAX_REASON)
    if problem or not str(reason).strip():
        raise LoopError("reason", problem or "say why the gap is dismissed: the next author will read it")
    begin_write(session)
    summary = _open_gap(session, gap_id)
    return _close(session, summary.gap, "dismiss", user=user, reason=" ".join(str(reason).split()))


def _close(
    session: Session, gap: Gap, action: str, *, user: User, article: Article | None = None, reason: str = ""
) -> Gap:
    gap.state = GapState.DISMISSED if action == "dismiss" else GapState.CLOSED
    gap.action, gap.closed_at, gap.closed_by, gap.article, gap.reason = action, utcnow(), user, article, reason
    try:
        with session.begin_nested():
            session.flush()
    except StaleDataError:
        session.rollback()
        raise GapConflict(session.get(Gap, gap.id, populate_existing=True)) from None
    return gap


def with_phrasings(body: str, phrasings: Sequence[str]) -> str:
    """`body` with each phrasing as a quoted line at the end of "What the customer notices".

    The section is added at the top when the body has none. Headings inside code fences are not
    headings; one pass over the lines.
    """
    quoted = [f'- "{_unquoted(p)}"' for p in phrasings if _unquoted(p)]
    if not quoted:
        return body
    lines = body.split("\n")
    start = end = None
    fenced = False
    for number, line in enumerate(lines):
        if _FENCE.match(line):
            fenced = not fenced
        heading = None if fenced else _HEADING.match(line)
        if heading and start is not None and end is None:
            end = number
        if heading and start is None and heading.group(2).strip().lower() in PHRASING_HEADINGS:
            start = number
    if start is None:
        return "\n".join([NOTICES_HEADING, "", *quoted, "", *lines])
    end = len(lines) if end is None else end
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    in_list = _LIST_ITEM.match(lines[end - 1])  # more items of the list already there
    return "\n".join([*lines[:end], *([] if in_list else [""]), *quoted, *lines[end:]])


def _unquoted(text: str) -> str:
    return " ".join(text.replace('"', "'").split())
