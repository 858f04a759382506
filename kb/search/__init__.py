"""Search: the public face of kb's Whoosh index.

Views, the CLI and the background workers call the functions here; they never see a Whoosh
object. Results are plain dataclasses (kb.search.results); the per-process readers live in
kb.search.engine, and the only index writer in kb.search.indexer.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.models import Article
from kb.search import indexer
from kb.search.engine import SearchService, prior
from kb.search.helpfulness import Helpfulness
from kb.search.indexer import IndexBusy, IndexDamaged
from kb.search.query import Vocabulary
from kb.search.results import FacetValue, Filters, SearchHit, SearchPage
from kb.search.suggest import MAX_CHARS as SUGGEST_MAX_CHARS

__all__ = [
    "FacetValue",
    "Filters",
    "IndexBusy",
    "IndexDamaged",
    "SearchHit",
    "SearchPage",
    "SearchService",
    "SUGGEST_MAX_CHARS",
    "Vocabulary",
    "init_app",
    "prior",
    "search",
    "service",
    "set_aside",
]


def init_app(app: Flask) -> None:
    from kb import feedback  # kb.feedback reads kb.search.query: imported once both exist

    def votes() -> dict[int, tuple[int, int]]:
        with app.extensions["kb.sessionmaker"]() as session:
            return feedback.all_votes(session)

    app.extensions["kb.search"] = SearchService(
        Path(app.config["INDEX_DIR"]),
        term_cache_mb=int(app.config["SEARCH_TERM_CACHE_MB"]),
        pool_size=int(app.config["THREADS"]),
        meaning=bool(app.config["SEARCH_MEANING"]),
        helpfulness=Helpfulness(votes),
    )


def votes_changed(session: Session, article_ids: list[int]) -> None:
    """Votes were committed: this process ranks with them at once (the others within a refresh)."""
    from kb import feedback

    service().helpfulness.update(feedback.votes(session, article_ids))


def service() -> SearchService:
    return current_app.extensions["kb.search"]


def search(text: str, **options) -> SearchPage:
    return service().search(text, **options)


def index_dir() -> Path:
    return service().index_dir


def apply_pending(session: Session, *, progress: indexer.Progress | None = None, **options) -> indexer.Applied:
    """Bring this machine's index up to date with the database (rebuilding it if missing)."""
    return indexer.apply_pending(session, index_dir(), progress=progress, **options)


def rebuild(session: Session, *, progress: indexer.Progress | None = None) -> int:
    return len(indexer.rebuild(session, index_dir(), progress=progress))


def check() -> str | None:
    return indexer.check(index_dir())


def set_aside(session: Session) -> dict[str, str]:
    """The articles the index writer could not index, slug -> why: shown to admins, named by the CLI.

    They stay searchable in their last good version (or not at all) until someone fixes them;
    everyone else's searches are not affected.
    """
    failed = indexer.read_state(index_dir()).failed
    if not failed:
        return {}
    rows = session.execute(select(Article.id, Article.slug).where(Article.id.in_(list(failed))).order_by(Article.slug))
    return {slug: failed[article_id] for article_id, slug in rows}
