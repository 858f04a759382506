"""What agents tell kb by using it: searches that found nothing or led nowhere, and helpful votes.

Search logs feed the knowledge-gap report; helpful votes feed a gentle ranking prior. No user or
customer data is kept with a search: the query (with e-mail addresses and phone numbers blanked),
the time, the role and what happened.
"""

from __future__ import annotations

import re

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from kb.db import utcnow
from kb.models import Article, Feedback, IndexEvent, Role, SearchLog, User

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(\.[\w-]+)+\b")
_PHONE = re.compile(r"(?<![\w.])\+?\d[\d ()./-]{6,}\d(?![\w.])")
_EPISODE = re.compile(r"^[A-Za-z0-9_-]{8,40}$")


def redact(query: str) -> str:
    """Blank out what looks like customer contact data; error codes and KB numbers stay."""
    return _PHONE.sub("[number]", _EMAIL.sub("[email]", query))


def is_episode_id(value: str | None) -> bool:
    return bool(value and _EPISODE.match(value))


def record_search(
    session: Session, *, query: str, role: Role, results: int, episode: str | None, source: str
) -> SearchLog:
    """Log a search; later queries of the same episode replace the earlier, half-typed ones."""
    log = session.scalar(select(SearchLog).where(SearchLog.episode == episode)) if episode else None
    if log is None:
        log = SearchLog(episode=episode, role=role, source=source)
        session.add(log)
    elif log.opened_slug:
        # The agent already opened something in this episode and is searching on: a new search.
        log.episode = None
        log = SearchLog(episode=episode, role=role, source=source)
        session.add(log)
    log.query = redact(query)[:500]
    log.results = results
    log.created_at = utcnow()
    session.flush()
    return log


def record_opened(session: Session, episode: str, slug: str) -> bool:
    """Mark the episode's search as having led to `slug`; False if there is no such episode."""
    log = session.scalar(select(SearchLog).where(SearchLog.episode == episode))
    if log is None:
        return False
    log.opened_slug = slug
    log.opened_at = utcnow()
    session.flush()
    return True


def record_helpful(session: Session, article: Article, user: User, helpful: bool) -> None:
    """Store the agent's vote (replacing an earlier one) and queue the article for reindexing."""
    vote = session.scalar(select(Feedback).where(Feedback.article_id == article.id, Feedback.user_id == user.id))
    if vote is None:
        session.add(Feedback(article_id=article.id, user_id=user.id, helpful=helpful))
    else:
        vote.helpful = helpful
        vote.created_at = utcnow()
    session.add(IndexEvent(article_id=article.id))
    session.flush()


def votes(session: Session, article_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(helpful, not helpful) vote counts per article."""
    rows = session.execute(
        select(
            Feedback.article_id,
            func.sum(case((Feedback.helpful, 1), else_=0)),
            func.sum(case((Feedback.helpful, 0), else_=1)),
        )
        .where(Feedback.article_id.in_(article_ids))
        .group_by(Feedback.article_id)
    )
    return {article_id: (int(up or 0), int(down or 0)) for article_id, up, down in rows}


def helpfulness(up: int, down: int) -> float:
    """A 0..1 score that starts neutral (0.5) and moves with evidence more than with one vote."""
    return (up + 2) / (up + down + 4)
