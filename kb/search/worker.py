"""The index writer of a running kb: one thread, in one process per machine, off the request path.

Requests never touch the index lock: a save commits its revision and change-log event and
returns. This thread applies the log (kb.search.indexer.apply_pending) in small batches, woken at
once by saves in its own process and polling for saves made by other processes or machines.

Of all the processes serving one index folder (gunicorn workers, a second `kb serve`), the one
holding an exclusive lock on `kb-writer.lock` in that folder is the writer; the others retry
now and then, so when the writer's process dies (even killed), another takes over. The operating
system releases the lock with the process, so there is nothing to clean up after a crash.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from sqlalchemy.orm import Session, sessionmaker

from kb.search import indexer

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25  # how soon a save made in another process is picked up
BATCH = 100  # articles per index commit: keeps each hold of the write lock near a second
LEADER_RETRY_SECONDS = 2.0
BUSY_LOCK_TIMEOUT = 0.2
ERROR_BACKOFF_SECONDS = 5.0


@dataclass
class WriterStatus:
    is_writer: bool
    last_pass_at: float | None
    last_error: str | None
    busy: bool


class LeaderLock:
    """An exclusive, non-blocking lock on a file, held until released or the process ends."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def holder(self) -> str | None:
        """The process id written by the current holder, if any (for messages)."""
        try:
            return self.path.read_text(encoding="utf-8").strip() or None
        except OSError:
            return None


class IndexWriter(threading.Thread):
    """Applies the change log to one index folder while this process holds the writer lock."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        index_dir: Path,
        *,
        on_applied: Callable[[list[int]], None] | None = None,
        poll: float = POLL_SECONDS,
    ):
        super().__init__(name="kb-index-writer", daemon=True)
        self.sessions = sessions
        self.index_dir = index_dir
        self.lock = LeaderLock(index_dir / indexer.WRITER_LOCK_FILE)
        self.on_applied = on_applied
        self.poll = poll
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._passes = threading.Condition()
        self._finished_passes = 0  # passes completed with nothing left to apply
        self._last_pass_at: float | None = None
        self._last_error: str | None = None
        self._busy = False

    # --- control ---------------------------------------------------------------------------------

    def wake(self) -> None:
        """Look at the change log now (a save in this process just committed)."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self.is_alive():
            self.join(timeout)
        self.lock.release()

    def wait_caught_up(self, timeout: float = 10.0) -> bool:
        """Wait until a pass that started after this call found nothing left; False on timeout.

        Only meaningful in the writer's own process (tests, CLI); elsewhere see
        `kb.search.indexer.is_caught_up`.
        """
        deadline = time.monotonic() + timeout
        with self._passes:
            target = self._finished_passes + 2  # the pass running now may have started before the call
            self.wake()
            while self._finished_passes < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self.is_alive():
                    return False
                self._passes.wait(min(remaining, self.poll))
                self.wake()
        return True

    def wait_to_lead(self, timeout: float) -> bool:
        """Wait until this thread holds the writer lock (it takes it within a moment of starting)."""
        deadline = time.monotonic() + timeout
        while self.lock._fd is None:
            if time.monotonic() > deadline or not self.is_alive():
                return False
            time.sleep(0.01)
        return True

    def status(self) -> WriterStatus:
        return WriterStatus(self.lock._fd is not None, self._last_pass_at, self._last_error, self._busy)

    # --- the loop --------------------------------------------------------------------------------

    def run(self) -> None:
        while not self._stopping.is_set():
            if not self.lock.try_acquire():
                self._stopping.wait(LEADER_RETRY_SECONDS)
                continue
            self._wake.wait(self.poll)
            self._wake.clear()
            if not self._stopping.is_set():
                self._stopping.wait(self._one_pass())

    def _one_pass(self) -> float:
        """Apply one batch; return how long to pause before the next pass."""
        try:
            with self.sessions() as session:
                if not indexer.has_work(session, self.index_dir):  # the usual case: no lock, no index opened
                    applied = indexer.Applied()
                else:
                    applied = indexer.apply_pending(
                        session, self.index_dir, batch=BATCH, lock_timeout=BUSY_LOCK_TIMEOUT
                    )
        except indexer.IndexBusy as exc:
            self._note(str(exc), busy=True, level=logging.INFO)
            return 0.0
        except Exception as exc:  # noqa: BLE001  keep serving; say what is wrong, once
            self._note(str(exc) if isinstance(exc, indexer.IndexDamaged) else f"{type(exc).__name__}: {exc}")
            return ERROR_BACKOFF_SECONDS
        self._last_pass_at, self._last_error, self._busy = time.time(), None, False
        if applied.article_ids and self.on_applied:
            self.on_applied(applied.article_ids)
        if applied.remaining:
            self._wake.set()  # more to do: no pause
            return 0.0
        with self._passes:
            self._finished_passes += 1
            self._passes.notify_all()
        return 0.0

    def _note(self, message: str, *, busy: bool = False, level: int = logging.ERROR) -> None:
        if message != self._last_error:
            log.log(level, "Search index not updated: %s", message)
        self._last_error, self._busy = message, busy
