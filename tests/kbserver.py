"""Run a real `kb serve` process on a free port for tests that need HTTP or a browser."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import databases
import pytest

# Seconds `kb serve` may take to print its address; a first start imports the starter articles.
START_TIMEOUT = 120
# A clean stop: the request workers finish, then the index writer process finishes its batch and
# stops its threads (each given 10 s). On two loaded cores that took more than 10 s; past this
# many seconds the server is killed.
STOP_TIMEOUT = 60


def operator_env(folder: Path, env: dict[str, str] | None = None, *, own_database: bool = True) -> dict[str, str]:
    """The environment kb runs with in `folder`: none of the caller's `KB_*` but `env`, and the
    test's own database when the tests run on PostgreSQL (unless `own_database` is False: the
    embedded default, a SQLite file in the folder)."""
    result = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    if databases.BACKEND == "postgresql" and own_database:
        result["KB_DATABASE_URL"] = databases.database_url(folder)
    result.update(env or {})
    return result


class KbServer:
    """`kb serve --port 0` started from `folder`, its data folder; `.url` and `.output` once started.

    kb runs as an operator starts it: from the data folder, with no `KB_*` variables but `env`
    (and, when the tests run on PostgreSQL, the test's own database). `command` is how to run kb
    (the checkout's by default, or an installed `kb` script); `args` are more `kb serve` options.
    """

    def __init__(
        self,
        folder: Path,
        env: dict[str, str] | None = None,
        *,
        command: Sequence[str] = (sys.executable, "-m", "kb"),
        args: Sequence[str] = (),
        own_database: bool = True,
    ):
        self.folder = folder
        self.command = [*command, "serve", "--port", "0", *args]
        self.env = operator_env(folder, env, own_database=own_database)
        self.lines: list[str] = []
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.killed = False  # stopped by SIGKILL, not cleanly (see STOP_TIMEOUT)
        self._reader: threading.Thread | None = None
        # Set once the address is printed or the output ends, whichever comes first.
        self._settled = threading.Event()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def pid(self) -> int:
        return self.process.pid

    def __enter__(self) -> KbServer:
        self.process = subprocess.Popen(
            self.command,
            cwd=self.folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env,
        )
        # Reading in a thread keeps the deadline even when the server prints nothing at all,
        # and keeps draining the pipe afterwards so a chatty server never blocks on a full one.
        self._reader = threading.Thread(target=self._read_output, name="kb-serve-output", daemon=True)
        self._reader.start()
        if self._settled.wait(START_TIMEOUT) and self.url:
            return self
        self.__exit__()
        pytest.fail(f"kb serve did not print its address within {START_TIMEOUT} s:\n" + self.output)

    def _read_output(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            match = re.match(r"kb is running at (http://\S+/)", line)
            if match and not self.url:
                self.url = match.group(1)
                self._settled.set()
        self._settled.set()

    def kill(self) -> None:
        """End the process at once, as a crash would (no clean shutdown)."""
        self.process.kill()
        self.process.wait(timeout=10)

    def __exit__(self, *exc) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.killed = True
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout=10)
        self.process.stdout.close()


# --- talking to a running kb as an operator and a helpdesk tool would ----------------------------


def run_kb(folder: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """Run a `kb` command in `folder` (see operator_env); fail the test unless it succeeds."""
    done = subprocess.run(
        [sys.executable, "-m", "kb", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        env=operator_env(folder, env),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def run_benchmark(script: str, *args: str, timeout: float = 900) -> str:
    """Run `benchmarks/<script>` from the repository root; fail the test unless it succeeds."""
    repo = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, str(repo / "benchmarks" / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=repo,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def admin_token(folder: Path, env: dict[str, str] | None = None) -> str:
    """A new API token for the admin (the last line `kb token create` prints)."""
    return run_kb(folder, "token", "create", "admin", env=env).strip().splitlines()[-1]


def call(base: str, token: str, path: str, payload: dict | None = None, method: str | None = None):
    """(status, JSON body) of one API call; HTTP errors are answers too."""
    request = urllib.request.Request(
        base + "api/v1/" + path,
        data=json.dumps(payload).encode() if payload is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method=method or ("POST" if payload is not None else "GET"),
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def token_for(folder: Path, env: dict[str, str], username: str) -> str:
    """A new API token of `username`, made by `kb token create` on the instance in `folder`."""
    return run_kb(folder, "token", "create", username, env=env).strip().splitlines()[-1]


def all_at_once(requests: list[tuple]) -> list[tuple[int, dict]]:
    """Send every (base, token, path, payload[, method]) request at the same moment; their answers in order."""
    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(lambda r: call(*r), requests))


def until(check, what: str, deadline: float = 30.0):
    """Poll `check` until it returns something true; fail naming `what` after `deadline` seconds."""
    started = time.monotonic()
    while time.monotonic() - started < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {deadline:.0f} s")


def first_slug(base: str, token: str, query: str) -> str | None:
    status, body = call(base, token, "search?" + urllib.parse.urlencode({"q": query}))
    return body["results"][0]["slug"] if status == 200 and body["results"] else None


def child_processes(pid: int) -> dict[int, list[str]]:
    """The child processes of `pid`, each with its command line (Linux's /proc; skips elsewhere)."""
    listed = Path(f"/proc/{pid}/task/{pid}/children")
    if not listed.exists():
        pytest.skip("no /proc children list to find kb serve's processes")
    return {int(child): Path(f"/proc/{child}/cmdline").read_text().split("\0") for child in listed.read_text().split()}
