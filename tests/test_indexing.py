"""The index follows the database by what was committed, off the request path: nothing committed
is ever skipped, a writer holding the index lock never stalls a search or a save, and one
article that cannot be indexed never holds up the others."""

from __future__ import annotations

import os
import pickle
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import databases
import pytest
from conftest import add_user, indexed, make_token
from kbserver import run_kb
from sqlalchemy import func, select, update
from whoosh.filedb.filestore import FileStorage
from whoosh.writing import SegmentWriter

from kb import search as kb_search
from kb import store
from kb.db import begin_write, get_session
from kb.models import Article, Status
from kb.search import indexer
from kb.search.schema import Analyzed, build_schema


def bearer(app, name: str, role: str = "author") -> dict:
    add_user(app, name, role)
    return {"Authorization": f"Bearer {make_token(app, name)}"}


def found(client, headers, query: str) -> list[str]:
    response = client.get("/api/v1/search", query_string={"q": query}, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [r["slug"] for r in response.get_json()["results"]]


def indexed_versions(app) -> dict[int, int]:
    with app.app_context():
        return kb_search.service().indexed_versions()


def database_versions(app) -> dict[int, int]:
    with app.app_context():
        return {a.id: a.version for a in get_session().scalars(select(Article))}


def retitle(session, article_id: int, title: str) -> None:
    article = session.get(Article, article_id)
    data = store.ArticleFields.of(article)
    data.title = title
    store.update_article(session, article, data, user=None, based_on=article.version)


def test_changes_committed_out_of_order_are_all_applied(app):
    """The PostgreSQL case that lost 618-922 articles: a transaction that took its event first
    commits last. On SQLite writers take turns, so the second simply waits for the first."""
    with app.app_context():
        session = get_session()
        for title in ("Early bird article", "Late owl article"):
            data = store.ArticleFields(slug=store.slugify(title), title=title, status=Status.PUBLISHED)
            store.create_article(session, data, user=None)
        session.commit()
    indexed(app)
    sessions = app.extensions["kb.sessionmaker"]
    first, second = sessions(), sessions()
    early = first.scalar(select(Article.id).where(Article.slug == "early-bird-article"))
    late = second.scalar(select(Article.id).where(Article.slug == "late-owl-article"))
    if first.get_bind().dialect.name == "sqlite":
        pytest.skip("SQLite lets one writer at a time: commit order is event order there")
    retitle(first, early, "Early bird renamed aardvark")  # event written first, not committed yet
    retitle(second, late, "Late owl renamed pangolin")
    second.commit()
    indexed(app)  # applies the second transaction's change; the first is still open
    first.commit()  # the transaction that wrote the lower event id commits last
    indexed(app)
    headers = bearer(app, "reader", "agent")
    client = app.test_client()
    assert found(client, headers, "pangolin") == ["late-owl-article"]
    assert found(client, headers, "aardvark") == ["early-bird-article"]
    assert indexed_versions(app) == database_versions(app)
    first.close()
    second.close()


def test_many_interleaved_writers_leave_no_article_behind(app):
    """Writers in several threads commit in random order while the index writer applies batches."""
    with app.app_context():
        session = get_session()
        for n in range(30):
            store.create_article(session, store.ArticleFields(slug=f"bulk-{n}", title=f"Bulk article {n}"), user=None)
        session.commit()
        ids = list(session.scalars(select(Article.id)))
    sessions = app.extensions["kb.sessionmaker"]
    errors: list[BaseException] = []

    def writer(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for round_ in range(5):
                with sessions() as session:
                    begin_write(session)
                    for article_id in sorted(rng.sample(ids, 3)):  # one lock order: no deadlock
                        try:
                            retitle(session, article_id, f"Bulk article {article_id} round {round_} by {seed}")
                        except store.VersionConflict:
                            pass  # another writer saved it first (PostgreSQL): refused, not lost
                    time.sleep(rng.random() / 50)
                    session.commit()
        except BaseException as exc:  # noqa: BLE001  reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    indexed(app)
    assert indexed_versions(app) == database_versions(app)


def test_a_writer_holding_the_index_lock_never_stalls_searches_or_saves(starter_app):
    headers = bearer(starter_app, "writer")
    client = starter_app.test_client()
    index_dir = Path(starter_app.config["INDEX_DIR"])
    outcome: dict[str, int] = {}

    def save_and_search() -> None:
        saved = client.put(
            "/api/v1/articles/printer-shows-offline",
            json={"title": "Printer shows offline zanzibar", "version": 1},
            headers=headers,
        )
        outcome["save"] = saved.status_code
        outcome["search"] = client.get("/api/v1/search?q=printer+offline", headers=headers).status_code

    with indexer.write_lock(index_dir, timeout=5):  # as a `kb reindex` in another process would
        request = threading.Thread(target=save_and_search)
        request.start()
        request.join(20)  # the old code waited 30 s for the lock, then answered 500
        assert not request.is_alive(), "a request waited for the index lock"
        assert outcome == {"save": 200, "search": 200}
        assert found(client, headers, "zanzibar") == []  # not in the index yet: the lock is held
    indexed(starter_app)
    assert found(client, headers, "zanzibar") == ["printer-shows-offline"]


def test_an_article_that_cannot_be_indexed_is_set_aside_and_the_rest_flows(starter_app):
    headers = bearer(starter_app, "writer", "admin")  # publishes at once, without review
    client = starter_app.test_client()
    broken = client.put(
        "/api/v1/articles/printer-shows-offline", json={"tags": ["x\ud800y"], "version": 1}, headers=headers
    )
    assert broken.status_code in (200, 400)  # refusing it at the door is fine too
    created = client.post(
        "/api/v1/articles", json={"title": "Kettle trips the breaker", "status": "published"}, headers=headers
    )
    assert created.status_code == 201
    indexed(starter_app)
    assert found(client, headers, "kettle breaker")[0] == "kettle-trips-the-breaker"
    assert "printer-shows-offline" in found(client, headers, "printer offline")[:3]  # the last good version
    if broken.status_code == 200:
        failed = indexer.read_state(Path(starter_app.config["INDEX_DIR"])).failed
        with starter_app.app_context():
            article_id = store.find_by_slug(get_session(), "printer-shows-offline").id
        assert article_id in failed and "UnicodeEncodeError" in failed[article_id]
        fixed = client.put(
            "/api/v1/articles/printer-shows-offline", json={"tags": ["x"], "version": 2}, headers=headers
        )
        assert fixed.status_code == 200
        indexed(starter_app)
        assert article_id not in indexer.read_state(Path(starter_app.config["INDEX_DIR"])).failed


def test_a_rebuild_running_while_authors_save_loses_none_of_their_changes(starter_app):
    runner = starter_app.test_cli_runner()
    outcome: dict = {}
    rebuild = threading.Thread(target=lambda: outcome.setdefault("result", runner.invoke(args=["reindex"])))
    with starter_app.app_context():
        session = get_session()
        ids = list(session.scalars(select(Article.id).order_by(Article.id)))[:10]
    rebuild.start()
    with starter_app.app_context():
        for n, article_id in enumerate(ids):
            session = get_session()
            retitle(session, article_id, f"Saved during the rebuild {n} wombat")
            session.commit()
    rebuild.join(120)
    assert outcome["result"].exit_code == 0, outcome["result"].output
    indexed(starter_app)
    assert indexed_versions(starter_app) == database_versions(starter_app)
    headers = bearer(starter_app, "reader", "agent")
    assert len(found(starter_app.test_client(), headers, "wombat")) == len(ids)


def test_a_pasted_blob_does_not_stall_the_index_writer(starter_app):
    """60 KB of base64 pasted as text: the code detector once took minutes on such a token."""
    headers = bearer(starter_app, "writer", "admin")  # publishes at once, without review
    client = starter_app.test_client()
    blob = "iVBORwKGgoAAAANSUhEUg" + "QmFzZTY" * 8500  # no digit: the slow case of the old look-ahead
    response = client.post(
        "/api/v1/articles",
        json={
            "title": "Screenshot of the error dialog",
            "body": f"![shot](data:image/png;base64,{blob})\n",
            "status": "published",
        },
        headers=headers,
    )
    assert response.status_code == 201
    client.post(
        "/api/v1/articles", json={"title": "Keyboard types wrong letters", "status": "published"}, headers=headers
    )
    indexed(starter_app)  # within its 10 s, or this fails
    assert found(client, headers, "keyboard wrong letters")[0] == "keyboard-types-wrong-letters"
    assert found(client, headers, "screenshot error dialog")[0] == "screenshot-of-the-error-dialog"


def test_an_index_holding_no_article_answers_searches_with_no_results(app):
    """A new kb with no articles, or one whose index is empty for a moment: no result, not a 500."""
    headers = bearer(app, "reader", "agent")
    client = app.test_client()
    assert found(client, headers, "printer offline") == [] and found(client, headers, "pritner") == []
    typing = client.get("/api/v1/search", query_string={"q": "passw", "typing": "1"}, headers=headers)
    assert typing.status_code == 200 and typing.get_json()["results"] == []
    result = app.test_cli_runner().invoke(args=["search", "printer"])
    assert result.exit_code == 0 and "0 results for 'printer'" in result.output, result.output


@contextmanager
def committing(folder: Path) -> Iterator[list[int]]:
    """An index in `folder` taking one-document commits back to back, with Whoosh's default
    merges, until the block ends; yields the running count of commits."""
    from whoosh.fields import ID, TEXT, Schema
    from whoosh.filedb.filestore import FileStorage

    folder.mkdir()
    index = FileStorage(str(folder)).create_index(Schema(key=ID(stored=True), body=TEXT))
    stop, commits = threading.Event(), [0]

    def storm():
        while not stop.is_set():
            writer = index.writer()
            writer.add_document(key=str(commits[0]), body="router lights blink amber")
            writer.commit()
            commits[0] += 1

    thread = threading.Thread(target=storm)
    thread.start()
    try:
        yield commits
    finally:
        stop.set()
        thread.join()


# Enough attempts racing enough commits, however slow the machine; the deadline only stops a hang.
STORM_DEADLINE_S = 120


def test_searchers_refreshed_while_merges_delete_segments_never_fail(tmp_path):
    """Whoosh's own refresh closes the old readers, and when a merge deleted a segment file
    meanwhile it retries and closes them again: "Reader already closed", a 500 in CI's load run.
    Each search refreshes its pooled snapshot like this, under commits that merge."""
    from kb.search.engine import Snapshot
    from kb.search.segments import SegmentCache

    folder, failures, refreshed = tmp_path / "index", [], 0
    deadline = time.monotonic() + STORM_DEADLINE_S
    with committing(folder) as commits:
        cache = SegmentCache(postings_bytes=1 << 20)
        snapshots = [Snapshot(folder, term_cache_bytes=1 << 20, segments=cache) for _ in range(4)]
        while (refreshed < 2000 or commits[0] < 300) and time.monotonic() < deadline:
            snapshot = snapshots[refreshed % len(snapshots)]
            try:
                snapshot.refresh()
                snapshot.searcher.doc_count()
            except Exception as exc:  # noqa: BLE001  any failure is what this test looks for
                failures.append(repr(exc))
            refreshed += 1
        for snapshot in snapshots:
            snapshot.close()
    assert failures == []
    assert refreshed >= 2000 and commits[0] >= 300, f"only {refreshed} refreshes and {commits[0]} commits"


def test_searchers_opened_while_the_writer_commits_never_fail(tmp_path):
    """Opening lists the folder for the newest commit, then reads it: a commit in between deletes
    the one listed. Seen once in a load run as a 503 'index cannot be read'; this opens searchers
    the way a busy kb does (a new one per extra concurrent search) under a storm of commits."""
    from kb.search.storage import MappedStorage

    folder, failures, opened = tmp_path / "index", [], 0
    deadline = time.monotonic() + STORM_DEADLINE_S
    with committing(folder) as commits:
        while (opened < 200 or commits[0] < 100) and time.monotonic() < deadline:
            try:
                MappedStorage(str(folder)).open_index().searcher().close()
                opened += 1
            except OSError as exc:
                failures.append(repr(exc))
    assert failures == []
    assert opened >= 200 and commits[0] >= 100, f"only {opened} openings and {commits[0]} commits"


def postings_and_stored(index_dir: Path) -> tuple[list[tuple], list[dict]]:
    """Every posting of a one-segment index (article id in place of the document number) and every
    document's stored fields."""
    with indexer.open_index(index_dir).searcher() as searcher:
        reader = searcher.reader()
        stored = dict(reader.iter_docs())
        article = {docnum: fields["article_id"] for docnum, fields in stored.items()}
        postings = sorted((f, t, article[d], w, v) for f, t, d, w, v in reader.iter_postings())
        return postings, sorted(stored.values(), key=lambda fields: fields["article_id"])


def lengths_and_columns(index_dir: Path) -> dict[str, tuple[list, list]]:
    """Each article's field lengths (what BM25 reads) and column values (vectors, facets, pairs)."""
    with indexer.open_index(index_dir).searcher() as searcher:
        reader = searcher.reader()
        scorable = sorted(name for name, field in reader.schema.items() if field.scorable)
        columns = {name: reader.column_reader(name) for name in reader.schema.names() if reader.has_column(name)}
        return {
            fields["article_id"]: (
                [reader.doc_field_length(docnum, name) for name in scorable],
                [column[docnum] for column in columns.values()],
            )
            for docnum, fields in reader.iter_docs()
        }


def test_a_rebuild_by_builder_processes_holds_what_one_writer_writes(starter_app, tmp_path, monkeypatch):
    """`kb reindex` writes one segment per builder process, all at once; the index must hold what
    one writer in one process writes, down to field lengths and columns, and an article set aside
    in a builder must be reported as one set aside by the single writer is."""
    with starter_app.app_context():
        session = get_session()
        broken = session.scalar(select(Article.id).where(Article.slug == "printer-shows-offline"))
        session.execute(update(Article).where(Article.id == broken).values(tags=["x\ud800y"]))
        session.commit()
    if (os.cpu_count() or 1) < 2:
        pytest.skip("on one core a rebuild has one writer")
    parallel = tmp_path / "parallel"
    env = {"KB_DATABASE_URL": databases.database_url(tmp_path), "KB_INDEX_DIR": str(parallel), "KB_SECRET_KEY": "t"}
    run_kb(tmp_path, "reindex", env=env)
    with indexer.open_index(parallel).reader() as reader:
        builders = len(list(reader.leaf_readers()))
    with starter_app.app_context():
        articles = get_session().scalar(select(func.count(Article.id)))
    assert builders == min(os.cpu_count() or 1, indexer.MAX_WORKERS, articles // indexer.BUILDER_BATCH) > 1

    monkeypatch.setattr(indexer, "MAX_WORKERS", 1)
    assert starter_app.test_cli_runner().invoke(args=["reindex"]).exit_code == 0
    single = Path(starter_app.config["INDEX_DIR"])
    assert postings_and_stored(parallel) == postings_and_stored(single)
    assert lengths_and_columns(parallel) == lengths_and_columns(single)
    assert str(broken) not in lengths_and_columns(parallel)
    assert set(indexer.read_state(parallel).failed) == set(indexer.read_state(single).failed) == {broken}


def test_a_rebuild_past_its_memory_budget_writes_the_same_index(starter_app, monkeypatch):
    """Past its budget the rebuild spills sorted runs of postings to disk, a block at a time, and
    merges them back: the index must be the one an in-memory rebuild writes."""
    runner = starter_app.test_cli_runner()
    index = Path(starter_app.config["INDEX_DIR"])
    assert runner.invoke(args=["reindex"]).exit_code == 0
    in_memory = postings_and_stored(index)
    budget_mb = 0.05
    # Enough postings for several runs on that budget, each of several blocks.
    assert len(in_memory[0]) * indexer.POSTING_OVERHEAD > 4 * budget_mb * 2**20
    monkeypatch.setattr(indexer, "REBUILD_POOL_MB", budget_mb)
    monkeypatch.setattr(indexer, "RUN_BLOCK", 100)
    assert runner.invoke(args=["reindex"]).exit_code == 0
    assert postings_and_stored(index) == in_memory
    assert "printer-shows-offline" in runner.invoke(args=["search", "printer", "offline"]).output


def test_an_article_analyzed_in_a_worker_process_is_indexed_as_the_writer_would(starter_app, tmp_path):
    """Bulk writes analyze articles in the processes that render them and send the rows over a
    pipe; the index must hold what analyzing them in the writer would have given."""
    with starter_app.app_context():
        sources = [indexer.Source.of(a) for a in get_session().scalars(select(Article).order_by(Article.id))]
    sent = [pickle.loads(pickle.dumps(indexer.safe_document(source))) for source in sources]
    assert all(isinstance(document["text"], Analyzed) for document in sent)
    for name, documents in (("analyzed", sent), ("plain", [indexer.document_for(s) for s in sources])):
        writer = FileStorage(str(tmp_path / name)).create().create_index(build_schema()).writer()
        for document in documents:
            writer.add_document(**document)
        writer.commit()
    assert postings_and_stored(tmp_path / "analyzed") == postings_and_stored(tmp_path / "plain")


def term_statistics(index_dir: Path) -> dict[tuple, tuple]:
    """What each term's entry records for ranking: frequencies, and the lengths and weights that
    bound the scores of the documents holding it."""
    with indexer.open_index(index_dir).reader() as reader:
        infos = ((term, reader.term_info(*term)) for term in reader.all_terms())
        return {
            term: (i.weight(), i.doc_frequency(), i.min_length(), i.max_length(), i.max_weight()) for term, i in infos
        }


def test_the_writer_records_the_term_statistics_whoosh_records(starter_app, tmp_path):
    """kb's writer reads each document's field lengths once when it writes the postings, not once
    per posting as Whoosh's does: each term must record the same bounds either way."""
    with starter_app.app_context():
        sources = [indexer.Source.of(a) for a in get_session().scalars(select(Article).order_by(Article.id))]
    for name, writer_class in (("kb", indexer._Writer), ("whoosh", SegmentWriter)):
        writer = writer_class(FileStorage(str(tmp_path / name)).create().create_index(build_schema()))
        indexer._write_sources(writer, sources)
        writer.commit()
    assert term_statistics(tmp_path / "kb") == term_statistics(tmp_path / "whoosh")


def test_a_searcher_kept_open_across_saves_sees_each_save_once_as_saved_last(starter_app):
    """After a commit a pooled searcher keeps the segments it has open and takes their deleted
    documents from the new commit: an article saved again shows once, in its newest form, never
    in an earlier one, while the others stay as they were."""
    client, headers = starter_app.test_client(), bearer(starter_app, "reader", "agent")
    slug = "printer-shows-offline"
    assert found(client, headers, "printer offline")[0] == slug  # the searcher is open before the saves
    with starter_app.app_context():
        article_id = get_session().scalar(select(Article.id).where(Article.slug == slug))
        others = found(client, headers, "password")
    for word in ("aardvark", "pangolin", "wombat"):
        with starter_app.app_context():
            session = get_session()
            retitle(session, article_id, f"Printer shows offline {word}")
            session.commit()
        indexed(starter_app)
        assert found(client, headers, word) == [slug]
        assert found(client, headers, "printer offline").count(slug) == 1
    assert found(client, headers, "aardvark") == [] and found(client, headers, "pangolin") == []
    assert found(client, headers, "password") == others
