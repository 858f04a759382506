"""What kb says about itself: the addresses in API answers, transport headers and cookies, and the
permissions of the files it keeps on disk. Through the test client and real files in tmp_path."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from conftest import PASSWORD, KbClient, add_user, app_config, indexed, make_app, make_token

from kb import create_app

ARTICLE = "---\ntitle: Printer shows offline\nslug: printer-offline\ntags: [printer]\n---\nThe printer shows offline.\n"
SLUG = "printer-offline"


def app_with_article(folder: Path, **config):
    """An app holding one published article, and the API headers of an agent's token."""
    app = make_app(folder, **config)
    (folder / "in").mkdir()
    (folder / "in" / "printer.md").write_text(ARTICLE, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import", str(folder / "in")])
    assert result.exit_code == 0, result.output
    indexed(app)
    add_user(app, "tool", "agent")
    return app, {"Authorization": f"Bearer {make_token(app, 'tool')}"}


def api_urls(app, headers: dict, *, host: str) -> list[str]:
    """Every `url` the API gives for the article, asked for with `host` as the Host header."""
    client = app.test_client()
    base = f"http://{host}/"
    search = client.get("/api/v1/search?q=printer", headers=headers, base_url=base).get_json()
    listing = client.get("/api/v1/articles", headers=headers, base_url=base).get_json()
    one = client.get(f"/api/v1/articles/{SLUG}", headers=headers, base_url=base).get_json()
    urls = [hit["url"] for hit in search["results"]] + [a["url"] for a in listing["articles"]] + [one["url"]]
    assert len(urls) == 3
    return urls


def test_api_urls_never_take_the_callers_host_header(tmp_path):
    app, headers = app_with_article(tmp_path)
    for url in api_urls(app, headers, host="attacker.example"):
        assert "attacker" not in url
        assert url.startswith(f"/articles/{SLUG}")  # no KB_BASE_URL: relative to kb's root


def test_api_urls_are_built_on_kb_base_url(tmp_path):
    app, headers = app_with_article(tmp_path, BASE_URL="https://kb.example.com/support/")
    for url in api_urls(app, headers, host="attacker.example"):
        assert url.split("#")[0] == f"https://kb.example.com/support/articles/{SLUG}"


def login_cookies(app) -> list[str]:
    """The Set-Cookie headers of a login that asks to be remembered."""
    add_user(app, "sam", "agent")
    app.test_client_class = KbClient
    client = app.test_client()
    response = client.submit("/login", {"username": "sam", "password": PASSWORD, "remember": "1"})
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    assert {c.split("=")[0] for c in cookies} >= {"session", "remember_token"}
    return cookies


def test_an_https_base_url_turns_on_hsts_and_secure_cookies_and_plain_http_does_not(tmp_path):
    https = make_app(tmp_path / "https", BASE_URL="https://kb.example.com")
    client = https.test_client()
    for path in ("/login", "/api/v1/health"):
        assert client.get(path).headers["Strict-Transport-Security"] == "max-age=31536000"
    assert all("; Secure" in cookie for cookie in login_cookies(https))

    plain = make_app(tmp_path / "http", BASE_URL="http://kb.internal")
    assert "Strict-Transport-Security" not in plain.test_client().get("/login").headers
    assert not any("; Secure" in cookie for cookie in login_cookies(plain))  # else login over http fails


@pytest.mark.parametrize("value", ["kb.example.com", "ftp://kb.example.com", "https://kb.example.com/?next=x"])
def test_a_base_url_that_is_not_an_address_stops_kb_at_start(tmp_path, value):
    with pytest.raises(ValueError, match="KB_BASE_URL must be an address like https://kb.example.com"):
        create_app(app_config(tmp_path, BASE_URL=value))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_and_instance_files_are_readable_by_their_owner_only(tmp_path):
    previous = os.umask(0o022)  # the usual umask, under which SQLite alone makes a world-readable file
    try:
        # The default place: instance/kb.db (SQLite whatever the test backend), and a generated key.
        app = make_app(tmp_path, serving=False, DATABASE_URL=None, SECRET_KEY=None)
        add_user(app, "sam", "agent")  # a write: SQLite now has its -wal and -shm files open
    finally:
        os.umask(previous)
    instance = tmp_path / "instance"
    assert app.config["DATABASE_URL"] == f"sqlite:///{instance.resolve() / 'kb.db'}"
    assert mode(instance) == 0o700
    for name in ("kb.db", "kb.db-wal", "kb.db-shm", "secret_key"):
        assert mode(instance / name) == 0o600, name
