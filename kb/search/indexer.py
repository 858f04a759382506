"""The only code that writes the search index.

The database is the source of truth. Every article save leaves an `IndexEvent` in the same
transaction; `apply_pending` drains those events in id order and records the last id it applied
in the index folder, so whichever process runs it brings the index up to date, and a crash
between the database commit and the index write loses nothing: the event is simply applied later.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.writing import CLEAR

from kb import feedback
from kb.models import Article, IndexEvent
from kb.render import render_article
from kb.search.schema import SCHEMA_VERSION, build_schema, code_tokens, weighted_text

STATE_FILE = "kb-index.json"
WRITE_LOCK_TIMEOUT = 30.0
# Past this many documents in one write, merge segments: fewer segments make queries faster.
BULK_THRESHOLD = 200
# Bulk writes build documents in worker processes (see _document_builder).
PARALLEL_FROM = 500
MAX_WORKERS = 4
CHUNK = 1000


class IndexDamaged(RuntimeError):
    """The index cannot be opened; the message says how to rebuild it."""

    def __init__(self, index_dir: str | Path, reason: str):
        super().__init__(
            f"The search index in {index_dir} cannot be read ({reason}). Rebuild it from the database with: kb reindex"
        )


@dataclass
class IndexState:
    schema_version: int = 0
    last_event_id: int = 0


def read_state(index_dir: Path) -> IndexState:
    try:
        data = json.loads((index_dir / STATE_FILE).read_text(encoding="utf-8"))
        return IndexState(int(data["schema_version"]), int(data["last_event_id"]))
    except (OSError, ValueError, KeyError, TypeError):
        return IndexState()


def _write_state(index_dir: Path, state: IndexState) -> None:
    tmp = index_dir / f".{STATE_FILE}.{os.getpid()}"
    tmp.write_text(json.dumps({"schema_version": state.schema_version, "last_event_id": state.last_event_id}))
    os.replace(tmp, index_dir / STATE_FILE)


def index_exists(index_dir: Path) -> bool:
    """Whether an index was ever written here (damaged or not: opening it tells that)."""
    return index_dir.is_dir() and any(index_dir.glob("_MAIN_*.toc"))


def needs_rebuild(index_dir: Path) -> bool:
    """True when there is no index or it was built with another schema version."""
    return not index_exists(index_dir) or read_state(index_dir).schema_version != SCHEMA_VERSION


def open_index(index_dir: Path) -> whoosh_index.Index:
    """Open the index or raise IndexDamaged with the command that repairs it."""
    try:
        return FileStorage(str(index_dir)).open_index()
    except Exception as exc:  # whoosh raises many types for damaged files
        raise IndexDamaged(index_dir, f"{type(exc).__name__}: {exc}") from exc


# --- documents ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """What the index needs of an article, as plain data: worker processes can build from it."""

    id: int
    slug: str
    title: str
    summary: str
    body: str
    tags: tuple[str, ...]
    product: str
    audience: str
    status: str
    updated_at: datetime
    verified_at: datetime | None
    helpful: float

    @classmethod
    def of(cls, article: Article, helpful: float = 0.5) -> Source:
        return cls(
            article.id, article.slug, article.title, article.summary, article.body, tuple(article.tags),
            article.product, article.audience.value, article.status.value, article.updated_at, article.verified_at, helpful,
        )  # fmt: skip


def document_for(article: Source) -> dict[str, Any]:
    """The index document of an article: its searchable text, display fields and columns."""
    rendered = render_article(article.body)
    sections = [[s.heading, s.anchor, s.text] for s in rendered.sections]
    everything = "\n".join([article.title, article.summary, " ".join(article.tags), rendered.text])
    parts = {
        "title": article.title,
        "phrasings": rendered.phrasings,
        "summary": f"{article.summary}\n{' '.join(article.tags)}",
        "headings": "\n".join(rendered.headings),
        "body": rendered.text,
    }
    return {
        "article_id": str(article.id),
        "slug": article.slug,
        "text": weighted_text(parts),
        "title": article.title,
        "body": rendered.text,
        "summary": article.summary,
        "codes": " ".join(dict.fromkeys(code_tokens(everything))),
        # The vocabulary only needs each word once (doc frequencies, not term frequencies).
        "spelling": " ".join(dict.fromkeys(everything.lower().split())),
        "tags": ",".join(article.tags),
        "product": article.product,
        "audience": article.audience,
        "status": article.status,
        "updated": _iso(article.updated_at),
        "verified": _iso(article.verified_at),
        "sections": json.dumps(sections, ensure_ascii=False),
        "facets": json.dumps([article.product, article.audience, list(article.tags)]).encode("utf-8"),
        "helpful": article.helpful,
        "fresh_day": _day(max(d for d in (article.updated_at, article.verified_at) if d is not None)),
    }


def _day(value: datetime) -> float:
    return value.timestamp() / 86400


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


# --- writing ------------------------------------------------------------------------------------

Progress = Callable[[int], None]


def apply_pending(session: Session, index_dir: Path, *, progress: Progress | None = None) -> int:
    """Apply every index event the index has not seen yet; return how many articles were written.

    Rebuilds the whole index instead when it is missing or of another schema version.
    """
    if needs_rebuild(index_dir):
        return rebuild(session, index_dir, progress=progress)
    writer = open_index(index_dir).writer(timeout=WRITE_LOCK_TIMEOUT)
    try:
        # Read the state only once the lock is held: another process may just have applied it.
        state = read_state(index_dir)
        events = session.execute(
            select(IndexEvent.article_id, func.max(IndexEvent.id))
            .where(IndexEvent.id > state.last_event_id)
            .group_by(IndexEvent.article_id)
        ).all()
        if events:
            _write_documents(session, writer, [article_id for article_id, _ in events], progress)
    except BaseException:
        writer.cancel()
        raise
    if not events:
        writer.cancel()
        return 0
    writer.commit(optimize=len(events) >= BULK_THRESHOLD)
    last_id = max(event_id for _, event_id in events)
    _write_state(index_dir, IndexState(SCHEMA_VERSION, last_id))
    return len(events)


def _write_documents(
    session: Session, writer: Any, article_ids: list[int], progress: Progress | None, *, fresh: bool = False
) -> None:
    # `fresh`: the writer replaces every segment, so there is nothing to delete first.
    write = writer.add_document if fresh else writer.update_document
    with _document_builder(len(article_ids)) as build:
        for start in range(0, len(article_ids), CHUNK):
            chunk = article_ids[start : start + CHUNK]
            found = {a.id: a for a in session.scalars(select(Article).where(Article.id.in_(chunk)))}
            counts = feedback.votes(session, chunk)
            sources = [Source.of(found[i], feedback.helpfulness(*counts.get(i, (0, 0)))) for i in chunk if i in found]
            for article_id in (i for i in chunk if i not in found):
                writer.delete_by_term("article_id", str(article_id))
                if progress:
                    progress(1)
            for document in build(sources):
                write(**document)
                if progress:
                    progress(1)


@contextmanager
def _document_builder(count: int) -> Iterator[Callable[[list[Source]], Iterable[dict[str, Any]]]]:
    """Build documents in worker processes for bulk writes, in this process otherwise.

    Rendering Markdown is half the work of indexing; other cores can do it while this process
    analyzes and writes, which is what makes `kb reindex` of a large knowledge base bearable.
    """
    cores = os.cpu_count() or 1
    if count < PARALLEL_FROM or cores < 2:
        yield lambda sources: map(document_for, sources)
        return
    with multiprocessing.Pool(processes=min(cores, MAX_WORKERS)) as pool:
        yield lambda sources: pool.imap(document_for, sources, chunksize=20)


def rebuild(session: Session, index_dir: Path, *, progress: Progress | None = None) -> int:
    """Rebuild the index from the database; return how many articles were indexed.

    A readable index of the current schema is cleared in one commit, so searchers in other
    processes see the old index until the new one is complete. A missing, damaged or outdated
    index is recreated from scratch.
    """
    last_id = session.scalar(select(func.max(IndexEvent.id))) or 0
    ids = list(session.scalars(select(Article.id).order_by(Article.id)))
    writer = _clean_index(index_dir).writer(timeout=WRITE_LOCK_TIMEOUT, limitmb=256)
    try:
        _write_documents(session, writer, ids, progress, fresh=True)
    except BaseException:
        writer.cancel()
        raise
    writer.commit(mergetype=CLEAR)
    _write_state(index_dir, IndexState(SCHEMA_VERSION, last_id))
    return len(ids)


def _clean_index(index_dir: Path) -> whoosh_index.Index:
    if not needs_rebuild(index_dir):
        try:
            return open_index(index_dir)
        except IndexDamaged:
            pass
    _remove_index_files(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    return FileStorage(str(index_dir)).create_index(build_schema())


def _remove_index_files(index_dir: Path) -> None:
    if not index_dir.is_dir():
        return
    for path in index_dir.iterdir():
        if path.name == ".gitkeep":
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def check(index_dir: Path) -> str | None:
    """Return None when the index is usable, else a message naming the problem and the fix."""
    if not index_exists(index_dir):
        return f"There is no search index in {index_dir}. Build it with: kb reindex"
    try:
        with open_index(index_dir).searcher() as searcher:
            searcher.doc_count()
    except IndexDamaged as exc:
        return str(exc)
    except Exception as exc:  # a segment file can be unreadable even when the TOC opens
        return str(IndexDamaged(index_dir, f"{type(exc).__name__}: {exc}"))
    return None


def iter_articles(session: Session) -> Iterable[Article]:
    return session.scalars(select(Article).order_by(Article.id))
