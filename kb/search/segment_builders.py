"""A rebuild written by several processes at once, each into a segment of its own.

A single Whoosh writer adds documents one at a time and sorts every posting in one process at
commit: at 10k articles that commit alone took a third of `kb reindex`, with the other core idle.
Here each worker process takes batches of articles from a queue, builds and writes them into its
own segment and finishes that segment (sorting its postings) at the same time as the others. The
caller commits the finished segments as the index in one step, so searchers see the old index
until the new one is whole, as with a single writer.

Workers are forked, so they share the loaded embedding model with the parent; they never touch
the database (the parent reads the articles and hands them over as plain data).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

# Batches waiting in the queue per worker: enough that a worker never waits for the parent.
QUEUED_PER_WORKER = 2
# How often (seconds) the parent looks up from waiting to check that every worker is alive.
POLL = 0.2
# How long a worker that exited is given for its last message to arrive.
LAST_WORDS = 2.0

# A batch's writer: writes the batch with `writer`, returns {item id: why it was set aside}.
WriteBatch = Callable[[Any, list], dict[int, str]]


class BuilderFailed(RuntimeError):
    """A worker process stopped without finishing its segment (killed, out of memory)."""


@dataclass
class Built:
    """The finished segments and the articles set aside while building them."""

    segments: list[Any] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def build_segments(
    make_writer: Callable[[], Any],
    write: WriteBatch,
    batches: Iterable[list],
    *,
    workers: int,
    progress: Callable[[int], None] | None = None,
) -> Built:
    """Write `batches` with `workers` forked processes; return their finished segments.

    An exception raised in a worker (a document Whoosh rejects) is raised here, once every worker
    has been stopped; what they wrote is left for the next commit's clean-up, never committed.
    """
    context = multiprocessing.get_context("fork")
    jobs = context.Queue(maxsize=workers * QUEUED_PER_WORKER)
    reports = context.Queue()
    processes = [
        context.Process(target=_work, args=(number, make_writer, write, jobs, reports), daemon=True)
        for number in range(workers)
    ]
    for process in processes:
        process.start()
    watch = _Watch(processes, reports, progress)
    try:
        for batch in batches:
            watch.put(jobs, batch)
        for _ in processes:
            watch.put(jobs, None)
        return watch.results()
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()
        # Batches a stopped builder never took must not keep this process from exiting: the
        # queue's thread would wait forever to hand them over.
        jobs.cancel_join_thread()
        jobs.close()
        reports.close()


class _Watch:
    """The parent's side: hands out batches and collects what the workers report."""

    def __init__(self, processes: list, reports: Any, progress: Callable[[int], None] | None):
        self.processes, self.reports, self.progress = processes, reports, progress
        self.built = Built()
        self.finished: dict[int, Any] = {}  # worker number -> its segment (None when it wrote nothing)

    def put(self, jobs: Any, batch: list | None) -> None:
        while True:
            self._take_reports()
            try:
                jobs.put(batch, timeout=POLL)
                return
            except queue.Full:
                self._check_alive()

    def results(self) -> Built:
        while len(self.finished) < len(self.processes):
            if not self._take_reports(wait=POLL):
                self._check_alive()
        self.built.segments = [segment for segment in self.finished.values() if segment is not None]
        return self.built

    def _take_reports(self, wait: float = 0.0) -> bool:
        """Handle the reports already sent (waiting up to `wait` for one); False when none came."""
        took = False
        while True:
            try:
                report = self.reports.get(timeout=wait) if wait else self.reports.get_nowait()
            except queue.Empty:
                return took
            took, wait = True, 0.0
            self._handle(*report)

    def _handle(self, kind: str, number: int, payload: Any) -> None:
        if kind == "error":
            raise payload
        if kind == "batch":
            count, failed = payload
            self.built.failed.update(failed)
            if self.progress:
                self.progress(count)
        else:
            self.finished[number] = payload

    def _check_alive(self) -> None:
        for number, process in enumerate(self.processes):
            if number in self.finished or process.exitcode is None:
                continue
            if self._take_reports(wait=LAST_WORDS) and number in self.finished:
                continue
            raise BuilderFailed(
                f"An index builder process stopped (exit code {process.exitcode}) before finishing its part; "
                "the old index is unchanged. Run kb reindex again."
            )


def _work(number: int, make_writer: Callable[[], Any], write: WriteBatch, jobs: Any, reports: Any) -> None:
    """A worker's life: write batches until told to stop, then finish the segment."""
    parent = os.getppid()
    try:
        writer = make_writer()
        while (batch := _next_batch(jobs, parent)) is not None:
            reports.put(("batch", number, (len(batch), write(writer, batch))))
        # Finish the segment files only: committing (and removing the shared temporary folder)
        # is the parent's, once every worker is done.
        segment = writer._finalize_segment() if writer._added else None
        reports.put(("done", number, segment))
    except BaseException as exc:  # noqa: BLE001  the parent decides; it re-raises this
        reports.put(("error", number, _sendable(exc)))


def _next_batch(jobs: Any, parent: int) -> list | None:
    """The next batch, or None when told to stop; a worker whose parent was killed ends itself."""
    while True:
        try:
            return jobs.get(timeout=1.0)
        except queue.Empty:
            if os.getppid() != parent:
                os._exit(1)


def _sendable(exc: BaseException) -> BaseException:
    """`exc` if it survives pickling (the way back to the parent), else a plain copy of its message."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001  any failure means: send the text instead
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc
