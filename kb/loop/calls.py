"""Calls linked to knowledge: which article a call used and how it ended, or that none helped.

Reuse is review: every call that used an article is evidence about it. Its page shows when it was
last used and how often lately, and an article that keeps not solving calls is flagged to its
owner (one open flag at a time, raised by kb itself) in the queue authors already work from.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from kb import limits
from kb.db import begin_write, utcnow
from kb.feedback import redact
from kb.loop import LoopError, gaps
from kb.models import Article, Call, Flag, FlagReason, Outcome, User
from kb.search.query import Vocabulary

MAX_CASE = 120
MAX_WORDS = 500
RECENT_DAYS = 30
# An article is flagged when, in the last RECENT_DAYS, at least this many calls that used it were
# not solved, and they were at least this share of its calls.
FLAG_NOT_SOLVED = 3
FLAG_SHARE = 1 / 3
OUTCOMES = tuple(o.value for o in Outcome)


def outcome_named(value: object) -> Outcome:
    if not isinstance(value, str) or value not in OUTCOMES:
        raise LoopError("outcome", f"must be one of {', '.join(OUTCOMES)}")
    return Outcome(value)


def _text(field: str, value: object, most: int) -> str:
    value = "" if value is None else value
    problem = limits.text_problem(value, max_chars=most)
    if problem:
        raise LoopError(field, problem)
    return " ".join(str(value).split())


def record_call(
    session: Session,
    *,
    user: User,
    article: Article | None,
    outcome: object,
    case_ref: object = "",
    words: object = "",
    vocabulary: Vocabulary,
) -> Call:
    """Record a call; one that failed also counts towards the knowledge gap its words point at."""
    outcome = outcome_named(outcome)
    case_ref, said = _text("case", case_ref, MAX_CASE), redact(_text("words", words, MAX_WORDS * 2))[:MAX_WORDS]
    if outcome == Outcome.NO_ARTICLE and article is not None:
        raise LoopError("article", 'a call with outcome "no_article" names no article (send null)')
    if outcome != Outcome.NO_ARTICLE and article is None:
        raise LoopError("article", f'a call with outcome "{outcome.value}" names the article used')
    if outcome == Outcome.NO_ARTICLE and not said:
        raise LoopError("words", "say in the customer's words what the call was about: it becomes a knowledge gap")
    failed = outcome in (Outcome.NOT_SOLVED, Outcome.NO_ARTICLE)
    # Without the customer's words, the article's title says what the call was about.
    about = said or article.title  # an outcome without words names an article (checked above)
    read = gaps.wording(session, about, vocabulary) if failed else None  # before the write lock
    begin_write(session)
    call = Call(user=user, article=article, outcome=outcome, case_ref=case_ref, words=said, created_at=utcnow())
    if failed:
        label = None if said else f"Not solved with “{article.title}”"
        gap = gaps.gap_for(session, about, vocabulary, label=label, read=read)
        call.gap_id = gap.id if gap else None
    session.add(call)
    session.flush()
    if outcome == Outcome.NOT_SOLVED:
        _flag_if_not_solving(session, article)
    return call


def _flag_if_not_solving(session: Session, article: Article) -> None:
    """Tell the owner when an article keeps not solving the calls it is used on."""
    use = usage(session, [article.id]).get(article.id)
    if use is None or use.not_solved < FLAG_NOT_SOLVED or use.not_solved < FLAG_SHARE * use.calls:
        return
    already = session.scalar(
        select(Flag.id).where(Flag.article_id == article.id, Flag.user_id.is_(None), Flag.resolved_at.is_(None))
    )
    if already is None:
        comment = (
            f"{use.not_solved} of the {use.calls} calls that used this article in the last {RECENT_DAYS} days "
            "were not solved (recorded by agents; flagged by kb)."
        )
        session.add(Flag(article=article, user=None, reason=FlagReason.MISSING, comment=comment, resolution=""))
        session.flush()


@dataclass(frozen=True)
class Usage:
    """How an article was used on calls lately: reuse is review."""

    last_used: datetime | None
    calls: int  # in the last RECENT_DAYS
    not_solved: int

    def as_json(self) -> dict:
        last = self.last_used.isoformat() if self.last_used else None
        return {"last_used": last, f"calls_{RECENT_DAYS}d": self.calls, f"not_solved_{RECENT_DAYS}d": self.not_solved}


def usage(session: Session, article_ids: Iterable[int], *, now: datetime | None = None) -> dict[int, Usage]:
    """Last use, calls and "not solved" calls in the last RECENT_DAYS, per article (one query)."""
    ids = list(article_ids)
    if not ids:
        return {}
    since = (now or utcnow()) - timedelta(days=RECENT_DAYS)
    recent = case((Call.created_at >= since, 1), else_=0)
    failed = case(((Call.created_at >= since) & (Call.outcome == Outcome.NOT_SOLVED), 1), else_=0)
    rows = session.execute(
        select(Call.article_id, func.max(Call.created_at), func.sum(recent), func.sum(failed))
        .where(Call.article_id.in_(ids))
        .group_by(Call.article_id)
    )
    return {article_id: Usage(last, int(n or 0), int(bad or 0)) for article_id, last, n, bad in rows}
