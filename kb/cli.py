"""The `kb` command: a thin click layer over the same services the web app uses.

Every command that can fail raises `click.ClickException` with a message saying what is wrong,
so the exit status is non-zero and no traceback reaches the terminal.
"""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, routes_command, shell_command, with_appcontext
from sqlalchemy import func, select

from kb import articlefiles, auth, golden, vocabulary
from kb import search as kb_search
from kb.datafiles import DataFileError
from kb.db import create_schema, get_session
from kb.models import Article, Role, Status, User


def register_cli(app: Flask) -> None:
    commands = (init_command, serve_command, import_command, export_command, reindex_command, search_command)
    for command in (*commands, user_group, token_group, golden_group):
        app.cli.add_command(command)


def main() -> None:
    from kb import create_app

    group = FlaskGroup(create_app=create_app, add_default_commands=False, help="kb: a scriptless agent-assist knowledge base.")
    group.add_command(shell_command)
    group.add_command(routes_command)
    group.main(prog_name="kb")


# --- instance setup -----------------------------------------------------------------------------


def ensure_database() -> None:
    create_schema(current_app)


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
            with _progress(_article_count(), "Indexing") as advance:
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
    report = _run_import(folder, Status.PUBLISHED)
    click.echo(f"Imported {len(report.created)} starter articles from {folder}.")
    _print_problems(report)


# --- articles -----------------------------------------------------------------------------------


@click.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--status",
    "default_status",
    type=click.Choice([s.value for s in Status]),
    default="published",
    show_default=True,
    help="Status for files whose front matter names none.",
)
@with_appcontext
def import_command(path: Path, default_status: str) -> None:
    """Import article files (a .md file or a folder of them). Importing again changes nothing."""
    ensure_database()
    report = _run_import(path, Status(default_status))
    click.echo(
        f"{len(report.created)} created, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
        f"{len(report.errors)} skipped."
    )
    _print_problems(report)
    if report.errors:
        raise click.ClickException(f"{len(report.errors)} file(s) could not be imported (listed above).")


def _run_import(path: Path, default_status: Status) -> articlefiles.ImportReport:
    paths = articlefiles.article_paths(path)
    if not paths:
        raise click.ClickException(f"{path}: no .md article files found.")
    session = get_session()
    root = path if path.is_dir() else path.parent
    with _progress(len(paths), "Importing") as advance:
        report = articlefiles.import_articles(
            session, paths, root=root, default_status=default_status, on_file=lambda _p: advance(1)
        )
    session.commit()
    ensure_index()
    if path.is_dir():
        _import_search_files(path, report)
    return report


def _import_search_files(folder: Path, report: articlefiles.ImportReport) -> None:
    """Import the vocabulary and golden queries that travel with the articles, when present."""
    session = get_session()
    synonyms_file, golden_file = folder / vocabulary.FILE_NAME, folder / golden.FILE_NAME
    try:
        if synonyms_file.is_file():
            added = vocabulary.import_groups(session, vocabulary.read_file(synonyms_file))
            click.echo(f"{synonyms_file.name}: {added} synonym groups added.")
        if golden_file.is_file():
            added, problems = golden.import_golden(session, golden.read_file(golden_file))
            click.echo(f"{golden_file.name}: {added} golden queries added.")
            report.errors += [DataFileError(golden_file.name, None, p) for p in problems]
    except DataFileError as exc:
        session.rollback()
        report.errors.append(exc)
        return
    session.commit()


def _print_problems(report: articlefiles.ImportReport) -> None:
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    grouped = Counter(_warning_kind(w.reason) for w in report.warnings)
    for warning in report.warnings:
        if grouped[_warning_kind(warning.reason)] <= 3:
            click.echo(f"warning: {warning}", err=True)
    for kind, count in grouped.items():
        if count > 3:
            click.echo(f"warning: {count} files: {kind}", err=True)


def _warning_kind(reason: str) -> str:
    return reason.split("(")[0].strip()


@click.command("export")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def export_command(path: Path) -> None:
    """Write every article to PATH/<slug>.md (the import format)."""
    ensure_database()
    session = get_session()
    try:
        with _progress(_article_count(), "Exporting") as advance:
            count = articlefiles.export_articles(session, path, on_file=lambda _a: advance(1))
        session = get_session()
        (path / vocabulary.FILE_NAME).write_text(vocabulary.dump_groups(vocabulary.list_groups(session)), encoding="utf-8")
        (path / golden.FILE_NAME).write_text(golden.dump_golden(golden.list_golden(session)), encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"{path}: cannot write ({exc.strerror or exc}).") from None
    click.echo(f"Exported {count} articles, the synonyms and the golden queries to {path}.")


@click.command("reindex")
@with_appcontext
def reindex_command() -> None:
    """Rebuild the search index from the database (fixes a damaged or outdated index)."""
    ensure_database()
    with _progress(_article_count(), "Indexing") as advance:
        count = kb_search.rebuild(get_session(), progress=advance)
    click.echo(f"Indexed {count} articles in {current_app.config['INDEX_DIR']}.")


@click.command("search")
@click.argument("query", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--drafts", is_flag=True, help="Also search drafts, reviews and archived articles.")
@with_appcontext
def search_command(query: tuple[str, ...], as_json: bool, limit: int, drafts: bool) -> None:
    """Search the knowledge base as an agent would."""
    ensure_database()
    ensure_index()
    statuses = list(Status) if drafts else [Status.PUBLISHED]
    try:
        page = kb_search.search(" ".join(query), statuses=statuses, limit=limit)
    except kb_search.IndexDamaged as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        hits = [
            {"slug": h.slug, "title": h.title, "summary": h.summary, "snippet": str(h.snippet), "score": h.score}
            for h in page.hits
        ]
        click.echo(json.dumps({"query": page.query, "total": page.total, "took_ms": page.took_ms, "results": hits}, indent=2))
        return
    click.echo(f"{page.total} results for '{page.query}' ({page.took_ms} ms)")
    if page.suggestion:
        click.echo(f"Did you mean: {page.suggestion}")
    for rank, hit in enumerate(page.hits, start=1):
        click.echo(f"{rank:>2}. {hit.title}  [{hit.slug}]")


# --- users and tokens ---------------------------------------------------------------------------


@click.group("user")
def user_group() -> None:
    """Manage user accounts."""


@user_group.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password", help="The password (generated and printed when omitted).")
@with_appcontext
def user_add(username: str, role: str, password: str | None) -> None:
    """Create a user."""
    ensure_database()
    session = get_session()
    chosen = password or auth.generate_password()
    try:
        auth.create_user(session, username, Role(role), chosen)
    except auth.AuthError as exc:
        raise click.ClickException(str(exc)) from None
    session.commit()
    click.echo(f"Created {role} '{username}'.")
    if password is None:
        click.echo(f"Password: {chosen}")


@user_group.command("list")
@with_appcontext
def user_list() -> None:
    """List users and their roles."""
    ensure_database()
    for user in get_session().scalars(select(User).order_by(User.username)):
        state = "" if user.is_active else "  (deactivated)"
        click.echo(f"{user.username:<24} {user.role.value}{state}")


@user_group.command("passwd")
@click.argument("username")
@click.option("--password", help="The new password (prompted for when omitted; generated with --generate).")
@click.option("--generate", is_flag=True, help="Generate a password and print it.")
@with_appcontext
def user_passwd(username: str, password: str | None, generate: bool) -> None:
    """Set a user's password."""
    ensure_database()
    session = get_session()
    try:
        user = auth.find_user(session, username)
        if generate:
            password = auth.generate_password()
        elif password is None:
            password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
        auth.set_password(user, password)
    except auth.AuthError as exc:
        raise click.ClickException(str(exc)) from None
    session.commit()
    click.echo(f"Password of '{username}' changed.")
    if generate:
        click.echo(f"Password: {password}")


@click.group("token")
def token_group() -> None:
    """Manage API tokens (for helpdesk tools that embed kb)."""


@token_group.command("create")
@click.argument("username")
@with_appcontext
def token_create(username: str) -> None:
    """Create an API token for USERNAME; it is printed once, on the last line."""
    session = get_session()
    user = _existing_user(username)
    secret = auth.create_token(session, user)
    session.commit()
    click.echo(f"Token for '{username}' ({user.role.value}). Store it now: it cannot be shown again.")
    click.echo(secret)


@token_group.command("revoke")
@click.argument("username")
@with_appcontext
def token_revoke(username: str) -> None:
    """Revoke every API token of USERNAME."""
    session = get_session()
    user = _existing_user(username)
    count = auth.revoke_tokens(session, user)
    session.commit()
    click.echo(f"Revoked {count} token(s) of '{username}'.")


def _existing_user(username: str) -> User:
    ensure_database()
    try:
        return auth.find_user(get_session(), username)
    except auth.AuthError as exc:
        raise click.ClickException(str(exc)) from None


# --- golden queries ------------------------------------------------------------------------------


@click.group("golden")
def golden_group() -> None:
    """Golden queries: queries that must find their article in the top 3."""


@golden_group.command("check")
@with_appcontext
def golden_check() -> None:
    """Run every golden query; exit non-zero if any misses its top 3."""
    ensure_database()
    ensure_index()
    session = get_session()
    results = golden.check(session)
    session.commit()
    for result in sorted(results, key=lambda r: r.passed):
        click.echo(f"{'PASS' if result.passed else 'FAIL'}  {result.describe()}")
    failed = sum(1 for r in results if not r.passed)
    click.echo(f"{len(results) - failed} of {len(results)} golden queries pass.")
    if failed:
        raise click.ClickException(f"{failed} golden quer{'y' if failed == 1 else 'ies'} not in the top {golden.TOP}.")


@golden_group.command("add")
@click.argument("query")
@click.argument("slug")
@with_appcontext
def golden_add(query: str, slug: str) -> None:
    """Add a golden query: QUERY must find the article SLUG in the top 3."""
    ensure_database()
    session = get_session()
    try:
        golden.add_golden(session, query, slug)
    except golden.GoldenError as exc:
        raise click.ClickException(str(exc)) from None
    session.commit()
    click.echo(f"Added: '{query}' → {slug}")


@golden_group.command("list")
@with_appcontext
def golden_list() -> None:
    """List golden queries with the rank found at their last check."""
    ensure_database()
    for item in golden.list_golden(get_session()):
        rank = "never checked" if item.last_checked_at is None else f"rank {item.last_rank or '>10'}"
        click.echo(f"{item.query!r} → {item.article.slug} ({rank})")


# --- helpers ------------------------------------------------------------------------------------


def _article_count() -> int:
    return get_session().scalar(select(func.count(Article.id))) or 0


class _progress:
    """A click progress bar as a context manager that yields its `advance(n)` function."""

    def __init__(self, length: int, label: str):
        self._bar = click.progressbar(length=max(length, 1), label=label, file=sys.stderr)

    def __enter__(self):
        bar = self._bar.__enter__()
        return bar.update

    def __exit__(self, *exc) -> None:
        self._bar.__exit__(*exc)

