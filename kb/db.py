"""The database: engine and session per application, one session per request or command.

Domain modules take a `Session` and only `flush()`; the view or CLI command that owns the unit of
work commits. The engine and sessionmaker live in `app.extensions`, so several apps (tests) coexist.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, g
from sqlalchemy import DateTime, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from kb.migrations import Upgrade


class Base(DeclarativeBase):
    """Base class of every kb table."""


class UTCDateTime(TypeDecorator):
    """A timestamp that is always timezone-aware UTC, whatever the backend returns.

    SQLite hands back naive datetimes and PostgreSQL aware ones; normalising here keeps
    comparisons and formatting identical on both.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def init_app(app: Flask) -> None:
    """Create the engine and sessionmaker for `app` and close sessions at teardown."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["kb.engine"] = engine
    app.extensions["kb.sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def make_engine(url: str) -> Engine:
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets searches read while an import writes; with WAL, synchronous=NORMAL is still safe
    # against corruption and spares every search log an fsync. Foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def get_session() -> Session:
    """Return this request's (or command's) session, opening it on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["kb.sessionmaker"]()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def create_schema(app: Flask) -> Upgrade:
    """Bring the database to the newest schema revision (idempotent; see kb.migrations).

    This goes through the same migrations as an upgrade of a live instance, never `create_all`, so
    a new database and an upgraded one cannot drift apart, and every test exercises the migrations.
    """
    from kb.migrations import upgrade

    return upgrade(app.extensions["kb.engine"])
