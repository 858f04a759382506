"""Keeping an instance healthy: `kb doctor`, `kb backup`, `kb restore` and `kb prune`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from kb import backup
from kb import search as kb_search
from kb.cli.instance import ensure_database, progress
from kb.db import get_session
from kb.loop import retention
from kb.search import doctor, indexer
from kb.search.worker import LeaderLock


@click.command("doctor")
@click.option("--fix", is_flag=True, help="Repair what is found: rewrite, remove or rebuild as needed.")
@with_appcontext
def doctor_command(fix: bool) -> None:
    """Compare the search index with the database: missing, extra and stale documents, pending
    changes, set-aside articles and damaged segments. Exits non-zero while something is wrong."""
    ensure_database()
    index_dir = kb_search.index_dir()
    session = get_session()
    click.echo(f"Database: {current_app.config['DATABASE_URL']}")
    click.echo(f"Index: {index_dir}")
    found = doctor.diagnose(session, index_dir)
    for line in found.lines():
        click.echo(line)
    if found.healthy:
        click.echo("All good: the index matches the database.")
        return
    if not fix:
        raise click.ClickException("The index differs from the database. Repair it with: kb doctor --fix")
    try:
        click.echo(doctor.repair(session, index_dir, found))
    except indexer.IndexBusy as exc:
        raise click.ClickException(f"{exc} Run kb doctor --fix again in a minute.") from None
    session.commit()
    after = doctor.diagnose(session, index_dir)
    if not after.healthy:
        for line in after.lines():
            click.echo(line)
        raise click.ClickException("Some problems remain (listed above).")
    click.echo("Repaired: the index matches the database.")


@click.command("prune")
@click.option("--search-days", type=click.IntRange(1), help="Keep searches this many days (KB_SEARCH_RETENTION_DAYS).")
@click.option("--call-days", type=click.IntRange(1), help="Keep call records this many days (KB_CALL_RETENTION_DAYS).")
@with_appcontext
def prune_command(search_days: int | None, call_days: int | None) -> None:
    """Delete searches and call records older than their retention, and gaps nothing points at.

    A serving kb does this once a day by itself."""
    ensure_database()
    search_days = search_days or int(current_app.config["SEARCH_RETENTION_DAYS"])
    call_days = call_days or int(current_app.config["CALL_RETENTION_DAYS"])
    click.echo(f"Keeping searches {search_days} days and call records {call_days} days.")

    def report(done: retention.Pruned) -> None:
        click.echo(f"  deleted so far: {done.searches:,} searches, {done.calls:,} calls, {done.gaps:,} gaps")

    done = retention.prune(get_session(), search_days=search_days, call_days=call_days, on_batch=report)
    click.echo(f"Pruned {done.searches:,} searches, {done.calls:,} call records and {done.gaps:,} unused gaps.")


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Write every database row, the attachments and the instance's secret key to PATH (.tar.gz).

    Safe while kb serves: the rows are read from one consistent snapshot. The search index is
    not included; `kb restore` rebuilds it.
    """
    ensure_database()
    session = get_session()
    files = [(p, p.name) for p in _instance_files() if p.exists()]
    try:
        with progress(backup.count_rows(session), "Backing up") as advance:
            manifest = backup.write_backup(
                session, path, instance_files=files, schema_revision=_schema_revision(), progress=advance
            )
    except OSError as exc:
        raise click.ClickException(f"{path}: cannot write the backup ({exc.strerror or exc}).") from None
    rows = sum(manifest.tables.values())
    carried = f" and {', '.join(manifest.files)}" if manifest.files else ""
    click.echo(f"Backed up {rows} rows from {len(manifest.tables)} tables{carried} to {path}.")
    click.echo("It holds password hashes and the secret key: store it as carefully as the database.")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Delete everything in the database before restoring.")
@with_appcontext
def restore_command(path: Path, replace: bool) -> None:
    """Restore a backup made by `kb backup` into this instance, then rebuild the search index.

    Stop `kb serve` first. The database must be empty, unless --replace is given.
    """
    ensure_database()
    try:
        manifest = backup.read_manifest(path)
    except backup.BackupError as exc:
        raise click.ClickException(str(exc)) from None
    index_dir = kb_search.index_dir()
    writer = LeaderLock(index_dir / indexer.WRITER_LOCK_FILE)
    if not writer.try_acquire():
        raise click.ClickException(
            f"kb is running on this instance (process {writer.holder() or '?'}): stop it before restoring."
        )
    try:
        _restore(path, manifest, replace, index_dir)
    finally:
        writer.release()


def _restore(path: Path, manifest: backup.Manifest, replace: bool, index_dir: Path) -> None:
    """Restore rows at the backup's schema revision, then upgrade: a backup outlives kb upgrades."""
    from kb import migrations

    engine = current_app.extensions["kb.engine"]
    session = get_session()
    try:
        if backup.count_rows(session) and not replace:
            raise backup.BackupError(
                "the database is not empty; restore with --replace to delete everything in it first"
            )
        current = migrations.inspect_schema(engine).current
        if manifest.schema_revision != current:
            session.close()
            backup.clear(engine)
            migrations.downgrade(engine, manifest.schema_revision)
        with progress(sum(manifest.tables.values()), "Restoring") as advance:
            backup.restore_backup(
                session, path, instance_dir=Path(current_app.instance_path), replace=replace, progress=advance
            )
        session.commit()
    except (backup.BackupError, migrations.SchemaError) as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from None
    finally:
        session.rollback()  # whatever went wrong, the upgrade must not wait on this session's write lock
        if migrations.inspect_schema(engine).current != migrations.inspect_schema(engine).head:
            migrations.upgrade(engine)
    with progress(manifest.tables.get("articles", 0), "Indexing") as advance:
        count = len(indexer.rebuild(session, index_dir, progress=advance))
    click.echo(f"Restored {sum(manifest.tables.values())} rows from {path} (taken {manifest.created_at}).")
    if manifest.schema_revision != current:
        click.echo(f"It was taken at schema revision {manifest.schema_revision}; the database is upgraded since.")
    click.echo(f"Rebuilt the search index: {count} articles.")
    if "secret_key" in manifest.files:
        click.echo("The instance's secret key was restored: start kb again for it to take effect.")


def _instance_files() -> list[Path]:
    instance = Path(current_app.instance_path)
    return [instance / "attachments", instance / "secret_key"]


def _schema_revision() -> str | None:
    """The database's schema revision (kb.migrations): a backup restores only at the same one."""
    from kb.migrations import inspect_schema

    return inspect_schema(current_app.extensions["kb.engine"]).current
