"""Static files: addressed by content hash, cached for good at that address, gzipped for clients
that take it. Through the test client, against kb's own files and a temporary copy of them."""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import make_app
from flask import url_for

IMMUTABLE = "public, max-age=31536000, immutable"
SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy")


@pytest.fixture(scope="module")
def static_app(tmp_path_factory):
    return make_app(tmp_path_factory.mktemp("static"), serving=False)


@pytest.fixture
def client(static_app):
    return static_app.test_client()


def content_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def static_file(app, name: str) -> Path:
    return Path(app.static_folder) / name


def linked_static_urls(client) -> dict[str, str]:
    """The static files the login page loads, by file name: {"kb.css": "/static/kb.css?v=..."}."""
    html = client.get("/login").get_data(as_text=True)
    urls = re.findall(r'<(?:link|script)\b[^>]*\b(?:href|src)="(/static/[^"]+)"', html)
    return {urlsplit(url).path.removeprefix("/static/"): url.replace("&amp;", "&") for url in urls}


def version_in(url: str) -> str:
    return parse_qs(urlsplit(url).query)["v"][0]


def test_pages_load_static_files_by_the_hash_of_their_content(static_app, client):
    urls = linked_static_urls(client)
    assert {"kb.css", "search.js"} <= set(urls)
    for name, url in urls.items():
        assert version_in(url) == content_hash(static_file(static_app, name)), url


def test_every_static_url_kb_builds_carries_the_hash(static_app):
    names = sorted(path.name for path in Path(static_app.static_folder).iterdir() if path.is_file())
    assert {"kb.css", "search.js", "editor.js", "pathedit.js"} <= set(names)
    with static_app.test_request_context():
        for name in names:
            assert url_for("static", filename=name) == f"/static/{name}?v={content_hash(static_file(static_app, name))}"
        assert url_for("static", filename="no-such.js") == "/static/no-such.js"  # nothing to hash


def test_the_icon_pages_name_is_where_the_old_favicon_address_leads(client):
    html = client.get("/login").get_data(as_text=True)
    (linked,) = re.findall(r'<link rel="icon" href="([^"]+)"', html)
    redirect = client.get("/favicon.ico")
    assert redirect.status_code == 302
    assert redirect.headers["Location"] == linked.replace("&amp;", "&")
    assert client.get(linked).status_code == 200


@pytest.mark.parametrize(
    "name, content_type", [("kb.css", "text/css; charset=utf-8"), ("search.js", "text/javascript; charset=utf-8")]
)
def test_the_hashed_address_is_cached_for_a_year_as_immutable(static_app, client, name, content_type):
    response = client.get(linked_static_urls(client)[name])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == IMMUTABLE
    assert response.headers["Content-Type"] == content_type
    assert response.data == static_file(static_app, name).read_bytes()
    for header in SECURITY_HEADERS:
        assert header in response.headers, header


@pytest.mark.parametrize("query", ["", "?v=", "?v=000000000000"])
def test_without_the_current_hash_a_file_is_revalidated_every_time(client, query):
    response = client.get("/static/kb.css" + query)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"
    for header in SECURITY_HEADERS:
        assert header in response.headers, header

    by_etag = client.get("/static/kb.css" + query, headers={"If-None-Match": response.headers["ETag"]})
    by_date = client.get("/static/kb.css" + query, headers={"If-Modified-Since": response.headers["Last-Modified"]})
    for unchanged in (by_etag, by_date):
        assert unchanged.status_code == 304
        assert unchanged.data == b""
        assert unchanged.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize(
    "accept, gzipped",
    [
        ("gzip", True),
        ("gzip, deflate, br", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("GZIP;Q=0.5", True),
        ("*", True),
        (None, False),
        ("identity", False),
        ("br, deflate", False),
        ("gzip;q=0", False),
        ("deflate, gzip;q=0.000", False),
        ("gzip;q=0, *", False),
        ("*;q=0", False),
    ],
)
@pytest.mark.parametrize("name", ["kb.css", "search.js"])
def test_gzip_is_sent_only_to_clients_that_accept_it(static_app, client, name, accept, gzipped):
    headers = {"Accept-Encoding": accept} if accept is not None else {}
    response = client.get(linked_static_urls(client)[name], headers=headers)
    original = static_file(static_app, name).read_bytes()
    assert response.status_code == 200
    assert "Accept-Encoding" in response.headers["Vary"]
    assert int(response.headers["Content-Length"]) == len(response.data)
    if gzipped:
        assert response.headers["Content-Encoding"] == "gzip"
        assert len(response.data) < len(original)
        assert gzip.decompress(response.data) == original
    else:
        assert "Content-Encoding" not in response.headers
        assert response.data == original


def test_each_encoding_has_its_own_etag(client):
    plain = client.get("/static/kb.css")
    packed = client.get("/static/kb.css", headers={"Accept-Encoding": "gzip"})
    assert plain.headers["ETag"] != packed.headers["ETag"]
    # The plain file's ETag does not make a gzip answer "not modified", nor the other way round.
    assert client.get("/static/kb.css", headers={"If-None-Match": packed.headers["ETag"]}).status_code == 200
    assert (
        client.get(
            "/static/kb.css", headers={"If-None-Match": plain.headers["ETag"], "Accept-Encoding": "gzip"}
        ).status_code
        == 200
    )


@pytest.mark.parametrize("accept", [None, "gzip"])
def test_head_answers_the_headers_of_get_without_the_body(client, accept):
    url = linked_static_urls(client)["search.js"]
    headers = {"Accept-Encoding": accept} if accept else {}
    got, head = client.get(url, headers=headers), client.head(url, headers=headers)
    assert head.status_code == 200
    assert head.data == b""
    for name in ("Content-Type", "Content-Length", "Content-Encoding", "ETag", "Cache-Control", "Vary"):
        assert head.headers.get(name) == got.headers.get(name), name


@pytest.mark.parametrize(
    "path",
    [
        "/static/no-such-file.css",
        "/static/no-such-file.css?v=000000000000",
        "/static/../__init__.py",
        "/static/..%2F__init__.py",
        "/static/%2e%2e/config.py",
        "/static/..%2f..%2fsetup.cfg",
        "/static/%2fetc%2fpasswd",  # redirected to /static/etc/passwd first
        "/static//etc/passwd",
    ],
)
def test_unknown_files_and_paths_outside_the_folder_are_not_found(client, path):
    response = client.get(path, headers={"Accept-Encoding": "gzip"}, follow_redirects=True)
    assert response.status_code == 404


def copy_static_folder(app, folder: Path) -> Path:
    """Serve `app`'s static files from a copy in `folder`, which the test may change."""
    shutil.copytree(app.static_folder, folder)
    app.static_folder = str(folder)
    return folder


def test_a_changed_file_gets_a_new_address_and_the_old_one_is_no_longer_immutable(tmp_path):
    app = make_app(tmp_path, serving=False)  # TESTING: a changed file is read again
    css = copy_static_folder(app, tmp_path / "static") / "kb.css"
    client = app.test_client()
    old = linked_static_urls(client)["kb.css"]

    css.write_bytes(css.read_bytes() + b"\n.changed { color: red; }\n")
    new = linked_static_urls(client)["kb.css"]
    assert version_in(new) == content_hash(css) != version_in(old)

    current = client.get(new, headers={"Accept-Encoding": "gzip"})
    assert current.headers["Cache-Control"] == IMMUTABLE
    assert gzip.decompress(current.data) == css.read_bytes()
    stale = client.get(old)
    assert stale.headers["Cache-Control"] == "no-cache"
    assert stale.data == css.read_bytes()


def test_in_production_a_file_is_hashed_and_read_once_per_process(tmp_path):
    app = make_app(tmp_path, serving=False, TESTING=False)
    css = copy_static_folder(app, tmp_path / "static") / "kb.css"
    client = app.test_client()
    first = linked_static_urls(client)["kb.css"]
    served = client.get(first).data

    css.write_bytes(b".replaced { color: red; }\n")
    assert linked_static_urls(client)["kb.css"] == first
    response = client.get(first)
    assert response.headers["Cache-Control"] == IMMUTABLE
    assert response.data == served  # the bytes that go with the address, not the new file
