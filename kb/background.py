"""What a running kb does outside requests: index writing, golden re-checks, search-log writes.

Requests only read, or commit their own change and return; everything that may wait on a lock
or take seconds happens here, in three daemon threads per serving process:

- the index writer (kb.search.worker), active in one process per machine;
- golden re-checks after the writer applied article changes, in the same process;
- the search-log flush (kb.feedback.SearchLogBuffer), once a second in every process, which
  also deletes expired searches and call records once a day (kb.loop.retention).

`kb serve` starts them in each serving process; CLI commands that only run once do not.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
from pathlib import Path

from flask import Flask, current_app

from kb import golden
from kb.feedback import SearchLogBuffer
from kb.loop import retention
from kb.search.worker import IndexWriter

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
PRUNE_FIRST_AFTER = 60.0


def init_app(app: Flask) -> None:
    """Give `app` its search-log buffer; a served app starts its threads with its first request.

    `kb serve` starts them itself; the first-request start is for any other WSGI server given
    `kb:create_app()` (gunicorn, uWSGI), where threads must start in each worker process, after
    the fork. Tests set BACKGROUND to False and start them when they serve.
    """
    app.extensions["kb.searchlog"] = SearchLogBuffer()
    if app.config.get("BACKGROUND", True):
        app.before_request(lambda: start(app))


def search_log() -> SearchLogBuffer:
    return current_app.extensions["kb.searchlog"]


_starting = threading.Lock()


def start(app: Flask) -> None:
    """Start this process's background threads for `app` (once)."""
    if "kb.background" in app.extensions:
        return
    with _starting:
        if "kb.background" not in app.extensions:
            _start(app)


def _start(app: Flask) -> None:
    sessions = app.extensions["kb.sessionmaker"]
    rechecks = GoldenRechecks(app)
    writer = IndexWriter(sessions, Path(app.config["INDEX_DIR"]), on_applied=rechecks.submit)
    flusher = LogFlusher(app)
    app.extensions["kb.background"] = (writer, rechecks, flusher)
    for thread in (rechecks, writer, flusher):
        thread.start()
    atexit.register(stop, app)


def stop(app: Flask) -> None:
    """Stop the threads, writing what the search log still holds."""
    threads = app.extensions.pop("kb.background", ())
    for thread in threads:
        thread.stop()


def index_writer(app: Flask) -> IndexWriter | None:
    threads = app.extensions.get("kb.background")
    return threads[0] if threads else None


def changed(app: Flask) -> None:
    """A change was committed in this process: let the index writer look at once."""
    writer = index_writer(app)
    if writer is not None:
        writer.wake()


def wait_until_indexed(app: Flask, timeout: float = 10.0) -> bool:
    """Wait until this process's index writer has applied everything committed before the call,
    and the golden queries those changes can affect are re-checked.

    For tests and commands run in the writer's process; False on timeout or when this process
    does not write the index.
    """
    threads = app.extensions.get("kb.background")
    if not threads:
        return False
    writer, rechecks, _flusher = threads
    deadline = time.monotonic() + timeout
    if not (writer.status().is_writer or writer.wait_to_lead(timeout)):
        return False
    return writer.wait_caught_up(max(0.0, deadline - time.monotonic())) and rechecks.wait_idle(
        max(0.0, deadline - time.monotonic())
    )


def flush_search_log(app: Flask) -> None:
    """Write what the search-log buffer holds now (the flush thread does this every second)."""
    threads = app.extensions.get("kb.background")
    if threads:
        threads[2].flush()


class _Loop(threading.Thread):
    def __init__(self, app: Flask, name: str):
        super().__init__(name=name, daemon=True)
        self.app = app
        self._stopping = threading.Event()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(timeout)


class LogFlusher(_Loop):
    """Writes the search-log buffer once a second, and once more on the way out; prunes daily;
    reloads the helpful votes every kb.search.helpfulness.REFRESH_SECONDS.

    Every serving process prunes (a minute after it starts, then every PRUNE_INTERVAL_SECONDS):
    deleting what another process already deleted is no work, and no process has to be the one.
    """

    def __init__(self, app: Flask):
        super().__init__(app, "kb-search-log")
        self.buffer: SearchLogBuffer = app.extensions["kb.searchlog"]
        self.interval = float(app.config["PRUNE_INTERVAL_SECONDS"])
        self._next_prune = time.monotonic() + min(PRUNE_FIRST_AFTER, self.interval)

    def run(self) -> None:
        while not self._stopping.wait(FLUSH_SECONDS):
            self.flush()
            self.reload_votes()
            if time.monotonic() >= self._next_prune:
                self._next_prune = time.monotonic() + self.interval
                self.prune()
        self.flush()

    def prune(self) -> None:
        config = self.app.config
        try:
            with self.app.extensions["kb.sessionmaker"]() as session:
                done = retention.prune(
                    session,
                    search_days=int(config["SEARCH_RETENTION_DAYS"]),
                    call_days=int(config["CALL_RETENTION_DAYS"]),
                )
            if done.total:
                log.info("Pruned %s searches, %s calls, %s gaps", done.searches, done.calls, done.gaps)
        except Exception:  # noqa: BLE001  tomorrow's prune will catch up
            log.exception("Expired searches and calls not pruned")

    def reload_votes(self) -> None:
        """Keep this process's helpfulness current with other processes' votes (kb.search.helpfulness)."""
        helpfulness = self.app.extensions["kb.search"].helpfulness
        if not helpfulness.due():
            return
        try:
            helpfulness.reload()
        except Exception:  # noqa: BLE001  the ranking keeps the last numbers; next second tries again
            log.exception("Helpful votes not reloaded")

    def flush(self) -> None:
        if not len(self.buffer):
            return
        try:
            with self.app.extensions["kb.sessionmaker"]() as session:
                self.buffer.flush(session)
        except Exception:  # noqa: BLE001  the entries stay buffered; try again in a second
            log.exception("Search log not written yet (kept for the next try)")


class GoldenRechecks(_Loop):
    """Re-checks the golden queries that changed articles can affect, one batch at a time."""

    def __init__(self, app: Flask):
        super().__init__(app, "kb-golden-rechecks")
        self._queue: queue.Queue[list[int]] = queue.Queue()

    def submit(self, article_ids: list[int]) -> None:
        self._queue.put(article_ids)

    def pending(self) -> int:
        """Batches of changed articles submitted and not checked yet (the one being checked included)."""
        return self._queue.unfinished_tasks

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every submitted change is checked (queue.join with a deadline)."""
        deadline = time.monotonic() + timeout
        while self.pending():
            if time.monotonic() > deadline or not self.is_alive():
                return False
            time.sleep(0.02)
        return True

    def stop(self, timeout: float = 10.0) -> None:
        self._queue.put([])
        super().stop(timeout)

    def run(self) -> None:
        while not self._stopping.is_set():
            batches = [self._queue.get()]
            while not self._queue.empty():  # saves that came meanwhile: check each article once
                batches.append(self._queue.get_nowait())
            article_ids = list(dict.fromkeys(i for batch in batches for i in batch))
            try:
                if article_ids and not self._stopping.is_set():
                    self._recheck(article_ids)
            finally:
                for _ in batches:
                    self._queue.task_done()

    def _recheck(self, article_ids: list[int]) -> None:
        service = self.app.extensions["kb.search"]
        try:
            with self.app.extensions["kb.sessionmaker"]() as session:
                changes = [golden.ChangedArticle.since_previous(session, article_id) for article_id in article_ids]
                golden.regressions(session, service, changes)
                session.commit()
        except Exception:  # noqa: BLE001  a failed check must not stop the next ones
            log.exception("Golden queries not re-checked for articles %s", article_ids)
