"""Hostile input to the JSON API gets a 4xx that says what is wrong, never a 500, and stores nothing.

One test per kind of input that schemathesis (tests/test_schemathesis.py) or probing found
answered with a 500 or quietly stored: ids past the database's integer range, values of the wrong
type where text is expected, lone surrogates in JSON text, JSON nested too deeply, numbers written
in digits that int() refuses, and bodies too large to read.
"""

from __future__ import annotations

import io
import json

import pytest
from conftest import client_for, token_client

from kb.limits import DEFAULT_LIMITS
from kb.views.jsonbody import MAX_DEPTH, json_object

MAX_BODY_BYTES = DEFAULT_LIMITS["MAX_REQUEST_BYTES"]

SLUG = "printer-shows-offline"


@pytest.fixture
def admin(starter_app):
    """A client with an admin token's headers (admins may call every operation)."""
    return token_client(starter_app, "boss", "admin")


def refused(response, status: int = 400, *, field: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    body = response.get_json()
    assert body["error"] and body["message"]
    if field is not None:
        assert body["field"] == field, body
    return body


def test_ids_past_the_database_integer_range_are_404_not_500(starter_app, admin):
    for url in (
        "/api/v1/synonyms/2557352694539700193461767503872",
        "/api/v1/golden/18446744073709551616",
        f"/api/v1/articles/{SLUG}/revisions/99999999999999999999999",
        "/api/v1/synonyms/2147483648",  # one past PostgreSQL's INTEGER
    ):
        method = admin.get if "revisions" in url else admin.delete
        assert refused(method(url), 404)["error"] == "not_found", url
    assert admin.get(f"/api/v1/articles/{SLUG}/revisions/1").status_code == 200
    page = client_for(starter_app, "admin").submit(
        "/admin/users/99999999999999999999", {"role": "agent"}, token_page="/"
    )
    assert page.status_code == 404


def test_values_of_the_wrong_type_where_text_is_expected_get_400_naming_the_field(admin):
    assert admin.post("/api/v1/users", json={"username": "sam", "role": "agent"}).status_code == 201
    for change, field in (({"password": True}, "password"), ({"password": 1.5}, "password"), ({"role": 7}, "role")):
        refused(admin.patch("/api/v1/users/sam", json=change), field=field)
    refused(admin.patch("/api/v1/users/sam", json={"active": "no"}), field="active")
    refused(admin.post("/api/v1/users", json={"username": 12345, "role": "agent"}), field="username")
    refused(admin.post("/api/v1/users", json={"username": "kim", "password": ["x" * 8]}), field="password")
    refused(admin.post("/api/v1/golden", json={"query": ["printer"], "article": SLUG}), field="query")
    refused(admin.post("/api/v1/golden", json={"query": "printer", "article": {"slug": SLUG}}), field="article")
    users = {u["username"]: u for u in admin.get("/api/v1/users").get_json()["users"]}
    assert set(users) == {"boss", "sam"} and users["sam"]["active"] and users["sam"]["role"] == "agent"
    assert admin.patch("/api/v1/users/sam", json={"active": False}).get_json()["user"]["active"] is False


@pytest.mark.parametrize(
    "method, url, body, field",
    [
        ("post", "/api/v1/articles", {"title": "Bad \ud800 title"}, "title"),
        ("post", "/api/v1/articles", {"title": "Fine", "tags": ["ok", "x\udc00y"]}, "tags[1]"),
        ("put", f"/api/v1/articles/{SLUG}", {"summary": "x", "message": "\udfff", "version": 1}, "message"),
        ("post", "/api/v1/synonyms", {"terms": ["wifi", "wire\ud800less"]}, "terms[1]"),
        ("post", "/api/v1/golden", {"query": "printer \ud800", "article": SLUG}, "query"),
        ("post", "/api/v1/users", {"username": "s\ud800m", "role": "agent"}, "username"),
        ("post", "/api/v1/users", {"username": "sam", "password": "long enough \ud800"}, "password"),
        ("post", f"/api/v1/articles/{SLUG}/feedback", {"helpful": True, "note\ud800": 1}, "body"),
        # Not a 500 on SQLite, but PostgreSQL cannot store a NUL in text: refused the same way.
        ("post", "/api/v1/articles", {"title": "Nul\x00 title"}, "title"),
        ("post", "/api/v1/synonyms", {"terms": ["wifi", "wire\x00less"]}, "terms[1]"),
    ],
)
def test_text_that_cannot_be_stored_gets_400_naming_the_field_and_stores_nothing(admin, method, url, body, field):
    """Lone surrogates (valid JSON escapes, not Unicode) and NUL characters, anywhere in a body."""
    before = admin.get("/api/v1/synonyms").get_json(), admin.get("/api/v1/users").get_json()
    body = refused(getattr(admin, method)(url, json=body), field=field)
    assert body["error"] == "invalid" and ("surrogate" in body["message"] or "NUL" in body["message"])
    assert (admin.get("/api/v1/synonyms").get_json(), admin.get("/api/v1/users").get_json()) == before
    assert admin.get(f"/api/v1/articles/{SLUG}").get_json()["version"] == 1


@pytest.mark.parametrize(
    "raw, says",
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested"),  # past Python's recursion limit
        (b'{"a":' * 5_000 + b"1" + b"}" * 5_000, "nested"),
        (b'{"terms":' + b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1) + b"}", "nested"),
        (b'{"terms": ["wifi", NaN]}', "not valid JSON"),
        (b'{"terms": ["wifi", Infinity]}', "not valid JSON"),
        (b'{"terms": ["wifi", "\xff\xfe"]}', "not valid JSON"),  # not UTF-8
        (b'{"terms": ["wifi",', "not valid JSON"),
        (b'{"version": ' + b"9" * 5_000 + b"}", "not valid JSON"),  # past int()'s limit on digits
        (b'["wifi", "wireless"]', "JSON object"),
        (b"", "not valid JSON"),
    ],
)
def test_malformed_or_deeply_nested_json_gets_400_saying_what_is_wrong(admin, raw, says):
    response = admin.post("/api/v1/synonyms", data=raw, content_type="application/json")
    assert says in refused(response)["message"]


def test_a_version_in_digits_int_refuses_gets_400(admin):
    for version in ("²", "٣", "1" * 5_000, "1e3", " 1 2 "):
        response = admin.put(f"/api/v1/articles/{SLUG}", json={"summary": "x", "version": version})
        refused(response, field="version")
    saved = admin.put(f"/api/v1/articles/{SLUG}", json={"summary": "Digits as text still work.", "version": " 1 "})
    assert saved.status_code == 200 and saved.get_json()["article"]["version"] == 2


def test_a_body_past_the_size_limit_gets_413(admin):
    title = "x" * MAX_BODY_BYTES
    response = admin.post("/api/v1/articles", json={"title": title})
    assert refused(response, 413)["error"] == "request_too_large"
    # Just under the limit is read (feedback ignores the extra key, so nothing big is stored or indexed).
    just_fits = admin.post(
        f"/api/v1/articles/{SLUG}/feedback", json={"helpful": True, "pad": "y" * (MAX_BODY_BYTES - 50)}
    )
    assert just_fits.status_code == 200


def test_a_body_arriving_in_short_reads_is_read_whole(app):
    """Under gunicorn one read() of the socket may return less than asked: the reader keeps reading."""

    class Trickle(io.BytesIO):
        def read(self, size=-1):
            return super().read(min(size, 1000) if size and size > 0 else 1000)

        def readinto(self, buffer):
            return super().readinto(memoryview(buffer)[:1000])

    body = json.dumps({"helpful": True, "pad": "y" * 50_000}).encode()
    with app.test_request_context(
        "/api/v1/articles/x/feedback",
        method="POST",
        input_stream=Trickle(body),
        content_type="application/json",
        content_length=len(body),
    ):
        assert json_object()["pad"] == "y" * 50_000


def test_a_nul_in_the_url_gets_400_naming_the_parameter_on_every_page(starter_app, admin):
    """PostgreSQL cannot hold a NUL in text: an article lookup failed, and a searched "a%00b" stuck
    in the search-log buffer made every later flush fail (tests run on both databases in CI)."""
    for url, field in (
        ("/api/v1/search?q=printer%00offline", "q"),
        ("/api/v1/search?q=printer&tag=%00", "tag"),
        ("/api/v1/articles?status=draft%00", "status"),
        ("/api/v1/articles/printer%00offline", "slug"),
        ("/api/v1/users?x%00=1", "x\x00"),
    ):
        assert refused(admin.get(url), field=field)["error"] == "invalid", url
    page = client_for(starter_app, "agent").get("/?q=printer%00offline")
    assert page.status_code == 400 and "NUL" in page.get_data(as_text=True)
    assert admin.get("/api/v1/search?q=printer+offline").status_code == 200
