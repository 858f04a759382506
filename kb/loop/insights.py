"""The insights dashboard's figures for a date range: where knowledge is missing, which problems
recur, whether the knowledge is used and kept right.

Every figure is one aggregate query over indexed columns (time ranges on `created_at`), so the
dashboard stays well under half a second with 100,000 searches and 20,000 calls logged (measured
in benchmarks/insights.py). Lists are capped at `TOP`; the counts beside them are not.
"""

from __future__ import annotations

import threading
import time as clock
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from kb import csvfiles
from kb.db import utcnow
from kb.loop import LoopError, gaps
from kb.models import Article, Call, Feedback, Gap, Outcome, SearchLog, Status, User

TOP = 20
LONG_LIST = 100
MAX_RANGE_DAYS = 731
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class Range:
    """Whole days, both ends included, in UTC."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=timezone.utc)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=timezone.utc)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def range_of(first: object, last: object, *, today: date | None = None) -> Range:
    """The range from `from`/`to` as sent (YYYY-MM-DD, either may be missing): the last 30 days by default."""
    today = today or utcnow().date()
    end = _day("to", last) or today
    start = _day("from", first) or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise LoopError("from", f"{start} is after to ({end})")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise LoopError("from", f"a range covers at most {MAX_RANGE_DAYS} days")
    return Range(start, end)


def _day(name: str, value: object) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value)[:10]) if len(str(value)) == 10 else _refuse(name, value)
    except ValueError:
        return _refuse(name, value)


def _refuse(name: str, value: object):
    raise LoopError(name, f"'{str(value)[:40]}' is not a date like 2026-12-01")


@dataclass
class Insights:
    range: Range
    searches: int = 0
    zero_result_searches: int = 0
    calls: int = 0
    linked_calls: int = 0
    outcomes: dict[str, int] = field(default_factory=lambda: {o.value: 0 for o in Outcome})
    helpful: int = 0
    not_helpful: int = 0
    per_day: list[dict[str, Any]] = field(default_factory=list)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    overdue_count: int = 0
    review_backlog_count: int = 0
    stale_count: int = 0

    @property
    def zero_result_rate(self) -> float:
        return round(self.zero_result_searches / self.searches, 4) if self.searches else 0.0

    @property
    def link_rate(self) -> float:
        return round(self.linked_calls / self.calls, 4) if self.calls else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "from": self.range.first.isoformat(),
            "to": self.range.last.isoformat(),
            "searches": self.searches,
            "zero_result_searches": self.zero_result_searches,
            "zero_result_rate": self.zero_result_rate,
            "calls": self.calls,
            "outcomes": dict(self.outcomes),
            "link_rate": self.link_rate,
            "helpful": self.helpful,
            "not_helpful": self.not_helpful,
            "overdue_count": self.overdue_count,
            "review_backlog_count": self.review_backlog_count,
            "stale_count": self.stale_count,
            "per_day": self.per_day,
            **self.tables,
        }


TABLES = ("top_queries", "top_gaps", "most_used", "helpfulness", "overdue", "review_backlog", "stale", "per_day")
_UPKEEP_COLUMNS = ("slug", "title", "owner", "review_by", "updated_at")
# Each table's columns, so that a CSV download of an empty table still has its header.
COLUMNS: dict[str, tuple[str, ...]] = {
    "top_queries": ("query", "count", "zero_result"),
    "top_gaps": ("id", "label", "count", "last_seen"),
    "most_used": ("slug", "title", "calls", "solved", "not_solved"),
    "helpfulness": ("slug", "title", "helpful", "not_helpful"),
    "overdue": _UPKEEP_COLUMNS,
    "review_backlog": _UPKEEP_COLUMNS,
    "stale": _UPKEEP_COLUMNS,
    "per_day": ("day", "searches", "zero_result", "calls"),
    "outcomes": ("outcome", "calls"),
}
CSV_TABLES = tuple(COLUMNS)


def compute(session: Session, span: Range, *, now: datetime | None = None) -> Insights:
    """All the dashboard's figures for `span`."""
    now = now or utcnow()
    found = Insights(span)
    _searches(session, found)
    _calls(session, found)
    _votes(session, found)
    found.tables["top_queries"] = top_queries(session, span)
    found.tables["top_gaps"] = [
        {"id": g.id, "label": g.label, "count": g.count, "last_seen": g.last_seen.isoformat() if g.last_seen else None}
        for g in gaps.listed(session, state="open", since=span.start, until=span.end, now=now, limit=TOP)
    ]
    found.tables["most_used"] = most_used(session, span)
    _upkeep(session, found, now)
    return found


class Recent:
    """The figures of the ranges asked for in the last `seconds`, per process.

    The dashboard shows weeks of history: figures a minute old say the same, and several authors
    (or one reloading, or downloading each table as CSV) then cost one computation, not one each.
    A range that includes today is kept `seconds`; one wholly in the past could be kept longer,
    but a simple rule is easier to trust.
    """

    MAX_RANGES = 32

    def __init__(self, seconds: float = 60.0, now: Callable[[], float] = clock.monotonic):
        self.seconds, self.now = seconds, now  # `now`: a test's own clock, so no sleep races a slow machine
        self._lock = threading.Lock()
        self._kept: dict[Range, tuple[float, Insights]] = {}

    def figures(self, session: Session, span: Range) -> Insights:
        now = self.now()
        with self._lock:
            kept = self._kept.get(span)
        if kept is not None and now - kept[0] < self.seconds:
            return kept[1]
        found = compute(session, span)
        with self._lock:
            if len(self._kept) >= self.MAX_RANGES:
                self._kept = {k: v for k, v in self._kept.items() if now - v[0] < self.seconds}
            if len(self._kept) < self.MAX_RANGES:
                self._kept[span] = (now, found)
        return found


def _searches(session: Session, found: Insights) -> None:
    span = found.range
    day = _day_of(session, SearchLog.created_at)
    zero = func.sum(case((SearchLog.results == 0, 1), else_=0))
    rows = session.execute(
        select(day, func.count(), zero)
        .where(SearchLog.created_at >= span.start, SearchLog.created_at < span.end)
        .group_by(day)
    ).all()
    by_day = {str(d): (n, int(z or 0)) for d, n, z in rows}
    calls_by_day = _calls_by_day(session, span)
    found.per_day = [
        {
            "day": d.isoformat(),
            "searches": by_day.get(d.isoformat(), (0, 0))[0],
            "zero_result": by_day.get(d.isoformat(), (0, 0))[1],
            "calls": calls_by_day.get(d.isoformat(), 0),
        }
        for d in span.days()
    ]
    found.searches = sum(n for n, _ in by_day.values())
    found.zero_result_searches = sum(z for _, z in by_day.values())
    found.tables["per_day"] = found.per_day


def _day_of(session: Session, column):
    """The UTC day of a timestamp column as YYYY-MM-DD text, computed by the database."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    return func.substr(column, 1, 10)  # SQLite keeps UTC timestamps as ISO text


def _calls_by_day(session: Session, span: Range) -> dict[str, int]:
    day = _day_of(session, Call.created_at)
    rows = session.execute(
        select(day, func.count()).where(Call.created_at >= span.start, Call.created_at < span.end).group_by(day)
    )
    return {str(d): n for d, n in rows}


def _calls(session: Session, found: Insights) -> None:
    span = found.range
    rows = session.execute(
        select(Call.outcome, func.count(), func.count(Call.article_id))
        .where(Call.created_at >= span.start, Call.created_at < span.end)
        .group_by(Call.outcome)
    )
    for outcome, n, linked in rows:
        found.outcomes[outcome.value] = n
        found.calls += n
        found.linked_calls += linked


def _votes(session: Session, found: Insights) -> None:
    span = found.range
    up = func.sum(case((Feedback.helpful.is_(True), 1), else_=0))
    down = func.sum(case((Feedback.helpful.is_(False), 1), else_=0))
    in_span = (Feedback.created_at >= span.start, Feedback.created_at < span.end)
    total_up, total_down = session.execute(select(up, down).where(*in_span)).one()
    found.helpful, found.not_helpful = int(total_up or 0), int(total_down or 0)
    rows = session.execute(
        select(Article.slug, Article.title, up, down)
        .join(Feedback, Feedback.article_id == Article.id)
        .where(*in_span)
        .group_by(Article.id, Article.slug, Article.title)
        .order_by(down.desc(), up, Article.slug)
        .limit(TOP)
    )
    found.tables["helpfulness"] = [
        {"slug": slug, "title": title, "helpful": int(u or 0), "not_helpful": int(d or 0)} for slug, title, u, d in rows
    ]


def top_queries(session: Session, span: Range) -> list[dict[str, Any]]:
    """What agents searched for most, grouped by meaning (the same gap: stems and synonyms, see
    kb.loop.gaps), each in the first wording kb saw, with how often it found nothing.

    Grouping by the gap rather than by the text keeps "printer offline" and "Printer is offline"
    one line, and reads only the search log's time index (grouping 100,000 texts took 0.3 s).
    """
    zero = func.sum(case((SearchLog.results == 0, 1), else_=0))
    rows = session.execute(
        select(Gap.label, func.count(), zero)
        .join(Gap, Gap.id == SearchLog.gap_id)
        .where(SearchLog.created_at >= span.start, SearchLog.created_at < span.end)
        .group_by(SearchLog.gap_id, Gap.label)
        .order_by(func.count().desc(), SearchLog.gap_id)
        .limit(TOP)
    )
    return [{"query": label, "count": n, "zero_result": int(z or 0)} for label, n, z in rows]


def most_used(session: Session, span: Range) -> list[dict[str, Any]]:
    """The articles linked to most calls, with how those calls ended."""
    solved = func.sum(case((Call.outcome == Outcome.SOLVED, 1), else_=0))
    failed = func.sum(case((Call.outcome == Outcome.NOT_SOLVED, 1), else_=0))
    rows = session.execute(
        select(Article.slug, Article.title, func.count(), solved, failed)
        .join(Call, Call.article_id == Article.id)
        .where(Call.created_at >= span.start, Call.created_at < span.end)
        .group_by(Article.id, Article.slug, Article.title)
        .order_by(func.count().desc(), Article.slug)
        .limit(TOP)
    )
    return [
        {"slug": slug, "title": title, "calls": n, "solved": int(s or 0), "not_solved": int(f or 0)}
        for slug, title, n, s, f in rows
    ]


def _upkeep(session: Session, found: Insights, now: datetime) -> None:
    """Overdue reviews, the review backlog and published articles nobody used in the range."""
    published = Article.status == Status.PUBLISHED
    overdue = (published, Article.review_by.is_not(None), Article.review_by < now)
    found.overdue_count, found.tables["overdue"] = _articles(session, overdue, Article.review_by)
    waiting = (Article.status == Status.REVIEW,)
    found.review_backlog_count, found.tables["review_backlog"] = _articles(session, waiting, Article.updated_at)
    span = found.range
    used = select(Call.article_id).where(
        Call.article_id.is_not(None), Call.created_at >= span.start, Call.created_at < span.end
    )
    opened = select(SearchLog.opened_slug).where(
        SearchLog.opened_slug.is_not(None), SearchLog.created_at >= span.start, SearchLog.created_at < span.end
    )
    stale = (published, Article.id.not_in(used), Article.slug.not_in(opened))
    found.stale_count, found.tables["stale"] = _articles(session, stale, Article.id)  # oldest first


def _articles(session: Session, where: Iterable, order) -> tuple[int, list[dict[str, Any]]]:
    """How many articles match, and the first LONG_LIST of them in `order`.

    The count reads only ids and slugs, which an article's row holds before its body: columns
    after the body (dates) cost a walk through the body's pages, so only the listed rows pay it.
    """
    count = session.scalar(select(func.count(Article.id)).where(*where)) or 0
    owner = User.username.label("owner")
    rows = session.execute(
        select(Article.slug, Article.title, owner, Article.review_by, Article.updated_at)
        .outerjoin(User, User.id == Article.owner_id)
        .where(*where)
        .order_by(order, Article.slug)
        .limit(LONG_LIST)
    )
    listed = [
        {
            "slug": slug,
            "title": title,
            "owner": owner,
            "review_by": review_by.isoformat() if review_by else None,
            "updated_at": updated_at.isoformat(),
        }
        for slug, title, owner, review_by, updated_at in rows
    ]
    return count, listed


def table_csv(found: Insights, name: str) -> str:
    """One of the dashboard's tables (a name in CSV_TABLES) as CSV, its header even when it is empty."""
    if name == "outcomes":
        rows = [{"outcome": outcome, "calls": n} for outcome, n in found.outcomes.items()]
    else:
        rows = found.tables[name]
    return csvfiles.text_of_records(rows, COLUMNS[name])
