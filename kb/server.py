"""Running kb under a WSGI server: waitress in one process, or gunicorn with several workers.

Each serving process builds its own app and starts its own background threads (kb.background):
they cannot be inherited through fork. Of the processes, one becomes the index writer; every
one reads the index and the database, so a save in any worker is found by searches in all.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from flask import Flask

from kb import background

Announce = Callable[[str], None]


def serve_waitress(app: Flask, *, host: str, port: int, threads: int, announce: Announce) -> None:
    """Serve `app` in this process until interrupted."""
    from waitress import create_server

    server = create_server(app, host=host, port=port, threads=threads)
    background.start(app)
    try:
        announce(f"{_shown(host)}:{server.effective_port}")
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        background.stop(app)


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
    KbApplication().run()


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
