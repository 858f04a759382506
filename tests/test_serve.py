"""`kb serve` as a newcomer runs it: a real process, a real port, the starter articles."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.parse
import urllib.request

from conftest import starter_articles, starter_list
from kbserver import KbServer


def browser():
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))


def login(opener, base: str, username: str, password: str) -> str:
    page = opener.open(base + "login").read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"username": username, "password": password, "csrf_token": token}).encode()
    return opener.open(base + "login", data=form).read().decode()


def test_first_start_imports_starter_articles_and_prints_how_to_log_in(tmp_path):
    with KbServer(tmp_path) as server:
        password = re.search(r"Created admin account 'admin' with password: (\S+)", server.output).group(1)
        assert f"Imported {len(starter_articles())} starter articles" in server.output
        assert server.url.startswith("http://127.0.0.1:")
        opener = browser()
        assert 'id="kb-q"' in login(opener, server.url, "admin", password)
        results = opener.open(server.url + "?q=printer+offline").read().decode()
        assert "printer-shows-offline" in results
        golden = opener.open(server.url + "author/golden").read().decode()
        golden_count = len(starter_list("golden-queries.yaml"))
        assert f"{golden_count} of {golden_count} pass" in golden, "the starter golden queries all pass"

    # A second start finds the instance ready: no new password, no re-import.
    with KbServer(tmp_path) as server:
        assert "password:" not in server.output and "Imported" not in server.output
        assert "kb user passwd admin" in server.output


def test_first_start_uses_kb_admin_password(tmp_path):
    with KbServer(tmp_path, {"KB_ADMIN_PASSWORD": "chosen-by-the-operator"}) as server:
        assert "chosen-by-the-operator" not in server.output
        assert 'id="kb-q"' in login(browser(), server.url, "admin", "chosen-by-the-operator")
