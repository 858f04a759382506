"""Run a real `kb serve` process on a free port for tests that need HTTP or a browser."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from databases import database_url

# Seconds `kb serve` may take to print its address; a first start imports the starter articles.
START_TIMEOUT = 120


class KbServer:
    """`kb serve --port 0` on a temporary instance; `.url` and `.output` once started."""

    def __init__(self, folder: Path, env: dict[str, str] | None = None):
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("KB_")},
            "KB_DATABASE_URL": database_url(folder),
            "KB_INDEX_DIR": str(folder / "index"),
            "KB_SECRET_KEY": "server-test",
            **(env or {}),
        }
        self.lines: list[str] = []
        self.process: subprocess.Popen | None = None
        self.url = ""
        self._reader: threading.Thread | None = None
        # Set once the address is printed or the output ends, whichever comes first.
        self._settled = threading.Event()

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def __enter__(self) -> KbServer:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kb", "serve", "--port", "0"],
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

    def __exit__(self, *exc) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout=10)
        self.process.stdout.close()
