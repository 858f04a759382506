"""Working with the content: `kb import`, `kb export`, `kb reindex`, `kb search`, `kb golden`."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from kb import articlefiles, golden, limits, settings, vocabulary
from kb import search as kb_search
from kb.cli.instance import article_count, ensure_database, ensure_index, progress
from kb.datafiles import DataFileError
from kb.db import get_session
from kb.learning import files as path_files
from kb.models import Status


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
    report = run_import(path, Status(default_status))
    click.echo(
        f"{len(report.created)} created, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
        f"{len(report.errors)} skipped."
    )
    print_problems(report)
    if report.errors:
        raise click.ClickException(f"{len(report.errors)} file(s) could not be imported (listed above).")


def run_import(path: Path, default_status: Status, *, wait_for_writer: bool = True) -> articlefiles.ImportReport:
    """Import in small committed batches, then index them (or follow the running kb doing it)."""
    paths = articlefiles.article_paths(path)
    if not paths:
        raise click.ClickException(f"{path}: no .md article files found.")
    session = get_session()
    root = path if path.is_dir() else path.parent
    with progress(len(paths), "Importing") as advance:
        report = articlefiles.import_articles(
            session,
            paths,
            root=root,
            default_status=default_status,
            on_file=lambda _p: advance(1),
            checkpoint=session.commit,
            instance_dir=Path(current_app.instance_path),
        )
    ensure_index(wait_for_writer=wait_for_writer)
    if path.is_dir():
        _import_search_files(path, report)
    return report


def _import_search_files(folder: Path, report: articlefiles.ImportReport) -> None:
    """Import the vocabulary and golden queries that travel with the articles, when present."""
    session = get_session()
    synonyms_file, golden_file = folder / vocabulary.FILE_NAME, folder / golden.FILE_NAME
    template_file = folder / settings.TEMPLATE_FILE_NAME
    paths_file = folder / path_files.FILE_NAME
    try:
        for data_file in (synonyms_file, golden_file, template_file, paths_file):
            if data_file.is_symlink():
                articlefiles.refuse_links_out(data_file, folder, data_file.name)
        if synonyms_file.is_file():
            added = vocabulary.import_groups(session, vocabulary.read_file(synonyms_file))
            click.echo(f"{synonyms_file.name}: {added} synonym groups added.")
        if golden_file.is_file():
            added, problems = golden.import_golden(session, golden.read_file(golden_file), service=kb_search.service())
            click.echo(f"{golden_file.name}: {added} golden queries added.")
            report.errors += [DataFileError(golden_file.name, None, p) for p in problems]
        if template_file.is_file() and _import_template(session, template_file):
            click.echo(f"{template_file.name}: the new-article template was replaced.")
    except DataFileError as exc:
        session.rollback()
        report.errors.append(exc)
        return
    session.commit()
    _import_paths(paths_file, report)


def _import_paths(paths_file: Path, report: articlefiles.ImportReport) -> None:
    """Reading paths last: their steps need the articles, and a bad file leaves the rest imported."""
    if not paths_file.is_file():
        return
    session = get_session()
    try:
        imported = path_files.import_paths(session, path_files.read_file(paths_file))
    except DataFileError as exc:
        session.rollback()
        report.errors.append(exc)
        return
    session.commit()
    click.echo(f"{paths_file.name}: {imported.added} reading paths added, {imported.updated} updated.")
    report.errors += imported.problems


def _import_template(session, path: Path) -> bool:
    """Make the file the new-article template, unless it already is; DataFileError when it cannot be."""
    raw = path.read_bytes()[: limits.limit("MAX_ARTICLE_BYTES") + 1]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DataFileError(path.name, None, "not UTF-8 text") from None
    problem = settings.template_problem(text)
    if problem:
        raise DataFileError(path.name, None, f"the template {problem}")
    current = settings.get(session, settings.ARTICLE_TEMPLATE)
    if current.value == text:
        return False
    settings.put(session, settings.ARTICLE_TEMPLATE, text, user=None, based_on=current.version)
    return True


def print_problems(report: articlefiles.ImportReport) -> None:
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
        with progress(article_count(), "Exporting") as advance:
            count = articlefiles.export_articles(
                session, path, instance_dir=Path(current_app.instance_path), on_file=lambda _a: advance(1)
            )
        session = get_session()
        (path / vocabulary.FILE_NAME).write_text(
            vocabulary.dump_groups(vocabulary.list_groups(session)), encoding="utf-8"
        )
        (path / golden.FILE_NAME).write_text(golden.dump_golden(golden.list_golden(session)), encoding="utf-8")
        template = settings.get(session, settings.ARTICLE_TEMPLATE).value
        (path / settings.TEMPLATE_FILE_NAME).write_text(template, encoding="utf-8", newline="\n")
        (path / path_files.FILE_NAME).write_text(path_files.dump_paths(path_files.all_paths(session)), encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"{path}: cannot write ({exc.strerror or exc}).") from None
    click.echo(
        f"Exported {count} articles, their files, the synonyms, the golden queries, the template and the reading paths to {path}."
    )


@click.command("reindex")
@with_appcontext
def reindex_command() -> None:
    """Rebuild the search index from the database (fixes a damaged or outdated index)."""
    ensure_database()
    try:
        with progress(article_count(), "Indexing") as advance:
            count = kb_search.rebuild(get_session(), progress=advance)
    except kb_search.IndexBusy as exc:
        raise click.ClickException(f"{exc} Try again in a minute.") from None
    click.echo(f"Indexed {count} articles in {current_app.config['INDEX_DIR']}.")
    for slug, reason in kb_search.set_aside(get_session()).items():
        click.echo(
            f"warning: skipped {slug}: it could not be indexed ({reason}); fix the article and save it", err=True
        )


@click.command("search")
@click.argument("query", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--drafts", is_flag=True, help="Also search drafts and articles in review.")
@click.option("--archived", is_flag=True, help="Also search archived articles.")
@with_appcontext
def search_command(query: tuple[str, ...], as_json: bool, limit: int, drafts: bool, archived: bool) -> None:
    """Search the knowledge base as an agent would."""
    ensure_database()
    ensure_index()
    statuses = [Status.PUBLISHED]
    statuses += [Status.DRAFT, Status.REVIEW] if drafts else []
    statuses += [Status.ARCHIVED] if archived else []
    try:
        page = kb_search.search(
            " ".join(query), statuses=statuses, limit=limit, vocabulary=vocabulary.current_vocabulary(get_session())
        )
    except kb_search.IndexDamaged as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        hits = [
            {"slug": h.slug, "title": h.title, "summary": h.summary, "snippet": str(h.snippet), "score": h.score}
            for h in page.hits
        ]
        click.echo(
            json.dumps({"query": page.query, "total": page.total, "took_ms": page.took_ms, "results": hits}, indent=2)
        )
        return
    click.echo(f"{page.total} results for '{page.query}' ({page.took_ms} ms)")
    if page.suggestion:
        click.echo(f"Did you mean: {page.suggestion}")
    for rank, hit in enumerate(page.hits, start=1):
        click.echo(f"{rank:>2}. {hit.title}  [{hit.slug}]")


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
    results = golden.check(session, kb_search.service())
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
        golden.add_golden(session, query, slug, service=kb_search.service())
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
