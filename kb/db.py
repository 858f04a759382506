"""The database: engine and session per application, one session per request or command.

Domain modules take a `Session` and only `flush()`; the view or CLI command that owns the unit of
work commits. The engine and sessionmaker live in `app.extensions`, so several apps (tests) coexist.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, g
from sqlalchemy import DateTime, create_engine, event, make_url
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


# Connections beyond the request threads: the index writer, golden re-checks, the search-log flush.
BACKGROUND_CONNECTIONS = 3


def init_app(app: Flask) -> None:
    """Create the engine and sessionmaker for `app` and close sessions at teardown."""
    configure_engine(app)
    app.teardown_appcontext(_close_session)


def configure_engine(app: Flask) -> None:
    """(Re)create the engine, with a pool as large as the threads that may use it at once.

    A request thread that finds the pool empty would wait for another request to finish: the
    pool holds one connection per server thread plus the background threads, so none waits.
    """
    previous = app.extensions.get("kb.engine")
    pool_size = int(app.config["THREADS"]) + BACKGROUND_CONNECTIONS
    engine = make_engine(app.config["DATABASE_URL"], pool_size=pool_size)
    app.extensions["kb.engine"] = engine
    app.extensions["kb.sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False)
    if previous is not None:
        previous.dispose()


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    options: dict[str, Any] = {"pool_pre_ping": True}
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database not in (None, "", ":memory:"):
        options.update(pool_size=pool_size, max_overflow=pool_size, pool_timeout=10)
    engine = create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if database and database != ":memory:" and not database.startswith("file:"):
            _create_private_file(Path(database))
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def _create_private_file(path: Path) -> None:
    """Create the SQLite file readable by its owner only, before SQLite creates it from the umask.

    It holds every article, draft and password hash. SQLite gives the -wal and -shm files it
    adds beside it the database file's permissions, so those are private too. A file that
    already exists keeps the permissions its operator gave it.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:  # it exists, or cannot be created: SQLite says so when it connects
        pass


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets searches read while an import writes; with WAL, synchronous=NORMAL is still safe
    # against corruption and spares every search log an fsync. Foreign keys are off by default.
    # busy_timeout first: switching a new database to WAL needs a lock another process may hold.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # kb emits BEGIN itself (below): the driver's own transaction handling cannot start a
    # write transaction up front, nor keep SAVEPOINTs working.
    dbapi_connection.isolation_level = None


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE" if connection.get_execution_options().get("kb_write") else "BEGIN")


def begin_write(session: Session) -> None:
    """Start the session's transaction as a write transaction, before it writes anything.

    On SQLite a transaction that has read and then writes fails at once ("database is locked")
    if another connection wrote in between; one that starts with BEGIN IMMEDIATE waits for the
    write lock instead (busy_timeout). So a unit of work that will write ends its read snapshot
    (loaded objects stay usable) and begins again as a writer. PostgreSQL locks rows, not the
    database: nothing to do there.
    """
    if session.get_bind().dialect.name != "sqlite":
        return
    if session.in_transaction():
        if session.connection().get_execution_options().get("kb_write"):
            return
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("begin_write() must come before the unit of work changes anything")
        session.commit()  # nothing pending: this only ends the read snapshot
    session.connection(execution_options={"kb_write": True})


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
