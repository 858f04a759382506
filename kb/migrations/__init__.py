"""Schema migrations: bring a kb database to the schema this code expects, one process at a time.

The revisions are Alembic scripts in `versions/`; Alembic is configured here in code, from kb's own
engine, so an installed kb needs no alembic.ini. `upgrade()` is what `kb db upgrade`, every other
command (through `ensure_database`) and the tests call. It starts from one of three states:

- a database at some revision: apply the revisions after it;
- an empty database: apply every revision, from the baseline on;
- tables that `create_all` made before kb had migrations (no `alembic_version` table): record them
  as being at the baseline ("stamp"), which is what they are, then apply what follows.

Several processes may start at once (server workers, two machines on one PostgreSQL). Each first
looks without any lock and returns straight away when the database is already at the target, which
is the common case. Otherwise it takes a database-wide lock (see `kb.migrations.lock`), looks again,
because the process it waited for may have done the work, and migrates in one transaction.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine

from kb.migrations.lock import ForeignKeyViolation, migration_lock

__all__ = [
    "BASELINE",
    "MIGRATIONS_DIR",
    "SchemaError",
    "SchemaState",
    "Upgrade",
    "alembic_config",
    "describe_revision",
    "inspect_schema",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent
# The first revision, the schema as create_all made it; databases from before migrations are stamped here.
BASELINE = "0001"


class SchemaError(Exception):
    """The database cannot be brought to this kb's schema; the message says why and what to do."""


@dataclass(frozen=True)
class SchemaState:
    """Where a database stands: its revision (None when it has none) and this kb's newest one."""

    current: str | None
    head: str
    # Tables from before migrations: kb's tables but no revision recorded.
    is_legacy: bool

    @property
    def is_up_to_date(self) -> bool:
        return self.current == self.head


@dataclass(frozen=True)
class Upgrade:
    """What `upgrade` found and did."""

    before: str | None
    after: str
    # The database held create_all's tables and was recorded as being at the baseline first.
    stamped_legacy: bool

    @property
    def has_changed(self) -> bool:
        return self.stamped_legacy or self.before != self.after


def alembic_config(connection: Connection) -> Config:
    """An Alembic configuration that runs kb's revisions on `connection` (read by env.py).

    Alembic joins the transaction the connection is in and leaves the commit to the caller.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, target: str = "head") -> Upgrade:
    """Bring the database to `target` (by default this kb's newest revision) and report what was done."""
    target = _scripts().get_revision(target).revision
    with engine.connect() as connection:
        current = _current_revision(connection)
    if current == target:
        return Upgrade(before=current, after=target, stamped_legacy=False)
    try:
        with engine.connect() as connection, migration_lock(connection):
            return _upgrade_locked(connection, target)
    except ForeignKeyViolation as exc:
        raise SchemaError(f"{exc}; nothing was changed.") from exc


def _upgrade_locked(connection: Connection, target: str) -> Upgrade:
    # Read again under the lock: the process that held it before may have done the work already.
    before = _current_revision(connection)
    config = alembic_config(connection)
    stamped = before is None and _has_legacy_tables(connection)
    if stamped:
        command.stamp(config, BASELINE)
    if (BASELINE if stamped else before) != target:
        command.upgrade(config, target)
    return Upgrade(before=before, after=target, stamped_legacy=stamped)


def downgrade(engine: Engine, target: str) -> None:
    """Take the database back to revision `target` (kb restore, for a backup made by an older kb)."""
    if target not in _known_revisions():
        raise SchemaError(f"revision {target} is not one this kb knows")
    with engine.connect() as connection, migration_lock(connection):
        command.downgrade(alembic_config(connection), target)


def inspect_schema(engine: Engine) -> SchemaState:
    """Read the database's revision without changing anything."""
    with engine.connect() as connection:
        current = _current_revision(connection)
        is_legacy = current is None and _has_legacy_tables(connection)
    return SchemaState(current=current, head=_scripts().get_revision("head").revision, is_legacy=is_legacy)


def describe_revision(revision: str) -> str:
    """The revision's id and the first line of its docstring, e.g. "0001 (Baseline: ...)"."""
    summary = _scripts().get_revision(revision).doc.partition("\n")[0].rstrip(".")
    return f"{revision} ({summary})" if summary else revision


def _current_revision(connection: Connection) -> str | None:
    current = MigrationContext.configure(connection).get_current_revision()
    if current is not None and current not in _known_revisions():
        raise SchemaError(
            f"The database is at schema revision {current}, which this version of kb does not know: "
            "it was probably upgraded by a newer kb. Run that version, or restore a backup."
        )
    return current


def _has_legacy_tables(connection: Connection) -> bool:
    """Whether the database holds the tables create_all made before migrations (and refuse half a set)."""
    expected = set(_scripts().get_revision(BASELINE).module.TABLES)
    found = expected & set(inspect(connection).get_table_names())
    if found and found != expected:
        missing = ", ".join(sorted(expected - found))
        raise SchemaError(
            f"The database has some of kb's tables but not {missing}, and no schema revision, so it was "
            "not made by kb; kb will not guess which revision it is at."
        )
    return bool(found)


@functools.cache
def _known_revisions() -> frozenset[str]:
    return frozenset(script.revision for script in _scripts().walk_revisions())


@functools.cache
def _scripts() -> ScriptDirectory:
    """The revisions, read once per process: they do not change while kb runs."""
    return ScriptDirectory(str(MIGRATIONS_DIR))
