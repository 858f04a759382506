"""The change log the search index follows: which articles changed, in what was committed.

Every save adds an `IndexEvent` in its own transaction; each kb machine's index writer reads the
events it has not applied yet. "Everything above the last id I applied" is not that set on
PostgreSQL: ids come from a sequence when the row is inserted, not when it commits, so a long
import holding ids 100-2000 can commit after a quick save took 2001. An index that moved its mark
to 2001 would never see the import (measured: 618-922 of 2,000 articles lost).

So a reader keeps a *horizon* and the ids it applied at or above it:

- PostgreSQL: each event carries the id of its transaction (`pg_current_xact_id()`). Every
  transaction below the oldest one still running (the snapshot's `xmin`) has finished, so its
  events are either visible or never will be: the horizon moves up to `xmin`. Events of
  transactions at or above it may still be joined by others; those already applied are
  remembered by id until the horizon passes them.
- SQLite: one writer at a time, and ids are taken inside the write lock, so id order is commit
  order and the horizon is simply the next id.

Reading the log never writes: any number of machines follow it, each with its own horizon.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from kb.models import IndexEvent


@dataclass(frozen=True)
class Event:
    id: int
    article_id: int
    position: int  # the transaction id on PostgreSQL, the event id on SQLite


@dataclass
class Pending:
    """What a reader at `horizon` has not applied yet, and the horizon it may reach once it has."""

    events: list[Event]
    horizon: int
    safe_horizon: int
    seen: list[Event] = field(default_factory=list)  # every event at or above the horizon

    def article_ids(self) -> list[int]:
        """The changed articles, each once, in the order their first pending event was committed."""
        return list(dict.fromkeys(event.article_id for event in self.events))

    def advance(self, applied: set[int]) -> tuple[int, frozenset[int]]:
        """The new (horizon, applied ids) once the events with ids in `applied` are in the index."""
        waiting = [event.position for event in self.seen if event.id not in applied]
        horizon = min([self.safe_horizon, *waiting])
        return horizon, frozenset(event.id for event in self.seen if event.id in applied and event.position >= horizon)


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def record(session: Session, article_ids: Iterable[int]) -> None:
    """Add an event for each changed article to the session's transaction."""
    txid = session.scalar(text("SELECT pg_current_xact_id()::text::bigint")) if is_postgres(session) else None
    session.add_all(IndexEvent(article_id=article_id, txid=txid) for article_id in dict.fromkeys(article_ids))


def start_horizon(session: Session) -> int:
    """The horizon of an index built from what this session can see now: nothing below it is missing."""
    if is_postgres(session):
        return _postgres_xmin(session)
    return (session.scalar(select(func.max(IndexEvent.id))) or 0) + 1


def pending(session: Session, horizon: int, applied: frozenset[int] = frozenset()) -> Pending:
    """The events at or above `horizon` that are not in `applied`."""
    if is_postgres(session):
        # xmin first: every transaction below it has ended before the events are read next.
        safe = max(horizon, _postgres_xmin(session))
        rows = session.execute(
            select(IndexEvent.id, IndexEvent.article_id, IndexEvent.txid)
            .where(IndexEvent.txid >= horizon)
            .order_by(IndexEvent.txid, IndexEvent.id)
        ).all()
    else:
        rows = session.execute(
            select(IndexEvent.id, IndexEvent.article_id, IndexEvent.id)
            .where(IndexEvent.id >= horizon)
            .order_by(IndexEvent.id)
        ).all()
        safe = max(horizon, rows[-1][0] + 1) if rows else horizon
    seen = [Event(*row) for row in rows]
    return Pending([e for e in seen if e.id not in applied], horizon, safe, seen)


def _postgres_xmin(session: Session) -> int:
    return int(session.scalar(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")))
