"""Faults a production kb meets: its database restarting, a `kb reindex` on the live instance, a
worker killed in the middle of saves. Each time kb says what is wrong, keeps serving what it
can, and loses nothing that was committed."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

from kbserver import KbServer, admin_token, call, child_processes, first_slug, operator_env, until
from pgserver import PgServer

PASSWORD = "faults-test-password"


def test_the_database_restarting_is_a_503_then_kb_carries_on_with_nothing_lost(tmp_path):
    with PgServer() as database:
        env = {"KB_ADMIN_PASSWORD": PASSWORD, "KB_DATABASE_URL": database.url}
        (tmp_path / "kb").mkdir()
        with KbServer(tmp_path / "kb", env) as server:
            token = admin_token(tmp_path / "kb", env)
            status, _ = call(
                server.url, token, "articles", {"title": "Saved before the restart", "status": "published"}
            )
            assert status == 201
            database.stop()
            status, body = call(server.url, token, "search?q=printer")
            assert status == 503 and body["error"] == "database_unavailable", body
            status, body = call(server.url, token, "articles", {"title": "Saved while it was down"})
            assert status == 503
            database.start()
            until(lambda: call(server.url, token, "search?q=printer")[0] == 200, "searching again after the restart")
            status, _ = call(server.url, token, "articles", {"title": "Saved after the restart", "status": "published"})
            assert status == 201
            until(
                lambda: first_slug(server.url, token, "saved after the restart") == "saved-after-the-restart", "indexed"
            )
            assert call(server.url, token, "articles/saved-before-the-restart")[0] == 200
            assert call(server.url, token, "articles/saved-while-it-was-down")[0] == 404
        assert "Traceback" not in server.output


def test_a_reindex_on_the_live_instance_loses_no_save_and_stops_no_search(tmp_path):
    env = {"KB_ADMIN_PASSWORD": PASSWORD}
    with KbServer(tmp_path, env) as server:
        _search_and_save_while_kb_runs(server, tmp_path, ["reindex"], "printer offline", "Saved during the reindex")


def test_a_worker_killed_in_the_middle_of_saves_loses_no_acknowledged_save(tmp_path):
    env = {"KB_ADMIN_PASSWORD": PASSWORD}
    with KbServer(tmp_path, env, args=["--workers", "2", "--threads", "4"]) as server:
        token = admin_token(tmp_path)
        acknowledged: list[str] = []
        refused: list[int] = []
        stop = threading.Event()

        def save_continuously(writer: int) -> None:
            number = 0
            while not stop.is_set():
                title = f"Writer {writer} save {number} heron"
                try:
                    status, _ = call(server.url, token, "articles", {"title": title, "status": "published"})
                except (OSError, http.client.HTTPException):
                    status = 0  # the connection died with the worker: not acknowledged
                (acknowledged.append(title) if status == 201 else refused.append(status))
                number += 1

        writers = [threading.Thread(target=save_continuously, args=(n,)) for n in range(3)]
        for thread in writers:
            thread.start()
        time.sleep(2)
        workers = _gunicorn_workers(server.pid())
        assert len(workers) == 2, workers
        os.kill(workers[0], signal.SIGKILL)  # mid-request, no clean shutdown
        time.sleep(3)  # gunicorn starts a new worker; saves go on meanwhile
        stop.set()
        for thread in writers:
            thread.join(60)
        assert acknowledged and len(_gunicorn_workers(server.pid())) == 2
        assert set(refused) <= {0, 502, 503}, refused
        for title in acknowledged:
            slug = title.lower().replace(" ", "-")
            assert call(server.url, token, f"articles/{slug}")[0] == 200, slug
            until(lambda slug=slug, title=title: first_slug(server.url, token, title) == slug, f"{slug} searchable")


def _gunicorn_workers(arbiter: int) -> list[int]:
    """The request workers among `kb serve`'s children (not the `kb worker` index writer)."""
    return [pid for pid, command in child_processes(arbiter).items() if "worker" not in command]


def test_a_large_import_into_the_live_instance_stops_no_search_and_no_save(tmp_path):
    """A big import commits in batches, so the live instance's searches, search-log writes and
    saves find the database free between them (on SQLite a single long transaction would answer
    them "database is locked")."""
    folder = tmp_path / "incoming"
    folder.mkdir()
    for number in range(400):
        (folder / f"imported-{number}.md").write_text(
            f"---\ntitle: Imported note {number} quokka\nstatus: published\n---\n"
            f"## What is going on\n\nImported explanation {number} about the quokka gateway.\n",
            encoding="utf-8",
        )
    (tmp_path / "kb").mkdir()
    env = {"KB_ADMIN_PASSWORD": PASSWORD}
    with KbServer(tmp_path / "kb", env) as server:
        token = _search_and_save_while_kb_runs(
            server, tmp_path / "kb", ["import", str(folder)], "quokka gateway", "Saved during the import"
        )
        for number in (0, 199, 399):
            query = f"imported note {number} quokka"
            until(lambda q=query, n=number: first_slug(server.url, token, q) == f"imported-{n}", query)
    assert "Traceback" not in server.output


def _search_and_save_while_kb_runs(server: KbServer, folder: Path, command: list[str], query: str, saved: str) -> str:
    """Run `kb COMMAND` in `folder` beside `server` while searching for `query` and saving
    articles titled `saved ...` in turn (at least three saves). The command must succeed within
    3 minutes, every answer must be 200 or 201 and every save become searchable. Returns the
    admin's API token."""
    token = admin_token(folder)
    output = folder / f"kb-{command[0]}.log"
    with output.open("w") as log:  # a file: the command's progress can never fill a pipe and stall it
        process = subprocess.Popen(
            [sys.executable, "-m", "kb", *command], cwd=folder, env=operator_env(folder), text=True,
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    statuses, created = [], []
    deadline = time.monotonic() + 180  # people saving all along must not keep the command waiting
    while process.poll() is None or len(created) < 3:
        assert time.monotonic() < deadline, output.read_text()
        statuses.append(call(server.url, token, "search?" + urllib.parse.urlencode({"q": query}))[0])
        title = f"{saved} number {len(created)} wombat"
        statuses.append(call(server.url, token, "articles", {"title": title, "status": "published"})[0])
        created.append(title)
    assert process.wait(120) == 0, output.read_text()
    assert set(statuses) <= {200, 201}, statuses
    for title in created:
        slug = title.lower().replace(" ", "-")
        until(lambda slug=slug, title=title: first_slug(server.url, token, title) == slug, f"{slug} searchable")
    return token
