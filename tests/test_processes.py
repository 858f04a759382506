"""Many processes, one truth: kb servers sharing a data folder (or only a database) agree, and the
index writer's death loses nothing."""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import databases
import pytest
from kbserver import KbServer, admin_token, call, child_processes, first_slug, operator_env, run_kb, until

PASSWORD = "several-processes-pw"
DEADLINE = 20.0  # seconds for a save to become searchable; the benchmark measures the real figure


def api(base: str, token: str, path: str, payload: dict | None = None, method: str | None = None) -> dict:
    status, body = call(base, token, path, payload, method)
    assert status in (200, 201), (status, body)
    return body


def wait_found(base: str, token: str, query: str, slug: str) -> None:
    until(lambda: first_slug(base, token, query) == slug, f"{slug} found for {query!r} through {base}", DEADLINE)


def writer_pid(index_dir: Path) -> int | None:
    text = (index_dir / "kb-writer.lock").read_text().strip()
    return int(text) if text.isdigit() else None


@contextmanager
def read_only(folder: Path):
    """Make `folder` unwritable, even for root (who ignores permission bits): chattr +i."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("running as root on a file system without chattr +i: cannot make a folder read-only")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def index_workers(pid: int) -> int:
    """The pid of the `kb worker` a kb serve started."""
    workers = [child for child, command in child_processes(pid).items() if "worker" in command]
    assert len(workers) == 1, child_processes(pid)
    return workers[0]


def gone(pid: int) -> bool:
    """Whether a process has ended (a zombie nobody reaped yet counts as ended)."""
    try:
        return "\nState:\tZ" in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True


def test_two_servers_on_one_folder_see_each_others_saves_and_survive_the_writer_dying(tmp_path):
    env = {"KB_ADMIN_PASSWORD": PASSWORD}
    with KbServer(tmp_path, env) as first, KbServer(tmp_path, env) as second:
        token = admin_token(tmp_path)
        # Each serves in one process and indexes in another: searches never wait on indexing.
        first_worker = index_workers(first.pid())
        assert writer_pid(tmp_path / "search_index") == first_worker
        created = api(second.url, token, "articles", {"title": "Fax machine hums quietly", "status": "published"})
        assert created["article"]["version"] == 1
        wait_found(first.url, token, "fax machine hums", "fax-machine-hums-quietly")
        wait_found(second.url, token, "fax machine hums", "fax-machine-hums-quietly")

        first.kill()  # the server dies without a word; its index writer follows it
        until(lambda: gone(first_worker), "the index writer of a dead server stops", DEADLINE)
        api(
            second.url,
            token,
            "articles/fax-machine-hums-quietly",
            {"title": "Fax machine rattles loudly", "version": 1},
            method="PUT",
        )
        wait_found(second.url, token, "rattles", "fax-machine-hums-quietly")
        second_worker = index_workers(second.pid())
        assert writer_pid(tmp_path / "search_index") in (second.pid(), second_worker)
    assert not second.killed, "the server stops by itself when asked to"
    assert gone(second_worker), "a server stopped cleanly stops its index writer too"


def test_sigterm_stops_a_server_as_ctrl_c_does_writing_its_last_searches(tmp_path):
    """systemd and Docker stop a server with SIGTERM (KbServer's exit sends it): the searches still
    waiting in the search-log buffer are written, and the index writer is stopped first."""
    env = {"KB_ADMIN_PASSWORD": PASSWORD}
    with KbServer(tmp_path, env) as server:
        token = admin_token(tmp_path)
        worker = index_workers(server.pid())
        for n in range(5):
            api(server.url, token, f"search?q=kettle+whistle+{n}")
    assert not server.killed and "kb stopped." in server.output
    assert gone(worker), "the index writer stopped before the server did"
    with KbServer(tmp_path, env) as again:
        assert api(again.url, token, "insights")["searches"] == 5


def test_two_machines_with_their_own_index_follow_one_database(tmp_path):
    """A second machine shares only the database: each builds and follows its own index."""
    shared_db = {"KB_ADMIN_PASSWORD": PASSWORD, "KB_DATABASE_URL": databases.database_url(tmp_path / "shared")}
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    with KbServer(tmp_path / "one", shared_db) as one, KbServer(tmp_path / "two", shared_db) as two:
        token = admin_token(tmp_path / "one", shared_db)
        assert "printer-shows-offline" in [
            r["slug"] for r in api(two.url, token, "search?q=printer+offline")["results"]
        ]
        api(one.url, token, "articles", {"title": "Badge reader beeps twice", "status": "published"})
        api(two.url, token, "articles", {"title": "Desk phone shows no dial tone", "status": "published"})
        for server in (one, two):
            wait_found(server.url, token, "badge reader beeps", "badge-reader-beeps-twice")
            wait_found(server.url, token, "desk phone dial tone", "desk-phone-shows-no-dial-tone")
    assert (tmp_path / "one" / "search_index").is_dir() and (tmp_path / "two" / "search_index").is_dir()


def test_several_gunicorn_workers_find_a_save_made_in_any_of_them(tmp_path):
    env = {"KB_ADMIN_PASSWORD": PASSWORD}
    with KbServer(tmp_path, env, args=["--workers", "3", "--threads", "2"]) as server:
        token = admin_token(tmp_path)
        for n in range(3):
            api(server.url, token, "articles", {"title": f"Scanner jams on page {n} zebrafish", "status": "published"})
        # Requests land on any worker: every one of them must find every save.
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            totals = {api(server.url, token, "search?q=zebrafish&limit=5")["total"] for _ in range(12)}
            if totals == {3}:
                break
            time.sleep(0.1)
        assert totals == {3}, totals
        children = child_processes(server.pid())
        assert len(children) == 4, children  # 3 request workers, 1 index writer
        assert writer_pid(tmp_path / "search_index") == index_workers(server.pid())
        os.kill(index_workers(server.pid()), signal.SIGKILL)  # a request worker's standby writer takes over
        api(server.url, token, "articles", {"title": "Scanner feeds two sheets zebrafish", "status": "published"})
        wait_found(server.url, token, "scanner feeds two sheets", "scanner-feeds-two-sheets-zebrafish")
        assert writer_pid(tmp_path / "search_index") in child_processes(server.pid())
    assert not any(Path(f"/proc/{pid}").exists() for pid in children), "kb serve left a process behind"


def test_the_api_answers_while_the_index_folder_cannot_be_written(tmp_path):
    env = {"KB_ADMIN_PASSWORD": PASSWORD}
    with KbServer(tmp_path, env) as server:
        token = admin_token(tmp_path)
        with read_only(tmp_path / "search_index"):
            created = api(server.url, token, "articles", {"title": "Monitor flickers at noon", "status": "published"})
            assert created["article"]["version"] == 1  # committed: nothing lost
            assert api(server.url, token, "search?q=printer+offline")["results"]  # searching goes on
            deadline = time.monotonic() + DEADLINE
            while "Search index not updated" not in server.output and time.monotonic() < deadline:
                time.sleep(0.1)
            assert "Search index not updated" in server.output  # kb says what is wrong
            results = api(server.url, token, "search?q=monitor+flickers+noon")["results"]
            assert "monitor-flickers-at-noon" not in [r["slug"] for r in results]
        wait_found(server.url, token, "monitor flickers noon", "monitor-flickers-at-noon")


def test_a_damaged_index_is_a_503_naming_the_fix_and_the_server_keeps_serving_articles(tmp_path):
    env = {"KB_ADMIN_PASSWORD": PASSWORD}
    with KbServer(tmp_path, env):
        pass  # the first start imports the starter articles and builds the index
    for segment in (tmp_path / "search_index").glob("*.seg"):
        segment.write_bytes(b"\0" * 64)
    with KbServer(tmp_path, env) as server:
        token = admin_token(tmp_path)
        status, body = call(server.url, token, "search?q=printer")
        assert status == 503 and "kb reindex" in body["message"], (status, body)
        assert api(server.url, token, "articles/printer-shows-offline")["slug"] == "printer-shows-offline"
    assert "Traceback" not in server.output


def test_gunicorn_given_the_app_factory_directly_indexes_saves_too(tmp_path):
    """For operators who run their own gunicorn: `kb db upgrade` (or `kb init`), then the factory."""
    env = {"KB_ADMIN_PASSWORD": PASSWORD}
    run_kb(tmp_path, "init", env=env)
    token = admin_token(tmp_path)
    port = _free_port()
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "2", "-b", f"127.0.0.1:{port}", "kb:create_app()"],
        cwd=tmp_path,
        env=operator_env(tmp_path, env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/"
    try:
        until(lambda: _answers(base), "gunicorn answering")
        assert call(base, token, "articles", {"title": "Label printer skips lines", "status": "published"})[0] == 201
        wait_found(base, token, "label printer skips", "label-printer-skips-lines")
    finally:
        gunicorn.terminate()
        gunicorn.wait(30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(base: str) -> bool:
    try:
        return call(base, "none", "health")[0] == 200
    except OSError:
        return False


def test_an_import_waiting_for_a_writer_that_stops_finishes_the_indexing_itself(tmp_path):
    """`kb import` on a live instance leaves indexing to the running kb (the holder of
    search_index/kb-writer.lock) and waits for it; if that kb goes away, the import finishes."""
    run_kb(tmp_path, "init")
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "orphan-note.md").write_text("---\ntitle: Orphaned wallaby note\nstatus: published\n---\nBody.\n")
    with (tmp_path / "search_index" / "kb-writer.lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a running kb's index writer
        log = (tmp_path / "import.log").open("w")
        importer = subprocess.Popen(
            [sys.executable, "-m", "kb", "import", str(incoming)], cwd=tmp_path, env=operator_env(tmp_path),
            stdout=log, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        until(lambda: "is indexing 1 changed articles" in (tmp_path / "import.log").read_text(), "the import waiting")
        time.sleep(1)
        assert importer.poll() is None, (tmp_path / "import.log").read_text()
        fcntl.flock(held, fcntl.LOCK_UN)  # that kb stops
    assert importer.wait(60) == 0, (tmp_path / "import.log").read_text()
    assert "finishes the work" in (tmp_path / "import.log").read_text()
    assert "orphan-note" in run_kb(tmp_path, "search", "orphaned wallaby")
