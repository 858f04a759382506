"""The JSON API: the same capabilities and checks as the UI, for helpdesk tools."""

from __future__ import annotations

import hashlib

from conftest import add_user, indexed, make_token
from sqlalchemy import select

from kb.db import Base, get_session
from kb.models import ApiToken


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_search_returns_the_documented_shape(starter_app):
    add_user(starter_app, "tool", "agent")
    client = starter_app.test_client()
    response = client.get("/api/v1/search?q=printer+offline&limit=3", headers=bearer(make_token(starter_app, "tool")))
    assert response.status_code == 200
    data = response.get_json()
    assert {"query", "total", "took_ms", "results"} <= set(data)
    assert data["query"] == "printer offline" and data["total"] >= 1 and len(data["results"]) <= 3
    first = data["results"][0]
    assert {"slug", "title", "summary", "snippet", "tags", "score", "url"} <= set(first)
    assert first["slug"] == "printer-shows-offline"
    assert first["url"].startswith("/articles/printer-shows-offline")  # relative: no KB_BASE_URL here
    assert "<mark>" in first["snippet"]


def test_article_has_markdown_and_sanitized_html(starter_app):
    add_user(starter_app, "tool", "agent")
    response = starter_app.test_client().get(
        "/api/v1/articles/vpn-will-not-connect", headers=bearer(make_token(starter_app, "tool"))
    )
    data = response.get_json()
    assert data["slug"] == "vpn-will-not-connect"
    assert data["markdown"].startswith("## What the customer notices")
    assert '<h2 id="what-the-customer-notices">' in data["html"]
    assert data["status"] == "published" and data["tags"]


def test_anonymous_and_bad_tokens_get_401_json(starter_app):
    client = starter_app.test_client()
    for headers in ({}, bearer("kb_not-a-real-token"), {"Authorization": "Basic abc"}):
        response = client.get("/api/v1/search?q=vpn", headers=headers)
        assert response.status_code == 401
        assert response.get_json()["message"]


def test_revoked_token_stops_working(starter_app, tmp_path):
    add_user(starter_app, "tool", "agent")
    token = make_token(starter_app, "tool")
    client = starter_app.test_client()
    assert client.get("/api/v1/me", headers=bearer(token)).get_json() == {"username": "tool", "role": "agent"}
    result = starter_app.test_cli_runner().invoke(args=["token", "revoke", "tool"])
    assert result.exit_code == 0 and "Revoked 1" in result.output
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_tokens_are_stored_hashed(starter_app):
    """Read back through the database, not the file: with WAL, fresh rows sit in kb.db-wal."""
    add_user(starter_app, "tool", "agent")
    token = make_token(starter_app, "tool")
    with starter_app.app_context():
        session = get_session()
        stored = [
            (table.name, value)
            for table in Base.metadata.sorted_tables
            for row in session.execute(select(table))
            for value in row
        ]
        hashes = session.scalars(select(ApiToken.token_hash)).all()
    # Only a short prefix is kept to recognise the token by; the rest of the secret is nowhere.
    secret_part = token[len(token) // 2 :]
    leaks = [(table, value) for table, value in stored if secret_part in str(value)]
    assert not leaks
    assert hashes == [hashlib.sha256(token.encode()).hexdigest()]


def test_agent_may_not_write_through_the_api(starter_app):
    add_user(starter_app, "tool", "agent")
    response = starter_app.test_client().post(
        "/api/v1/articles", json={"title": "Sneaky"}, headers=bearer(make_token(starter_app, "tool"))
    )
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"


def test_author_creates_and_updates_an_article_with_a_token(starter_app):
    add_user(starter_app, "writer", "author")
    headers = bearer(make_token(starter_app, "writer"))
    client = starter_app.test_client()
    created = client.post(
        "/api/v1/articles",
        json={
            "title": "Docking station flickers",
            "body": '## What the customer notices\n\n- "screen flickers"\n',
            "status": "review",
            "tags": ["dock"],
        },
        headers=headers,
    )
    assert created.status_code == 201, created.get_json()
    article = created.get_json()["article"]
    assert article["slug"] == "docking-station-flickers" and article["version"] == 1
    indexed(starter_app)
    found = client.get("/api/v1/search?q=flickers&drafts=1", headers=headers).get_json()
    assert found["results"][0]["slug"] == "docking-station-flickers"

    updated = client.put(
        "/api/v1/articles/docking-station-flickers",
        json={"summary": "Cable or firmware.", "version": 1},
        headers=headers,
    )
    assert updated.status_code == 200 and updated.get_json()["article"]["version"] == 2
    revisions = client.get("/api/v1/articles/docking-station-flickers/revisions", headers=headers).get_json()[
        "revisions"
    ]
    assert [r["number"] for r in revisions] == [2, 1]
    first = client.get("/api/v1/articles/docking-station-flickers/revisions/1", headers=headers).get_json()
    assert first["summary"] == ""


def test_invalid_article_gets_400_naming_the_field(starter_app):
    add_user(starter_app, "writer", "author")
    headers = bearer(make_token(starter_app, "writer"))
    client = starter_app.test_client()
    response = client.post("/api/v1/articles", json={"title": "x", "status": "finished"}, headers=headers)
    assert response.status_code == 400
    assert "status" in response.get_json()["fields"]
    response = client.post("/api/v1/articles", data="not json", headers=headers)
    assert response.status_code == 400 and "JSON object" in response.get_json()["message"]
    response = client.post("/api/v1/articles", json={"title": "VPN", "slug": "vpn-will-not-connect"}, headers=headers)
    assert response.status_code == 409


def test_cookie_session_writes_need_the_csrf_header(author):
    response = author.post("/api/v1/articles", json={"title": "No token"})
    assert response.status_code == 400 and response.get_json()["error"] == "csrf"
    token = author.csrf_token("/")
    response = author.post("/api/v1/articles", json={"title": "With token"}, headers={"X-CSRFToken": token})
    assert response.status_code == 201


def test_drafts_are_invisible_to_agents_in_the_api(starter_app):
    add_user(starter_app, "writer", "author")
    add_user(starter_app, "tool", "agent")
    client = starter_app.test_client()
    writer = bearer(make_token(starter_app, "writer"))
    client.post("/api/v1/articles", json={"title": "Secret draft zebra"}, headers=writer)
    indexed(starter_app)
    assert client.get("/api/v1/search?q=zebra&drafts=1", headers=writer).get_json()["total"] == 1
    agent = bearer(make_token(starter_app, "tool"))
    assert client.get("/api/v1/articles/secret-draft-zebra", headers=agent).status_code == 404
    assert client.get("/api/v1/search?q=zebra", headers=agent).get_json()["total"] == 0
    assert client.get("/api/v1/search?q=zebra&drafts=1", headers=agent).get_json()["total"] == 0
    listed = client.get("/api/v1/articles", headers=agent).get_json()["articles"]
    assert listed and all(a["status"] == "published" for a in listed)
    assert "secret-draft-zebra" not in {a["slug"] for a in listed}


def test_admin_manages_users_through_the_api(starter_app):
    add_user(starter_app, "boss", "admin")
    headers = bearer(make_token(starter_app, "boss"))
    client = starter_app.test_client()
    created = client.post("/api/v1/users", json={"username": "newbie", "role": "agent"}, headers=headers)
    assert created.status_code == 201 and len(created.get_json()["user"]["password"]) >= 12
    changed = client.patch("/api/v1/users/newbie", json={"role": "trainer"}, headers=headers)
    assert changed.get_json()["user"]["role"] == "trainer"
    assert client.patch("/api/v1/users/ghost", json={"role": "agent"}, headers=headers).status_code == 404
    bad = client.post("/api/v1/users", json={"username": "x", "role": "king"}, headers=headers)
    assert bad.status_code == 400 and "Unknown role" in bad.get_json()["message"]


def test_unknown_api_path_is_json_404(starter_app):
    add_user(starter_app, "tool", "agent")
    response = starter_app.test_client().get("/api/v1/nothing", headers=bearer(make_token(starter_app, "tool")))
    assert response.status_code == 404 and response.is_json


def test_health_needs_no_login_and_status_is_for_admins(starter_app):
    client = starter_app.test_client()
    assert client.get("/api/v1/health").get_json() == {"status": "ok"}
    add_user(starter_app, "boss", "admin")
    status = client.get("/api/v1/status", headers=bearer(make_token(starter_app, "boss"))).get_json()
    assert status["index"]["readable"] and status["index"]["pending_articles"] == 0
    assert status["index_writer"]["running_here"] and status["database"]["articles"] > 30


def test_pages_and_api_answers_are_never_cached_but_static_files_may_be(starter_app):
    client = starter_app.test_client()
    assert client.get("/login").headers["Cache-Control"] == "no-store"  # its form carries a CSRF token
    assert client.get("/api/v1/health").headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/static/kb.css").headers.get("Cache-Control", "")
