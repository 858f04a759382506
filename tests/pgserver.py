"""A private, throwaway PostgreSQL server for fault tests that stop and start their database.

The shared test server (KB_TEST_DATABASE_URL, .ci/with-postgres) must stay up for every other
test, so a test that restarts its database gets one of its own: initdb in a temporary folder,
loopback only, trust authentication, owned by `postgres` when the tests run as root.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest


def _bin_dir() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: [int(x) for x in Path(p).parent.name.split(".")]
    )
    candidates = [Path(p) for p in found] + [Path(p).parent for p in filter(None, [shutil.which("pg_ctl")])]
    return next((d for d in candidates if (d / "initdb").exists() and (d / "pg_ctl").exists()), None)


class PgServer:
    """`with PgServer() as db:` a running server at `db.url`; `stop()` and `start()` it at will."""

    def __init__(self):
        self.bin = _bin_dir()
        if self.bin is None:
            pytest.skip("PostgreSQL server programs (initdb, pg_ctl) are not installed")
        # Not under pytest's tmp_path: as root, that folder is closed to the `postgres` user.
        self.folder = Path(tempfile.mkdtemp(prefix="kb-test-pg-"))
        self.data = self.folder / "data"
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"postgresql+psycopg://kb@127.0.0.1:{self.port}/kb"

    def _run(self, *args: str) -> None:
        command = [str(a) for a in args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            pytest.fail(f"{' '.join(command)}: {done.stdout}{done.stderr}")

    def __enter__(self) -> PgServer:
        if os.geteuid() == 0:
            subprocess.run(["chown", "postgres:", str(self.folder)], check=True)
        self._run(self.bin / "initdb", "-D", self.data, "-U", "kb", "--auth=trust", "--locale=C", "--encoding=UTF8")
        self.start()
        self._run(self.bin / "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "kb", "kb")
        return self

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off"
        self._run(self.bin / "pg_ctl", "-D", self.data, "-l", self.folder / "server.log", "-o", options, "-w", "start")

    def stop(self) -> None:
        self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def __exit__(self, *exc) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
