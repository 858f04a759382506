"""Running kb under a WSGI server: waitress in one process, or gunicorn with several workers.

Each serving process builds its own app and starts its own background threads (kb.background):
they cannot be inherited through fork. Of the processes, one becomes the index writer; every
one reads the index and the database, so a save in any worker is found by searches in all.

The index writer gets a process of its own (`kb worker`), with waitress as with gunicorn: inside
a busy request process it would share one interpreter lock with every search thread. Under full
load a save took seconds to become searchable, and every save's indexing (tens of milliseconds of
Python) stalled the searches running beside it. The serving processes' writer threads stay on
standby and take over within seconds if that process dies.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from flask import Flask

from kb import background

Announce = Callable[[str], None]


def serve_waitress(app: Flask, *, host: str, port: int, threads: int, announce: Announce) -> None:
    """Serve `app` in this process until interrupted."""
    from waitress import create_server

    server = create_server(app, host=host, port=port, threads=threads)
    with index_worker(), _sigterm_as_ctrl_c():
        background.start(app)
        try:
            announce(f"{_shown(host)}:{server.effective_port}")
            server.run()
        except KeyboardInterrupt:
            pass
        finally:
            background.stop(app)
            server.close()


@contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """Stop on SIGTERM (systemd, Docker, a supervisor) the way Ctrl+C stops: cleanly.

    Python's default for SIGTERM ends the process on the spot: the last second of searches
    waiting to be written to the search log was lost, and the index writer outlived the server
    until it noticed. Gunicorn handles the signal itself; waitress leaves it to us.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)  # raises KeyboardInterrupt
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def serve_gunicorn(*, host: str, port: int, workers: int, threads: int, announce: Announce) -> None:
    """Serve kb with gunicorn: `workers` processes of `threads` threads, each building its own app."""
    from gunicorn.app.base import BaseApplication

    class KbApplication(BaseApplication):
        def load_config(self) -> None:
            for key, value in _gunicorn_settings(host, port, workers, threads, announce).items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from kb import create_app

            app = create_app()
            background.start(app)
            return app

    os.environ["KB_THREADS"] = str(threads)  # each worker's app sizes its pools from it
    with index_worker():
        KbApplication().run()


@contextmanager
def index_worker() -> Iterator[subprocess.Popen]:
    """`kb worker` beside the request-serving processes, started first so that it becomes the
    index writer, and stopped when they stop (it also stops by itself if this process dies)."""
    process = subprocess.Popen([sys.executable, "-m", "kb", "worker"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process.poll() is None and not _holds_writer_lock(process.pid):
        time.sleep(0.05)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _holds_writer_lock(pid: int) -> bool:
    from flask import current_app

    from kb.search.indexer import WRITER_LOCK_FILE
    from kb.search.worker import LeaderLock

    return LeaderLock(Path(current_app.config["INDEX_DIR"]) / WRITER_LOCK_FILE).holder() == str(pid)


def _gunicorn_settings(host: str, port: int, workers: int, threads: int, announce: Announce) -> dict[str, Any]:
    def when_ready(server: Any) -> None:
        bound = server.LISTENERS[0].sock.getsockname()
        announce(f"{_shown(host)}:{bound[1]}")

    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "when_ready": when_ready,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        # A worker that stops answering (stuck, out of memory) is replaced; its requests fail, not the others'.
        "timeout": 60,
        "graceful_timeout": 20,
    }


def _shown(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "") else host
