"""The database behind each test folder: a SQLite file inside it, or a PostgreSQL database of its own.

Every app, CLI run and `kb serve` that a test starts on a folder gets its URL from
`database_url(folder)`, so one folder means one database on either backend. Without
`KB_TEST_DATABASE_URL` that is `<folder>/kb.db`, exactly as a real instance would use it. With it
(a PostgreSQL server URL, e.g. `postgresql+psycopg://kb@127.0.0.1:5433/postgres`), each folder gets
a fresh database on that server, created on first use. `dropping_new_databases()` drops them
again, so a long run does not pile up databases; `copy_database()` clones one through
`CREATE DATABASE ... TEMPLATE`, PostgreSQL's cheap equivalent of copying the SQLite file.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

SERVER_URL = os.environ.get("KB_TEST_DATABASE_URL", "")
if SERVER_URL and make_url(SERVER_URL).get_backend_name() != "postgresql":
    raise RuntimeError(f"KB_TEST_DATABASE_URL must name a PostgreSQL server, not {SERVER_URL!r}")

BACKEND = "postgresql" if SERVER_URL else "sqlite"

# Databases made in this run, oldest first; the newest belong to the innermost scope.
_made: list[str] = []
_admin: Engine | None = None


def database_url(folder: Path) -> str:
    """Return the SQLAlchemy URL of `folder`'s database, creating it on PostgreSQL if needed."""
    if not SERVER_URL:
        return f"sqlite:///{folder / 'kb.db'}"
    name = _name(folder)
    if name not in _made:
        _create(name)
    return make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False)


def copy_database(source: Path, target: Path) -> None:
    """Give `target` a copy of `source`'s database (PostgreSQL; a SQLite file is copied with the folder).

    PostgreSQL copies a template only while nobody is connected to it, so the engines of apps
    built on `source` must have been disposed.
    """
    if SERVER_URL:
        _create(_name(target), template=_name(source))


@contextmanager
def dropping_new_databases() -> Iterator[None]:
    """Drop, on leaving the block, the PostgreSQL databases made inside it."""
    before = len(_made)
    try:
        yield
    finally:
        for name in reversed(_made[before:]):
            _execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        del _made[before:]


def _name(folder: Path) -> str:
    # Readable for whoever looks at the server, unique through the hash of the whole path.
    readable = re.sub(r"[^a-z0-9]+", "_", folder.name.lower())[:30]
    digest = hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:16]
    return f"kb_test_{readable}_{digest}"


def _create(name: str, template: str | None = None) -> None:
    # A folder path can come back in a later run (pytest reuses numbered temp folders), and so
    # can a database a killed run never dropped: replace it, a test must start fresh.
    _execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    if name not in _made:
        _made.append(name)


def _execute(statement: str) -> None:
    global _admin
    if _admin is None:
        # CREATE/DROP DATABASE cannot run inside a transaction; NullPool keeps no idle session open.
        _admin = create_engine(SERVER_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with _admin.connect() as connection:
        connection.execute(text(statement))
