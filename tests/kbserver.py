"""Run a real `kb serve` process on a free port for tests that need HTTP or a browser."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from databases import database_url


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
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                break
            self.lines.append(line.rstrip("\n"))
            match = re.match(r"kb is running at (http://\S+/)", line)
            if match:
                self.url = match.group(1)
                return self
        self.__exit__()
        pytest.fail("kb serve did not start:\n" + self.output)

    def __exit__(self, *exc) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.process.stdout.close()
