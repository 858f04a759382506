"""Setting an instance up and serving it: `kb init`, `kb serve`, and what other commands share."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from kb import auth
from kb import search as kb_search
from kb.cli.database import describe_upgrade, upgrade_database
from kb.db import get_session
from kb.models import Article, Role, Status, User

# --- instance setup -----------------------------------------------------------------------------


def ensure_database() -> None:
    result = upgrade_database()
    if result.has_changed:  # on stderr: a command's own output (JSON, a token) stays clean
        click.echo(describe_upgrade(result), err=True)


def ensure_admin() -> tuple[str, str | None] | None:
    """Create the first admin if there are no users; return (username, password-if-generated)."""
    session = get_session()
    if session.scalar(select(User.id).limit(1)) is not None:
        return None
    username = current_app.config["ADMIN_USERNAME"]
    configured = current_app.config.get("ADMIN_PASSWORD")
    password = str(configured) if configured else auth.generate_password()
    try:
        auth.create_user(session, username, Role.ADMIN, password)
    except auth.AuthError as exc:
        raise click.ClickException(f"KB_ADMIN_PASSWORD: {exc}") from None
    session.commit()
    return username, None if configured else password


def ensure_index() -> None:
    """Build a missing index; apply pending changes. A damaged index is reported, not repaired."""
    session = get_session()
    try:
        if kb_search.is_behind(session):
            with progress(article_count(), "Indexing") as advance:
                kb_search.sync(session, progress=advance)
    except kb_search.IndexDamaged as exc:
        raise click.ClickException(str(exc)) from None


def _announce_admin(created: tuple[str, str | None] | None) -> None:
    if created is None:
        return
    username, password = created
    if password is None:
        click.echo(f"Created admin account '{username}' with the password from KB_ADMIN_PASSWORD.")
    else:
        click.echo(f"Created admin account '{username}' with password: {password}")
        click.echo("  (shown only this once; change it with: kb user passwd " + username + ")")


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create the database, the first admin and the search index (safe to run again)."""
    ensure_database()
    _announce_admin(ensure_admin())
    ensure_index()
    click.echo(f"Database: {current_app.config['DATABASE_URL']}")
    click.echo(f"Search index: {current_app.config['INDEX_DIR']}")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port (0 picks a free one).")
@click.option("--threads", default=4, show_default=True, type=int, help="Worker threads.")
@with_appcontext
def serve_command(host: str, port: int, threads: int) -> None:
    """Serve kb with waitress; the first start on an empty instance imports the starter articles."""
    from waitress import create_server

    ensure_database()
    first_start = get_session().scalar(select(User.id).limit(1)) is None
    created = ensure_admin()
    if first_start and get_session().scalar(select(Article.id).limit(1)) is None:
        _import_starter_articles()
    try:
        ensure_index()
    except click.ClickException as exc:  # reading articles still works; search pages say how to fix
        click.echo(f"warning: {exc.message}", err=True)
    app = current_app._get_current_object()
    server = create_server(app, host=host, port=port, threads=threads)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    _announce_admin(created)
    if created is None:
        click.echo("Log in with your kb account. Forgot the admin password? Run: kb user passwd admin")
    else:
        click.echo(f"Log in as '{created[0]}'. Press Ctrl+C to stop.")
    click.echo(f"kb is running at http://{shown_host}:{server.effective_port}/")
    sys.stdout.flush()
    try:
        server.run()
    except KeyboardInterrupt:
        click.echo("kb stopped.")


def _import_starter_articles() -> None:
    folder = Path(current_app.config["ARTICLES_DIR"])
    if not folder.is_dir():
        click.echo(f"No starter articles folder at {folder}; starting empty.")
        return
    from kb.cli.content import print_problems, run_import

    report = run_import(folder, Status.PUBLISHED)
    click.echo(f"Imported {len(report.created)} starter articles from {folder}.")
    print_problems(report)


# --- shared by the commands ---------------------------------------------------------------------


def article_count() -> int:
    return get_session().scalar(select(func.count(Article.id))) or 0


class progress:
    """A click progress bar as a context manager that yields its `advance(n)` function."""

    def __init__(self, length: int, label: str):
        self._bar = click.progressbar(length=max(length, 1), label=label, file=sys.stderr)

    def __enter__(self):
        bar = self._bar.__enter__()
        return bar.update

    def __exit__(self, *exc) -> None:
        self._bar.__exit__(*exc)
