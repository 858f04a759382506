"""How long kb keeps what agents did: call records and the search log, then they are deleted.

The words kept are already blanked of personal data; keeping them only as long as they help is
the other half of privacy. `kb prune` and the serving processes (once a day) delete records older
than KB_CALL_RETENTION_DAYS / KB_SEARCH_RETENTION_DAYS, in batches with a commit between, so
a first prune of a large backlog never holds the database's write lock for long. A gap left with
no record pointing at it, nobody having acted on it, goes too; its aliases go with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from kb.db import begin_write, utcnow
from kb.models import Call, Feedback, Gap, GapState, SearchLog

BATCH = 5000
GAP_GRACE = timedelta(days=1)  # a gap younger than this may be waiting for its first record


@dataclass
class Pruned:
    searches: int = 0
    calls: int = 0
    gaps: int = 0

    @property
    def total(self) -> int:
        return self.searches + self.calls + self.gaps

    def add(self, other: Pruned) -> None:
        self.searches += other.searches
        self.calls += other.calls
        self.gaps += other.gaps


def prune_batch(
    session: Session, *, search_days: int, call_days: int, now: datetime | None = None, batch: int = BATCH
) -> Pruned:
    """Delete up to `batch` expired rows of each kind; the caller commits and calls again while any went."""
    now = now or utcnow()
    begin_write(session)
    searches = _delete_ids(session, SearchLog, SearchLog.created_at < now - timedelta(days=search_days), batch)
    calls = _delete_ids(session, Call, Call.created_at < now - timedelta(days=call_days), batch)
    unused = (
        Gap.state == GapState.OPEN,
        Gap.action == "",
        Gap.created_at < now - GAP_GRACE,
        ~exists().where(SearchLog.gap_id == Gap.id),
        ~exists().where(Call.gap_id == Gap.id),
        ~exists().where(Feedback.gap_id == Gap.id),
    )
    gaps = _delete_ids(session, Gap, unused, batch)
    return Pruned(searches, calls, gaps)


def _delete_ids(session: Session, table, condition, batch: int) -> int:
    ids = list(session.scalars(select(table.id).where(*_as_tuple(condition)).limit(batch)))
    if ids:
        session.execute(delete(table).where(table.id.in_(ids)), execution_options={"synchronize_session": False})
    return len(ids)


def _as_tuple(condition) -> tuple:
    return condition if isinstance(condition, tuple) else (condition,)


def prune(session: Session, *, search_days: int, call_days: int, now: datetime | None = None, on_batch=None) -> Pruned:
    """Delete everything expired, committing after each batch (the one loop here that commits:
    a batch is a whole unit of work, and committing between them is what keeps the lock short)."""
    total = Pruned()
    while True:
        step = prune_batch(session, search_days=search_days, call_days=call_days, now=now)
        session.commit()
        total.add(step)
        if on_batch is not None:
            on_batch(total)
        if not step.total:
            return total
