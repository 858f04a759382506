"""Setting an instance up and serving it: `kb init`, `kb serve`, and what other commands share."""

from __future__ import annotations

import os
import sys
import time
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
from kb.search import indexer
from kb.search.worker import LeaderLock

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


def ensure_index(*, wait_for_writer: bool = False, catch_up: bool = True) -> None:
    """Bring the search index up to date: as its writer, or through the running kb that writes it.

    When a `kb serve` of this index is running, it is the index's only writer: this command
    leaves the work to it and, with `wait_for_writer`, shows its progress until it is done.
    Without `catch_up` only a missing or outdated index is built here: `kb serve` leaves pending
    changes to its index writer, so it starts listening whatever the change log holds.
    A damaged index raises ClickException with the command that repairs it.
    """
    index_dir = kb_search.index_dir()
    lock = LeaderLock(index_dir / indexer.WRITER_LOCK_FILE)
    try:
        if catch_up or indexer.needs_rebuild(index_dir):
            acquired = lock.try_acquire() or (wait_for_writer and _wait_for_writer(index_dir, lock))
        else:
            acquired = False
        if acquired:
            try:
                _apply_as_writer(index_dir)
            finally:
                lock.release()
        problem = indexer.check(index_dir)
        if problem:  # says what is wrong and which command repairs it
            raise click.ClickException(problem)
    except kb_search.IndexBusy as exc:
        click.echo(f"note: {exc}", err=True)
    except Exception as exc:
        if isinstance(exc, kb_search.IndexDamaged) or indexer.is_index_error(exc):
            message = (
                str(exc) if isinstance(exc, kb_search.IndexDamaged) else str(indexer.IndexDamaged(index_dir, repr(exc)))
            )
            raise click.ClickException(message) from None
        raise


def _apply_as_writer(index_dir: Path) -> None:
    session = get_session()
    todo = indexer.pending_articles(session, index_dir) or (article_count() if indexer.needs_rebuild(index_dir) else 0)
    if not todo and not indexer.needs_rebuild(index_dir):
        return
    with progress(todo, "Indexing") as advance:
        while True:
            applied = kb_search.apply_pending(session, progress=advance, lock_timeout=indexer.REBUILD_LOCK_TIMEOUT)
            session.commit()  # end the read snapshot: the next pass sees what others committed meanwhile
            if not applied.remaining:
                break
    for slug, reason in kb_search.set_aside(session).items():
        click.echo(f"warning: {slug} could not be indexed ({reason}); see kb doctor", err=True)


def _wait_for_writer(index_dir: Path, lock: LeaderLock) -> bool:
    """Show the running kb applying the changes committed so far, until they are searchable.

    Only those: on a live instance people keep saving, so "nothing pending" may never come.
    Returns True when the running kb stopped before it was done: this command then holds the
    writer's lock and finishes the work itself.
    """
    session = get_session()
    while (waiting := indexer.pending_events(session, index_dir)) is None:  # it is rebuilding the index
        if lock.try_acquire():
            return _taking_over()
        time.sleep(0.5)
        session.commit()
    articles = set(waiting.values())
    if not articles:
        return False
    click.echo(
        f"The running kb (process {lock.holder() or '?'}) is indexing {len(articles)} changed articles.", err=True
    )
    with progress(len(articles), "Indexing") as advance:
        done = 0
        while waiting:
            if lock.try_acquire():
                break
            time.sleep(0.5)
            session.commit()  # end the read snapshot: see what the writer applied meanwhile
            pending = indexer.pending_events(session, index_dir) or {}
            waiting = {event: article for event, article in waiting.items() if event in pending}
            now_done = len(articles - set(waiting.values()))
            advance(now_done - done)
            done = now_done
    return bool(waiting) and _taking_over()  # left with work still waiting only when the lock became ours


def _taking_over() -> bool:
    click.echo("The running kb stopped writing the index; this command finishes the work.", err=True)
    return True


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


MAX_THREADS = 64


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port (0 picks a free one).")
@click.option(
    "--threads",
    default=4,
    show_default=True,
    type=click.IntRange(1, MAX_THREADS),
    help="Request threads per process; each holds a database connection while it works.",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 32),
    help="Processes (gunicorn) for more than one core; 1 serves with waitress in this process.",
)
@with_appcontext
def serve_command(host: str, port: int, threads: int, workers: int) -> None:
    """Serve kb; the first start on an empty instance imports the starter articles."""
    from kb import db, server

    ensure_database()
    first_start = get_session().scalar(select(User.id).limit(1)) is None
    created = ensure_admin()
    if first_start and get_session().scalar(select(Article.id).limit(1)) is None:
        _import_starter_articles()
    try:
        ensure_index(catch_up=False)
    except click.ClickException as exc:  # reading articles still works; search pages say how to fix
        click.echo(f"warning: {exc.message}", err=True)
    _announce_admin(created)
    app = current_app._get_current_object()

    def announce(address: str) -> None:
        if created is None:
            click.echo("Log in with your kb account. Forgot the admin password? Run: kb user passwd admin")
        else:
            click.echo(f"Log in as '{created[0]}'. Press Ctrl+C to stop.")
        click.echo(f"kb is running at http://{address}/")
        sys.stdout.flush()

    if workers > 1:
        get_session().close()
        app.extensions["kb.engine"].dispose()  # the workers open their own connections
        server.serve_gunicorn(host=host, port=port, workers=workers, threads=threads, announce=announce)
    else:
        app.config["THREADS"] = threads
        db.configure_engine(app)
        kb_search.init_app(app)
        server.serve_waitress(app, host=host, port=port, threads=threads, announce=announce)
    click.echo("kb stopped.")


def _import_starter_articles() -> None:
    folder = Path(current_app.config["ARTICLES_DIR"])
    if not folder.is_dir():
        click.echo(f"No starter articles folder at {folder}; starting empty.")
        return
    from kb.cli.content import print_problems, run_import

    report = run_import(folder, Status.PUBLISHED, wait_for_writer=False)
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


@click.command("worker")
@with_appcontext
def worker_command() -> None:
    """Apply saved changes to the search index and re-check golden queries, until stopped.

    `kb serve --workers N` runs one beside its request workers; run it yourself when you serve
    kb with another WSGI server. Any number may run: one writes, the others stand by.
    """
    import signal
    import threading

    from kb import background

    ensure_database()
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    app = current_app._get_current_object()
    background.start(app)
    parent = os.getppid()
    while not stopping.wait(1.0):
        if os.getppid() != parent:  # the kb serve that started this one is gone
            break
    background.stop(app)
