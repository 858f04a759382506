"""Run a real `kb serve` process on a free port for tests that need HTTP or a browser."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

START_TIMEOUT = 120  # seconds; a first start imports the starter articles and builds the index


class KbServer:
    """`kb serve --port 0` started from `folder`, its data folder; `.url` and `.output` once started.

    kb runs as an operator starts it: from the data folder, with no `KB_*` variables but `env`.
    `command` is how to run kb (the checkout's by default, or an installed `kb` script).
    """

    def __init__(
        self,
        folder: Path,
        env: dict[str, str] | None = None,
        *,
        command: Sequence[str] = (sys.executable, "-m", "kb"),
        args: Sequence[str] = (),
    ):
        self.folder = folder
        self.command = [*command, "serve", "--port", "0", *args]
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("KB_")}, **(env or {})}
        self.lines: list[str] = []
        self.process: subprocess.Popen | None = None
        self._drainer: threading.Thread | None = None
        self.url = ""

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def __enter__(self) -> KbServer:
        self.process = subprocess.Popen(
            self.command,
            cwd=self.folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env,
        )
        # readline() blocks while kb is silent, so the deadline kills the process: its output ends.
        deadline = threading.Timer(START_TIMEOUT, self.process.kill)
        deadline.start()
        try:
            for line in self.process.stdout:
                self.lines.append(line.rstrip("\n"))
                match = re.match(r"kb is running at (http://\S+/)", line)
                if match:
                    self.url = match.group(1)
                    # Keep reading: a server whose output pipe fills up would stop answering.
                    self._drainer = threading.Thread(target=self._drain, daemon=True)
                    self._drainer.start()
                    return self
        finally:
            deadline.cancel()
        self.__exit__()
        pytest.fail(f"kb serve printed no address (exit code {self.process.returncode}):\n" + self.output)

    def _drain(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def kill(self) -> None:
        """End the process at once, as a crash would (no clean shutdown)."""
        self.process.kill()
        self.process.wait(timeout=10)

    def pid(self) -> int:
        return self.process.pid

    def __exit__(self, *exc) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        if self._drainer is not None:
            self._drainer.join(10)  # it ends with the process's output
        self.process.stdout.close()
