"""Keeping an instance healthy: `kb doctor` (and the backup commands beside it)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from kb import search as kb_search
from kb.cli.instance import ensure_database
from kb.db import get_session
from kb.search import doctor, indexer


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
