"""Backups: every database row, the attachments and the instance's secret key, in one file.

The format is the same whatever the database: one JSON line per row, per table, in a gzipped tar
with a manifest. So a backup taken on SQLite restores into PostgreSQL and back, and reading it
needs nothing but Python. The search index is not in it: it is rebuilt from the rows on restore.

All rows are read in one transaction (a snapshot), so a backup taken while people work is
consistent: an article and its revisions are always from the same moment.

A backup holds password and token hashes and the secret key that signs sessions: keep it as
carefully as the database itself (the file is created readable by its owner only).
"""

from __future__ import annotations

import enum
import io
import json
import os
import tarfile
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator

from sqlalchemy import DateTime, Enum, Integer, Table, func, insert, inspect, select, text
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from kb.db import Base, begin_write

FORMAT = "kb-backup"
FORMAT_VERSION = 1
ROWS_PER_INSERT = 500

Progress = Callable[[int], None]


class BackupError(ValueError):
    """A backup that cannot be written or restored, with the reason."""


@dataclass
class Manifest:
    created_at: str
    schema_revision: str | None
    tables: dict[str, int] = field(default_factory=dict)  # table -> rows
    files: list[str] = field(default_factory=list)  # instance files carried (attachments, secret key)

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "version": FORMAT_VERSION, **self.__dict__}, indent=2)


def tables() -> list[Table]:
    """Every kb table, parents before children (the order rows can be inserted in)."""
    from kb import models  # noqa: F401  (registers the tables)

    return list(Base.metadata.sorted_tables)


def existing_tables(session: Session) -> list[Table]:
    """kb's tables that exist in the database now: at an older revision, not all of them do."""
    present = set(inspect(session.connection()).get_table_names())
    return [table for table in tables() if table.name in present]


def count_rows(session: Session) -> int:
    return sum(session.scalar(select(func.count()).select_from(t)) or 0 for t in existing_tables(session))


# --- writing -------------------------------------------------------------------------------------


def write_backup(
    session: Session,
    path: Path,
    *,
    instance_files: list[tuple[Path, str]],
    schema_revision: str | None,
    progress: Progress | None = None,
) -> Manifest:
    """Write every row and the given instance files (path on disk, name in the backup) to `path`."""
    _snapshot(session)
    manifest = Manifest(created_at=datetime.now().astimezone().isoformat(), schema_revision=schema_revision)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
            for table in tables():
                manifest.tables[table.name] = _add_table(session, archive, table, progress)
            for source, name in instance_files:
                archive.add(source, arcname=f"instance/{name}")
                manifest.files.append(name)
            _add_bytes(archive, "manifest.json", manifest.to_json().encode())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return manifest


def _snapshot(session: Session) -> None:
    """Read every table from one consistent snapshot of the database."""
    session.rollback()
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    # SQLite (WAL): one read transaction sees one snapshot until it ends.


def _add_table(session: Session, archive: tarfile.TarFile, table: Table, progress: Progress | None) -> int:
    with tempfile.TemporaryFile() as rows:
        count = 0
        for row in session.execute(select(table).order_by(*table.primary_key.columns)).yield_per(ROWS_PER_INSERT):
            rows.write(json.dumps(_encode_row(table, row._mapping), ensure_ascii=False).encode() + b"\n")
            count += 1
            if progress:
                progress(1)
        rows.seek(0)
        info = tarfile.TarInfo(f"tables/{table.name}.jsonl")
        info.size = rows.seek(0, os.SEEK_END)
        rows.seek(0)
        archive.addfile(info, rows)
    return count


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def _encode_row(table: Table, row: Any) -> dict[str, Any]:
    encoded = {}
    for column in table.columns:
        value = row[column.name]
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, enum.Enum):
            value = value.value
        encoded[column.name] = value
    return encoded


# --- reading -------------------------------------------------------------------------------------


def read_manifest(path: Path) -> Manifest:
    with _open(path) as archive:
        data = _manifest_data(archive, path)
    return Manifest(data["created_at"], data.get("schema_revision"), data["tables"], data.get("files", []))


def clear(engine: Engine) -> None:
    """Delete every row (before taking the schema back to an older backup's revision)."""
    with Session(engine) as session:
        begin_write(session)
        for table in reversed(existing_tables(session)):
            session.execute(table.delete())
        session.commit()


def restore_backup(
    session: Session,
    path: Path,
    *,
    instance_dir: Path,
    replace: bool,
    progress: Progress | None = None,
) -> Manifest:
    """Put the backup's rows into the (empty, or emptied with `replace`) database and its files
    into `instance_dir`. One transaction: a restore that fails half-way leaves the database as it was."""
    with _open(path) as archive:
        manifest = read_manifest(path)
        begin_write(session)
        if count_rows(session) and not replace:
            raise BackupError("the database is not empty; restore with --replace to delete everything in it first")
        for table in reversed(existing_tables(session)):
            session.execute(table.delete())
        present = _columns_now(session)
        for table in tables():
            if table.name in present:
                _restore_table(session, archive, table, present[table.name], progress)
        _reset_sequences(session)
        session.flush()
        _restore_files(archive, instance_dir)
    return manifest


def _columns_now(session: Session) -> dict[str, set[str]]:
    """The columns each table has in the database now: fewer than the models' at an older revision."""
    inspector = inspect(session.connection())
    return {name: {column["name"] for column in inspector.get_columns(name)} for name in inspector.get_table_names()}


def _open(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, mode="r:gz")
    except (OSError, tarfile.TarError) as exc:
        raise BackupError(f"{path}: not a kb backup ({exc})") from None


def _manifest_data(archive: tarfile.TarFile, path: Path) -> dict[str, Any]:
    try:
        data = json.loads(archive.extractfile("manifest.json").read())
    except (KeyError, AttributeError, ValueError):
        raise BackupError(f"{path}: no manifest.json: not a kb backup") from None
    if data.get("format") != FORMAT or data.get("version") != FORMAT_VERSION:
        raise BackupError(f"{path}: backup format {data.get('format')} {data.get('version')} is not one kb reads")
    return data


def _restore_table(
    session: Session, archive: tarfile.TarFile, table: Table, columns: set[str], progress: Progress | None
) -> None:
    name = f"tables/{table.name}.jsonl"
    if name not in archive.getnames():
        return  # a table added after the backup was taken: nothing to restore into it
    target = sql_table(table.name, *(sql_column(c.name, c.type) for c in table.columns if c.name in columns))
    for batch in _batches(_decode_rows(table, archive.extractfile(name))):
        session.execute(insert(target), [{k: v for k, v in row.items() if k in columns} for row in batch])
        if progress:
            progress(len(batch))


def _decode_rows(table: Table, lines: io.BufferedReader) -> Iterator[dict[str, Any]]:
    known = {column.name: column for column in table.columns}
    for number, line in enumerate(lines, start=1):
        try:
            raw = json.loads(line)
        except ValueError:
            raise BackupError(f"tables/{table.name}.jsonl:{number}: not a JSON row") from None
        yield {name: _decode(known[name], value) for name, value in raw.items() if name in known}


def _decode(column: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column.type, DateTime) or isinstance(getattr(column.type, "impl", None), DateTime):
        return datetime.fromisoformat(value)
    if isinstance(column.type, Enum) and column.type.enum_class is not None:
        return column.type.enum_class(value)
    return value  # JSON columns, numbers, text and booleans are stored as JSON gives them


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= ROWS_PER_INSERT:
            yield batch
            batch = []
    if batch:
        yield batch


def _reset_sequences(session: Session) -> None:
    """PostgreSQL hands out ids from sequences: move each past the restored rows."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in existing_tables(session):
        key = list(table.primary_key.columns)
        if len(key) == 1 and isinstance(key[0].type, Integer):
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{key[0].name}'), "
                    f"COALESCE((SELECT MAX({key[0].name}) FROM {table.name}), 0) + 1, false)"
                )
            )


def _restore_files(archive: tarfile.TarFile, instance_dir: Path) -> None:
    """Extract the instance files, only as regular files and folders inside `instance_dir`."""
    instance_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    root = instance_dir.resolve()
    for member in archive.getmembers():
        if not member.name.startswith("instance/") or not (member.isfile() or member.isdir()):
            continue  # links and devices are never restored
        target = (instance_dir / member.name.removeprefix("instance/")).resolve()
        if target != root and root not in target.parents:
            raise BackupError(f"{member.name}: points outside the instance folder")
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True, mode=0o700)
            continue
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(archive.extractfile(member).read())
