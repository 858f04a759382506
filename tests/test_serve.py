"""`kb serve` as a newcomer runs it: a real process, a real port, the starter articles."""
from __future__ import annotations

import http.cookiejar
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest


def start(tmp_path: Path, extra_env: dict | None = None) -> tuple[subprocess.Popen, list[str]]:
    env = {
        **os.environ,
        "KB_DATABASE_URL": f"sqlite:///{tmp_path / 'kb.db'}",
        "KB_INDEX_DIR": str(tmp_path / "index"),
        "KB_SECRET_KEY": "serve-test",
        **(extra_env or {}),
    }
    env.pop("KB_ADMIN_PASSWORD", None) if not extra_env or "KB_ADMIN_PASSWORD" not in extra_env else None
    process = subprocess.Popen(
        [sys.executable, "-m", "kb", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if line.startswith("kb is running at"):
            return process, lines
    process.kill()
    pytest.fail("kb serve did not start:\n" + "\n".join(lines))


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def browser():
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def login(opener, base: str, username: str, password: str) -> str:
    page = opener.open(base + "login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": token}).encode()
    return opener.open(base + "login", data=form).read().decode()


def test_first_start_imports_starter_articles_and_prints_how_to_log_in(tmp_path):
    process, lines = start(tmp_path)
    try:
        output = "\n".join(lines)
        base = re.search(r"kb is running at (http://127\.0\.0\.1:\d+/)", output).group(1)
        password = re.search(r"Created admin account 'admin' with password: (\S+)", output).group(1)
        assert re.search(r"Imported (\d+) starter articles", output)
        opener = browser()
        home = login(opener, base, "admin", password)
        assert 'id="kb-q"' in home
        results = opener.open(base + "?q=printer+offline").read().decode()
        assert "printer-shows-offline" in results
    finally:
        stop(process)

    # A second start finds the instance ready: no new password, no re-import.
    process, lines = start(tmp_path)
    try:
        output = "\n".join(lines)
        assert "password:" not in output and "Imported" not in output
        assert "kb user passwd admin" in output
    finally:
        stop(process)


def test_first_start_uses_kb_admin_password(tmp_path):
    process, lines = start(tmp_path, {"KB_ADMIN_PASSWORD": "chosen-by-the-operator"})
    try:
        output = "\n".join(lines)
        assert "chosen-by-the-operator" not in output
        base = re.search(r"kb is running at (http://127\.0\.0\.1:\d+/)", output).group(1)
        assert 'id="kb-q"' in login(browser(), base, "admin", "chosen-by-the-operator")
    finally:
        stop(process)
