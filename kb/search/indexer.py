"""The only code that writes the search index.

The database is the source of truth. Every article save leaves an `IndexEvent` in the same
transaction (see kb.changelog); `apply_pending` applies the events this index has not seen, by
what was committed, and records its horizon in the index folder under the index's own write lock.
Whichever process runs it brings the index up to date, and a crash between the database commit
and the index write loses nothing: the event is simply applied later. In a running kb only one
thread per machine calls it (kb.search.worker); requests never do.

An article that cannot be indexed is set aside (recorded in the state, logged, shown by
`kb doctor`) instead of stopping every change behind it; its next save tries again.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import pickle
import shutil
import struct
import threading
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import whoosh
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage
from whoosh.index import IndexError as WhooshIndexError
from whoosh.util.filelock import try_for
from whoosh.writing import CLEAR, MERGE_SMALL, PostingPool, SegmentWriter

from kb import changelog
from kb.models import Article
from kb.render import render_article
from kb.search import pairs, segment_builders, semantic
from kb.search.schema import SCHEMA_VERSION, analyzed, build_schema, code_tokens, spelling_fields, weighted_text

log = logging.getLogger(__name__)

STATE_FILE = "kb-index.json"
# The file whose lock makes one thread of one process the index writer of this folder (kb.search.worker).
WRITER_LOCK_FILE = "kb-writer.lock"
# Whoosh's write lock of the index named MAIN: every write (and a rebuild) holds it.
WHOOSH_LOCK_FILE = "MAIN_WRITELOCK"
# Never deleted: removing a lock file someone holds would let a second holder create a new one.
KEEP_FILES = {".gitkeep", WRITER_LOCK_FILE, WHOOSH_LOCK_FILE}
# How long a rebuild waits for a running writer to finish its batch.
REBUILD_LOCK_TIMEOUT = 60.0
# Past this many documents in one write, merge segments: fewer segments make queries faster.
BULK_THRESHOLD = 200
# Small segments (fewer documents than this) are merged once there are this many (merge_when_many).
SMALL_SEGMENT_DOCS, MERGE_AFTER = 500, 10
# Bulk writes build documents in worker processes (see _document_builder).
PARALLEL_FROM = 500
MAX_WORKERS = 4
CHUNK = 1000
# Articles per batch handed to a rebuild's builder processes (kb.search.segment_builders).
BUILDER_BATCH = 10
# Megabytes of postings a rebuild keeps in memory before spilling a sorted run to disk.
REBUILD_POOL_MB = 256
# Postings per pickled block of a spilled run (see _BlockRuns).
RUN_BLOCK = 20_000
# Bytes a posting holds in memory besides its term and positions (Whoosh's own estimate).
POSTING_OVERHEAD = 150


class IndexDamaged(RuntimeError):
    """The index cannot be opened; the message says how to rebuild it."""

    def __init__(self, index_dir: str | Path, reason: str):
        super().__init__(
            f"The search index in {index_dir} cannot be read ({reason}). Rebuild it from the database with: kb reindex"
        )


# What reading a damaged index file raises (besides errors raised inside Whoosh's own code).
READ_ERRORS = (WhooshIndexError, EOFError, OSError, struct.error, zlib.error, pickle.UnpicklingError)
_WHOOSH_DIR = str(Path(whoosh.__file__).parent)


def is_index_error(exc: BaseException) -> bool:
    """Whether `exc` comes from the index files: a known read error, or raised inside Whoosh.

    Whoosh reports some damage with a bare Exception ("Block tag error ..."), so where it was
    raised tells more than its type.
    """
    if isinstance(exc, READ_ERRORS):
        return True
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and tb.tb_frame.f_code.co_filename.startswith(_WHOOSH_DIR)


class IndexBusy(RuntimeError):
    """Another process holds the index's write lock (a `kb reindex`, a `kb import`, another kb)."""


@dataclass
class IndexState:
    """What this index has applied: see kb.changelog for horizon and applied."""

    schema_version: int = 0
    horizon: int = 0
    applied: frozenset[int] = frozenset()
    failed: dict[int, str] = field(default_factory=dict)  # article id -> why it could not be indexed

    def to_json(self) -> str:
        return json.dumps(
            {
                "schema_version": self.schema_version,
                "horizon": self.horizon,
                "applied": sorted(self.applied),
                "failed": {str(k): v for k, v in sorted(self.failed.items())},
            }
        )


def read_state(index_dir: Path) -> IndexState:
    try:
        data = json.loads((index_dir / STATE_FILE).read_text(encoding="utf-8"))
        return IndexState(
            int(data["schema_version"]),
            int(data["horizon"]),
            frozenset(int(i) for i in data.get("applied", [])),
            {int(k): str(v) for k, v in data.get("failed", {}).items()},
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return IndexState()


def _write_state(index_dir: Path, state: IndexState) -> None:
    tmp = index_dir / f".{STATE_FILE}.{os.getpid()}.{threading.get_ident()}"
    tmp.write_text(state.to_json(), encoding="utf-8")
    os.replace(tmp, index_dir / STATE_FILE)


def index_exists(index_dir: Path) -> bool:
    """Whether an index was ever written here (damaged or not: opening it tells that)."""
    return index_dir.is_dir() and any(index_dir.glob("_MAIN_*.toc"))


def needs_rebuild(index_dir: Path) -> bool:
    """True when there is no index or it was built with another schema version."""
    return not index_exists(index_dir) or read_state(index_dir).schema_version != SCHEMA_VERSION


def open_index(index_dir: Path) -> whoosh_index.Index:
    """Open the index for writing, or raise IndexDamaged with the command that repairs it."""
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
    version: int

    @classmethod
    def of(cls, article: Article) -> Source:
        return cls(
            article.id, article.slug, article.title, article.summary, article.body, tuple(article.tags),
            article.product, article.audience.value, article.status.value, article.updated_at, article.verified_at,
            article.version,
        )  # fmt: skip


def document_for(article: Source) -> dict[str, Any]:
    """The index document of an article: its searchable text, display fields and columns."""
    rendered = render_article(article.body)
    sections = [[s.heading, s.anchor, s.text] for s in rendered.sections]
    vector, section_vectors = semantic.article_vectors(
        article.title, article.summary, [(s.heading, s.text) for s in rendered.sections]
    )
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
        "version": article.version,
        "slug": article.slug,
        "text": weighted_text(parts),
        "title": article.title,
        "body": rendered.text,
        "summary": article.summary,
        "codes": " ".join(dict.fromkeys(code_tokens(everything))),
        # The vocabulary only needs each word once (doc frequencies, not term frequencies).
        spelling_fields([article.status])[-1]: " ".join(dict.fromkeys(everything.lower().split())),
        "tags": ",".join(article.tags),
        "product": article.product,
        "audience": article.audience,
        "status": article.status,
        "updated": _iso(article.updated_at),
        "verified": _iso(article.verified_at),
        "sections": json.dumps(sections, ensure_ascii=False),
        "facets": json.dumps([article.product, article.audience, list(article.tags)]).encode("utf-8"),
        "article_number": article.id,
        "fresh_day": _day(max(d for d in (article.updated_at, article.verified_at) if d is not None)),
        "vector": vector,
        "section_vectors": section_vectors,
        "pairs": pairs.pair_filter([article.title, *(s.text for s in rendered.sections)]),
    }


def _day(value: datetime) -> float:
    return value.timestamp() / 86400


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


# --- writing ------------------------------------------------------------------------------------

Progress = Callable[[int], None]


@dataclass
class Applied:
    """What one `apply_pending` call did."""

    article_ids: list[int] = field(default_factory=list)  # written or deleted
    failed: dict[int, str] = field(default_factory=dict)  # set aside this time
    remaining: int = 0  # changed articles left for the next call (batch limit)
    rebuilt: bool = False


def apply_pending(
    session: Session,
    index_dir: Path,
    *,
    batch: int | None = None,
    lock_timeout: float = 0.0,
    progress: Progress | None = None,
) -> Applied:
    """Apply the committed changes this index has not seen, at most `batch` articles per call.

    Small batches keep the write lock short, so a save made during a large import is searchable
    after one batch rather than after the whole import. Rebuilds the whole index instead when it
    is missing or of another schema version. Raises IndexBusy when another process holds the
    write lock for longer than `lock_timeout` seconds.
    """
    if needs_rebuild(index_dir):
        return Applied(rebuild(session, index_dir, progress=progress, lock_timeout=lock_timeout), rebuilt=True)
    with write_lock(index_dir, lock_timeout):
        if needs_rebuild(index_dir):  # another process removed or outdated it while we waited
            return Applied(_rebuild_locked(session, index_dir, progress), rebuilt=True)
        # Read the state only once the lock is held: another process may just have applied it.
        state = read_state(index_dir)
        pending = changelog.pending(session, state.horizon, state.applied)
        changed = pending.article_ids()
        chosen = changed[:batch] if batch else changed
        result = Applied()
        optimize = batch is None and len(chosen) >= BULK_THRESHOLD  # one bulk write: merge while at it
        done = _write_batch(session, open_index(index_dir), chosen, progress, result, optimize) if chosen else set()
        result.remaining = len(changed) - len(done)
        horizon, ids = pending.advance({e.id for e in pending.seen if e.article_id in done or e.id in state.applied})
        failed = {k: v for k, v in state.failed.items() if k not in done} | result.failed
        new_state = IndexState(SCHEMA_VERSION, horizon, ids, failed)
        # With nothing seen, the old horizon is still right: keep the file (and every reader's view) as is.
        if pending.seen and new_state != state:
            _write_state(index_dir, new_state)
    for article_id, reason in result.failed.items():
        log.error("Article %s could not be indexed and was set aside: %s", article_id, reason)
    return result


def _write_batch(
    session: Session, ix: whoosh_index.Index, chosen: list[int], progress, result: Applied, optimize: bool
) -> set[int]:
    """Write the chosen articles in one commit; return the ids dealt with (written or set aside).

    A document that fails half-way through `update_document` may leave postings in the writer's
    pool, so the writer is cancelled and only the failing article is set aside: the next call
    writes the others again without it.
    """
    writer = _Writer(ix, _lk=False)  # the caller holds the write lock
    try:
        _write_documents(session, writer, chosen, progress, failed=result.failed)
    except _DocumentRejected as rejected:
        writer.cancel()
        result.failed = {rejected.article_id: rejected.reason}
        return {rejected.article_id}
    except BaseException:
        writer.cancel()
        raise
    writer.commit(optimize=optimize, mergetype=merge_when_many)
    result.article_ids = [i for i in chosen if i not in result.failed]
    return set(chosen)


class _BlockRuns(PostingPool):
    """Whoosh's pool of postings, spilling to disk in blocks instead of one pickle per posting.

    A 10k-article rebuild holds about six million postings, more than the pool keeps in memory:
    writing the sorted runs a posting at a time and reading them back took a quarter of the
    writer's time; a block is one C-level pickle call.
    """

    def add(self, item: tuple) -> None:
        """Whoosh's add without its per-posting type checks (our rows come from Whoosh's own
        analysis): the writer calls it for each of those six million postings."""
        self.fieldnames.add(item[0])
        self.currentsize += POSTING_OVERHEAD + 2 * len(item[1]) + len(item[4] or b"")
        if self.currentsize > self.limit:
            self.save()
        self.current.append(item)

    def _write_run(self, f, items) -> None:
        items = iter(items)
        with f:
            while block := list(islice(items, RUN_BLOCK)):
                pickle.dump(block, f, pickle.HIGHEST_PROTOCOL)

    def _read_run(self, path) -> Iterator:
        f = self._open_run(path)
        try:
            while True:
                try:
                    block = pickle.load(f)
                except EOFError:
                    return
                yield from block
        finally:
            f.close()
            self._remove_run(path)


class _Writer(SegmentWriter):
    """Whoosh's segment writer with the block-spilling pool (see _BlockRuns)."""

    def __init__(self, ix: whoosh_index.Index, *, limitmb: int = 128, **kwargs: Any):
        super().__init__(ix, limitmb=limitmb, **kwargs)
        self.pool = _BlockRuns(self._tempstorage, self.newsegment, limitmb=limitmb)

    def _flush_segment(self) -> None:
        """Whoosh's flush, reading each document's field lengths once (see _KnownLengths)."""
        self.perdocwriter.close()
        lengths = _KnownLengths(self.per_document_reader()) if self.codec.length_stats else None
        try:
            self.fieldwriter.add_postings(self.schema, lengths, self.pool.iter_postings())
            self.fieldwriter.close()
        finally:
            if lengths:
                lengths.close()

    def commit_segments(self, segments: list[Any]) -> None:
        """Commit exactly these finished segments (written by builder processes) as the index.

        Every other segment is dropped, as CLEAR does; the files of the dropped ones (and of any
        builder that was stopped) are removed by Whoosh's clean-up of this commit.
        """
        self._check_state()
        self._close_segment()  # this writer's own segment is empty: never part of the index
        self._commit_toc(list(segments))
        self._finish()


class _KnownLengths:
    """A segment's field lengths, each field's read into a list the first time it is asked for.

    Writing postings asks for the length of the document of every posting (six million at 10k
    articles); reading each from the column file was a tenth of a rebuild's commit.
    """

    def __init__(self, reader: Any):
        self.reader = reader
        self.lengths: dict[str, list[int]] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int:
        lengths = self.lengths.get(fieldname)
        if lengths is None:
            length = self.reader.doc_field_length
            lengths = [length(d, fieldname, default) for d in range(self.reader.doc_count_all())]
            self.lengths[fieldname] = lengths
        return lengths[docnum]

    def close(self) -> None:
        self.reader.close()


def merge_when_many(writer, segments: list) -> list:
    """Merge small segments only once MERGE_AFTER of them have piled up (Whoosh's merge policy).

    Whoosh's default merges the small segments every few commits, which on a support floor means
    every few saves: at 3,000 articles a save cost 77 ms at the median and 620 ms when it merged,
    all of it CPU the searches of the serving process wait for. A few more small segments cost a
    search next to nothing (kb.search.segments keeps what was read of each).
    """
    if sum(1 for segment in segments if segment.doc_count_all() < SMALL_SEGMENT_DOCS) < MERGE_AFTER:
        return segments
    return MERGE_SMALL(writer, segments)


def rewrite(session: Session, index_dir: Path, article_ids: list[int], *, lock_timeout: float = 60.0) -> Applied:
    """Write these articles again from the database, deleting those it no longer holds (kb doctor)."""
    result = Applied()
    todo = list(dict.fromkeys(article_ids))
    with write_lock(index_dir, lock_timeout):
        state = read_state(index_dir)
        while todo:  # a rejected document spoils its batch: write the rest again without it
            attempt = Applied()
            done = _write_batch(session, open_index(index_dir), todo, None, attempt, optimize=False)
            result.article_ids += attempt.article_ids
            result.failed |= attempt.failed
            todo = [i for i in todo if i not in done]
        failed = {k: v for k, v in state.failed.items() if k not in set(article_ids)} | result.failed
        _write_state(index_dir, IndexState(state.schema_version, state.horizon, state.applied, failed))
    return result


class _DocumentRejected(Exception):
    def __init__(self, article_id: int, reason: str):
        super().__init__(reason)
        self.article_id, self.reason = article_id, reason

    def __reduce__(self) -> tuple:  # raised in a builder process, re-raised in the parent
        return type(self), (self.article_id, self.reason)


@contextmanager
def write_lock(index_dir: Path, timeout: float) -> Iterator[None]:
    """Hold the index folder's write lock (Whoosh's own, so other Whoosh writers respect it too)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileStorage(str(index_dir)).lock(WHOOSH_LOCK_FILE)
    if not try_for(lock.acquire, timeout=timeout, delay=0.05):
        raise IndexBusy(
            "Another kb process is writing the search index (a kb reindex or kb import?); changes wait for it."
        )
    try:
        yield
    finally:
        lock.release()


def _write_documents(
    session: Session,
    writer: Any,
    article_ids: list[int],
    progress: Progress | None,
    *,
    failed: dict[int, str],
    fresh: bool = False,
) -> None:
    # `fresh`: the writer replaces every segment, so there is nothing to delete first.
    with _document_builder(len(article_ids)) as build, _old_documents(writer, fresh) as delete:
        for sources, gone in _sources_by_chunk(session, article_ids):
            for article_id in gone:
                delete(article_id)
                if progress:
                    progress(1)
            for source, document in zip(sources, build(sources), strict=True):
                if isinstance(document, str):
                    failed[source.id] = document
                else:
                    delete(source.id)
                    _write_one(writer.add_document, source.id, document)
                if progress:
                    progress(1)


@contextmanager
def _old_documents(writer: Any, fresh: bool) -> Iterator[Callable[[int], None]]:
    """A function deleting an article's committed document from `writer`'s segments.

    One searcher serves every deletion of the batch: Whoosh's `update_document` opens a new one
    over all segments for each document, which at 10k articles was half the cost of a save's
    indexing (36 of 52 ms per article) and what made saves slow to appear under full load.
    """
    if fresh:
        yield lambda _article_id: None
        return
    searcher = writer.searcher()
    try:
        yield lambda article_id: writer.delete_by_term("article_id", str(article_id), searcher=searcher)
    finally:
        searcher.close()


def _write_one(write: Callable[..., None], article_id: int, document: dict[str, Any]) -> None:
    try:
        write(**document)
    except Exception as exc:  # noqa: BLE001  Whoosh rejected it: only this article is set aside
        raise _DocumentRejected(article_id, f"{type(exc).__name__}: {exc}"[:300]) from exc


def safe_document(source: Source) -> dict[str, Any] | str:
    """The document of `source`, or why it cannot be indexed (the rest of the batch goes on)."""
    try:
        document = document_for(source)
        for value in document.values():
            if isinstance(value, str):
                value.encode("utf-8")  # Whoosh stores terms as UTF-8: a lone surrogate would fail mid-write
        document = analyzed(document)
    except Exception as exc:  # noqa: BLE001  one article must never stop the others
        return f"{type(exc).__name__}: {exc}"[:300]
    return document


@contextmanager
def _document_builder(count: int) -> Iterator[Callable[[list[Source]], Iterable[dict[str, Any] | str]]]:
    """Build documents in worker processes for bulk writes, in this process otherwise.

    Rendering Markdown is half the work of indexing; other cores can do it while this process
    analyzes and writes, which is what makes a large `kb import` into a live index bearable (a
    rebuild goes further: see kb.search.segment_builders).
    Forking a process that runs other threads (a server) can copy a lock some thread holds, so
    only single-threaded commands use the pool.
    """
    cores = os.cpu_count() or 1
    if count < PARALLEL_FROM or cores < 2 or threading.active_count() > 1:
        yield lambda sources: map(safe_document, sources)
        return
    semantic.model()  # loaded once here: the forked workers share it instead of each loading it
    with multiprocessing.get_context("fork").Pool(processes=min(cores, MAX_WORKERS)) as pool:
        yield lambda sources: pool.imap(safe_document, sources, chunksize=20)


def rebuild(
    session: Session, index_dir: Path, *, progress: Progress | None = None, lock_timeout: float = REBUILD_LOCK_TIMEOUT
) -> list[int]:
    """Rebuild the index from the database; return the ids of the articles indexed.

    A readable index of the current schema is cleared in one commit, so searchers see the old
    index until the new one is complete. A missing, damaged or outdated index is recreated from
    scratch. Changes committed while it runs are applied afterwards: the horizon is taken first.
    """
    with write_lock(index_dir, lock_timeout):
        return _rebuild_locked(session, index_dir, progress)


def _rebuild_locked(session: Session, index_dir: Path, progress: Progress | None) -> list[int]:
    horizon = changelog.start_horizon(session)
    ids = list(session.scalars(select(Article.id).order_by(Article.id)))
    failed: dict[int, str] = {}
    while True:  # an article Whoosh rejects mid-write spoils the writer: start again without it
        try:
            _write_fresh(session, _clean_index(index_dir), [i for i in ids if i not in failed], progress, failed)
        except _DocumentRejected as rejected:
            failed[rejected.article_id] = rejected.reason
            continue
        break
    _write_state(index_dir, IndexState(SCHEMA_VERSION, horizon, frozenset(), failed))
    for article_id, reason in failed.items():
        log.error("Article %s could not be indexed and was set aside: %s", article_id, reason)
    return [i for i in ids if i not in failed]


def _write_fresh(
    session: Session, ix: whoosh_index.Index, article_ids: list[int], progress: Progress | None, failed: dict[int, str]
) -> None:
    """Write these articles as the whole index, replacing every segment in one commit."""
    workers = _builder_processes(len(article_ids))
    if workers > 1:
        semantic.model()  # loaded once here: the forked builders share it instead of each loading it
        built = segment_builders.build_segments(
            lambda: _Writer(ix, _lk=False, limitmb=REBUILD_POOL_MB // workers),
            _write_sources,
            _source_batches(session, article_ids, progress),
            workers=workers,
            progress=progress,
        )
        failed.update(built.failed)
        _Writer(ix, _lk=False).commit_segments(built.segments)
        return
    writer = _Writer(ix, _lk=False, limitmb=REBUILD_POOL_MB)
    try:
        _write_documents(session, writer, article_ids, progress, failed=failed, fresh=True)
    except BaseException:
        writer.cancel()
        raise
    writer.commit(mergetype=CLEAR)


def _builder_processes(count: int) -> int:
    """How many processes write a rebuild of `count` articles (see kb.search.segment_builders):
    one per core, each with a batch of work at least.

    Forking a process that runs other threads (a server) can copy a lock some thread holds, so
    only single-threaded commands fork.
    """
    if threading.active_count() > 1:
        return 1
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS, count // BUILDER_BATCH))


def _sources_by_chunk(session: Session, article_ids: list[int]) -> Iterator[tuple[list[Source], list[int]]]:
    """The articles as plain data, CHUNK at a time, with the ids the database no longer holds."""
    for start in range(0, len(article_ids), CHUNK):
        chunk = article_ids[start : start + CHUNK]
        found = {a.id: a for a in session.scalars(select(Article).where(Article.id.in_(chunk)))}
        yield [Source.of(found[i]) for i in chunk if i in found], [i for i in chunk if i not in found]


def _source_batches(session: Session, article_ids: list[int], progress: Progress | None) -> Iterator[list[Source]]:
    """The articles in batches for the builder processes (read in this process)."""
    for sources, gone in _sources_by_chunk(session, article_ids):
        if progress and gone:
            progress(len(gone))  # deleted since the rebuild began: nothing to write
        for first in range(0, len(sources), BUILDER_BATCH):
            yield sources[first : first + BUILDER_BATCH]


def _write_sources(writer: Any, sources: list[Source]) -> dict[int, str]:
    """Build and write these articles with `writer` (in a builder process); return those set aside."""
    failed: dict[int, str] = {}
    for source in sources:
        document = safe_document(source)
        if isinstance(document, str):
            failed[source.id] = document
        else:
            _write_one(writer.add_document, source.id, document)
    return failed


def _clean_index(index_dir: Path) -> whoosh_index.Index:
    """The index to rebuild into: the current one when readable, else a new one (lock held)."""
    if not needs_rebuild(index_dir):
        try:
            return open_index(index_dir)
        except IndexDamaged:
            pass
    _remove_index_files(index_dir)
    return FileStorage(str(index_dir)).create_index(build_schema())


def _remove_index_files(index_dir: Path) -> None:
    if not index_dir.is_dir():
        return
    for path in index_dir.iterdir():
        if path.name in KEEP_FILES:
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def check(index_dir: Path, *, terms_per_segment: int = 50) -> str | None:
    """Return None when the index reads, else a message naming the problem and the fix.

    Damage inside a postings list shows only when it is read, so the first postings of every
    segment are read too (`kb doctor` reads far more).
    """
    if not index_exists(index_dir):
        return f"There is no search index in {index_dir}. Build it with: kb reindex"
    try:
        with open_index(index_dir).reader() as reader:
            for leaf, _ in reader.leaf_readers():
                for count, (fieldname, text) in enumerate(leaf.all_terms()):
                    if count >= terms_per_segment:
                        break
                    leaf.postings(fieldname, text).all_ids()
    except IndexDamaged as exc:
        return str(exc)
    except Exception as exc:  # a segment file can be unreadable even when the TOC opens
        return str(IndexDamaged(index_dir, f"{type(exc).__name__}: {exc}"))
    return None


def has_work(session: Session, index_dir: Path) -> bool:
    """Whether `apply_pending` would do anything: cheap (a file and one query), no lock taken."""
    return needs_rebuild(index_dir) or bool(pending_events(session, index_dir))


def pending_articles(session: Session, index_dir: Path) -> int:
    """How many changed articles this index has not applied yet (0 when it is up to date)."""
    events = pending_events(session, index_dir)
    if events is None:
        return session.scalar(select(func.count(Article.id))) or 0
    return len(set(events.values()))


def pending_events(session: Session, index_dir: Path) -> dict[int, int] | None:
    """The change-log events this index has not applied, as {event id: article id}; None when the
    index has to be rebuilt first (every article is pending then)."""
    state = read_state(index_dir)
    if state.schema_version != SCHEMA_VERSION:
        return None
    return {event.id: event.article_id for event in changelog.pending(session, state.horizon, state.applied).events}
