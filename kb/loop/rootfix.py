"""Root causes: why an article's problem happens, what would stop it recurring, and whether it did.

Support finds the problems that recur; the fix belongs upstream (a product team, a supplier, an
infrastructure owner). An article's root-fix record says what kind of cause it is (the admins'
list of categories), what would fix it, who owns that, its status and a link to where the work
is tracked. The recurring-problems board ranks articles by the calls linked to them per week;
once a fix is marked fixed it shows the calls per week before and after that date, and the
article can be marked resolved at the root. Every saved state is kept (RootFixChange).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from kb import csvfiles, limits, settings
from kb.db import begin_write, utcnow
from kb.loop import LoopError
from kb.models import Article, Call, FixStatus, RootFix, RootFixChange, User

FIELDS = {"cause": 60, "fix": 5000, "owner": 120, "link": 500}
STATUSES = tuple(s.value for s in FixStatus)
BOARD_WEEKS = 8
BOARD_SIZE = 50


def causes(session: Session) -> list[str]:
    return list(settings.get(session, settings.CAUSE_CATEGORIES).value)


def of(session: Session, article: Article) -> RootFix | None:
    return session.get(RootFix, article.id)


def save(
    session: Session, article: Article, data: Mapping[str, Any], *, user: User, based_on: int | None = None
) -> RootFix:
    """Create or replace the article's root-fix record; `based_on` (its version) refuses a stale edit."""
    values = _checked(session, data)
    begin_write(session)
    record = session.get(RootFix, article.id, populate_existing=True)
    current = record.version if record is not None else 0
    if based_on is not None and based_on != current:
        raise LoopError(
            "version", f"the root fix was changed by someone else (it is now at version {current})", status=409
        )
    try:
        with session.begin_nested():
            record = record or _new(session, article)
            _apply(record, values, user)
            session.flush()
            session.add(RootFixChange(article_id=article.id, created_by_id=user.id, snapshot=as_json(record)))
            session.flush()
    except (StaleDataError, IntegrityError):
        raise LoopError("version", "the root fix was changed by someone else at the same moment", status=409) from None
    return record


def _new(session: Session, article: Article) -> RootFix:
    record = RootFix(article_id=article.id, status=FixStatus.PROPOSED)
    session.add(record)
    return record


def _apply(record: RootFix, values: dict[str, Any], user: User) -> None:
    now = utcnow()
    for name in FIELDS:
        setattr(record, name, values[name])
    status = values["status"]
    if status == FixStatus.FIXED and record.fixed_at is None:
        record.fixed_at = values.get("fixed_at") or now
    if status != FixStatus.FIXED:
        record.fixed_at = None
    record.status = status
    record.resolved_at = (record.resolved_at or now) if values["resolved"] else None
    record.updated_at, record.updated_by = now, user


def _checked(session: Session, data: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, most in FIELDS.items():
        value = data.get(name) or ""
        problem = limits.text_problem(value, max_chars=most)
        if problem:
            raise LoopError(name, problem)
        values[name] = value.strip() if name == "fix" else " ".join(value.split())
    if values["cause"] and values["cause"].lower() not in {c.lower() for c in causes(session)}:
        raise LoopError("cause", f"must be one of the cause categories: {', '.join(causes(session))}")
    if values["link"] and not values["link"].lower().startswith(("https://", "http://")):
        raise LoopError("link", "must be a web address starting with https:// or http://")
    status = data.get("status") or FixStatus.PROPOSED.value
    if status not in STATUSES:
        raise LoopError("status", f"must be one of {', '.join(STATUSES)}")
    values["status"] = FixStatus(status)
    resolved = data.get("resolved", False)
    if not isinstance(resolved, bool):
        raise LoopError("resolved", "must be true or false")
    if resolved and values["status"] != FixStatus.FIXED:
        raise LoopError("resolved", 'only a fix with status "fixed" can be marked resolved at the root')
    values["resolved"] = resolved
    return values


def as_json(record: RootFix | None) -> dict[str, Any] | None:
    if record is None:
        return None
    stamp = lambda value: value.isoformat() if value else None  # noqa: E731
    return {
        **{name: getattr(record, name) for name in FIELDS},
        "status": record.status.value,
        "fixed_at": stamp(record.fixed_at),
        "resolved_at": stamp(record.resolved_at),
        "updated_at": stamp(record.updated_at),
        "updated_by": record.updated_by.username if record.updated_by else None,
        "version": record.version,
    }


def history(session: Session, article: Article) -> list[RootFixChange]:
    return list(
        session.scalars(
            select(RootFixChange).where(RootFixChange.article_id == article.id).order_by(RootFixChange.id.desc())
        )
    )


# --- the recurring-problems board -----------------------------------------------------------------


@dataclass
class Recurring:
    """An article's calls per week (oldest first), their trend, and its fix's before and after."""

    article: Article
    calls_per_week: list[int]
    root_fix: RootFix | None
    before: float | None = None  # calls per week in the weeks before the fix date
    after: float | None = None  # and since

    @property
    def total(self) -> int:
        return sum(self.calls_per_week)

    @property
    def trend(self) -> str:
        """ "rising", "falling" or "steady": the last half of the weeks against the first half."""
        half = len(self.calls_per_week) // 2
        early, late = sum(self.calls_per_week[:half]), sum(self.calls_per_week[half:])
        if late > early * 1.25 and late - early >= 2:
            return "rising"
        if late < early * 0.8 and early - late >= 2:
            return "falling"
        return "steady"


def recurring(
    session: Session, *, weeks: int = BOARD_WEEKS, now: datetime | None = None, limit: int = BOARD_SIZE
) -> list[Recurring]:
    """Articles ranked by the calls linked to them in the last `weeks` weeks, most first."""
    now = now or utcnow()
    since = now - timedelta(weeks=weeks)
    totals = session.execute(
        select(Call.article_id, func.count())
        .where(Call.article_id.is_not(None), Call.created_at >= since)
        .group_by(Call.article_id)
        .order_by(func.count().desc(), Call.article_id)
        .limit(limit)
    ).all()
    ids = [article_id for article_id, _ in totals]
    weekly = _weekly(session, ids, since, now, weeks)
    articles = {a.id: a for a in session.scalars(select(Article).where(Article.id.in_(ids)))}
    fixes = {
        f.article_id: f
        for f in session.scalars(
            select(RootFix).where(RootFix.article_id.in_(ids)).options(selectinload(RootFix.updated_by))
        )
    }
    board = [Recurring(articles[i], weekly[i], fixes.get(i)) for i in ids if i in articles]
    _before_and_after(session, [r for r in board if r.root_fix and r.root_fix.fixed_at], now, weeks)
    return board


def _weekly(session: Session, ids: list[int], since: datetime, now: datetime, weeks: int) -> dict[int, list[int]]:
    counts: dict[int, list[int]] = defaultdict(lambda: [0] * weeks)
    rows = session.execute(
        select(Call.article_id, Call.created_at).where(Call.article_id.in_(ids), Call.created_at >= since)
    )
    for article_id, at in rows:
        week = min(weeks - 1, max(0, int((at - since).total_seconds() // (7 * 86400))))
        counts[article_id][week] += 1
    return counts


def _before_and_after(session: Session, fixed: list[Recurring], now: datetime, weeks: int) -> None:
    """Calls per week in up to `weeks` weeks before each fix date, and from it until now."""
    for item in fixed:
        fixed_at = item.root_fix.fixed_at
        start = fixed_at - timedelta(weeks=weeks)
        after = Call.created_at >= fixed_at
        before_count, after_count = session.execute(
            select(func.sum(case((after, 0), else_=1)), func.sum(case((after, 1), else_=0))).where(
                Call.article_id == item.article.id, Call.created_at >= start
            )
        ).one()
        after_weeks = max((now - fixed_at).total_seconds() / (7 * 86400), 1 / 7)
        item.before = round(int(before_count or 0) / weeks, 2)
        item.after = round(int(after_count or 0) / after_weeks, 2)


BOARD_COLUMNS = (
    "slug",
    "title",
    "calls",
    "trend",
    *(f"week_{n}" for n in range(1, BOARD_WEEKS + 1)),
    "cause",
    "status",
    "owner",
    "link",
    "fixed_at",
    "before",
    "after",
    "resolved_at",
)


def board_csv(board: list[Recurring]) -> str:
    """The board as CSV: one row per article, its calls week by week (oldest first) and its fix."""
    return csvfiles.text_of_records([_board_row(item) for item in board], BOARD_COLUMNS)


def _board_row(item: Recurring) -> dict[str, Any]:
    fix = item.root_fix
    stamp = lambda value: value.isoformat() if value else ""  # noqa: E731
    return {
        "slug": item.article.slug,
        "title": item.article.title,
        "calls": item.total,
        "trend": item.trend,
        **{f"week_{n}": calls for n, calls in enumerate(item.calls_per_week, start=1)},
        "cause": fix.cause if fix else "",
        "status": fix.status.value if fix else "",
        "owner": fix.owner if fix else "",
        "link": fix.link if fix else "",
        "fixed_at": stamp(fix.fixed_at if fix else None),
        "before": "" if item.before is None else item.before,
        "after": "" if item.after is None else item.after,
        "resolved_at": stamp(fix.resolved_at if fix else None),
    }
