"""The lock that lets only one process at a time migrate a database, per backend.

Whoever holds it runs every pending revision in one transaction and commits at the end, so the
processes that waited find the schema finished, never half built. Both locks are taken on the
database itself, so they also hold between machines sharing a PostgreSQL server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Connection

# Any constant works as long as every kb process uses the same one ("kbmigrat" in ASCII).
POSTGRESQL_LOCK_KEY = 0x6B62_6D69_6772_6174
# How long a second SQLite starter waits for the first to finish migrating: long enough for a
# table rebuild on a big instance, where the connection's usual 10 s would fail it half way.
SQLITE_WAIT_MS = 10 * 60 * 1000


class ForeignKeyViolation(Exception):
    """Rows point at rows that do not exist once the revisions ran; nothing was committed."""


@contextmanager
def migration_lock(connection: Connection) -> Iterator[None]:
    """Hold the migration lock and an open transaction on `connection`; commit when the body succeeds."""
    if connection.dialect.name == "postgresql":
        lock = _postgresql_advisory_lock
    elif connection.dialect.name == "sqlite":
        lock = _sqlite_immediate_transaction
    else:  # kb supports SQLite and PostgreSQL; elsewhere upgrades are transactional but not serialized
        lock = _transaction
    with lock(connection):
        yield


@contextmanager
def _postgresql_advisory_lock(connection: Connection) -> Iterator[None]:
    # A session-level lock, not pg_advisory_xact_lock: it stays held if a future revision has to
    # commit part way (CREATE INDEX CONCURRENTLY runs outside a transaction).
    connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": POSTGRESQL_LOCK_KEY})
    connection.commit()
    try:
        with connection.begin():
            yield
    finally:
        if not connection.invalidated:  # a lost connection has released the lock with its session
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": POSTGRESQL_LOCK_KEY})
            connection.commit()


@contextmanager
def _sqlite_immediate_transaction(connection: Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE takes SQLite's write lock up front, so a second migrator waits at BEGIN.

    kb's engine (kb.db.make_engine) emits BEGIN itself, and BEGIN IMMEDIATE for a connection
    marked `kb_write`, so every CREATE and ALTER of the upgrade runs inside that one transaction.
    Foreign keys are switched off meanwhile (SQLite ignores that pragma inside a transaction,
    hence on the driver connection, before BEGIN): batch mode rebuilds a table by copying and
    dropping it, and with foreign keys on, dropping `users` would cascade into every table that
    references it. They are checked before the commit instead; only broken references the
    revisions made count, because refusing to start over an old orphan row would lock an instance
    out for something no upgrade caused.
    """
    saved = {name: _pragma(connection, name) for name in ("foreign_keys", "busy_timeout")}
    _pragma(connection, "foreign_keys", 0)
    _pragma(connection, "busy_timeout", SQLITE_WAIT_MS)
    try:
        connection.execution_options(kb_write=True)
        transaction = connection.begin()
        try:
            broken_before = _broken_references(connection)
            yield
            _refuse_new_broken_references(connection, broken_before)
        except BaseException:
            transaction.rollback()
            raise
        transaction.commit()
    finally:
        connection.execution_options(kb_write=False)
        for name, value in saved.items():
            _pragma(connection, name, value)  # the connection goes back to the pool as it came


def _pragma(connection: Connection, name: str, value: object = None) -> object:
    """Read or set a PRAGMA on the driver connection itself, outside any transaction."""
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA {name}" if value is None else f"PRAGMA {name}={int(value)}")
        row = cursor.fetchone()
        return row[0] if row else None
    finally:
        cursor.close()


def _broken_references(connection: Connection) -> set[tuple]:
    """(table, rowid, referenced table) of every row whose foreign key points nowhere."""
    return {tuple(row[:3]) for row in connection.exec_driver_sql("PRAGMA foreign_key_check")}


def _refuse_new_broken_references(connection: Connection, before: set[tuple]) -> None:
    new = _broken_references(connection) - before
    if new:
        tables = ", ".join(sorted({row[0] for row in new}))
        raise ForeignKeyViolation(f"After the migration, {len(new)} rows point at rows that do not exist ({tables})")


@contextmanager
def _transaction(connection: Connection) -> Iterator[None]:
    with connection.begin():
        yield
