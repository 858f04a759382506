"""Logging in, sessions, CSRF and passwords, seen from a browser's side."""

from __future__ import annotations

import re

from conftest import PASSWORD, KbClient, add_user, make_app


def test_login_page_and_successful_login(client, app):
    add_user(app, "alice", "agent")
    assert client.get("/").status_code == 302
    response = client.login("alice")
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "alice" in page and 'id="kb-q"' in page and "autofocus" in page


def test_login_errors_do_not_reveal_which_part_was_wrong(client, app):
    add_user(app, "alice", "agent")
    wrong_password = client.submit("/login", {"username": "alice", "password": "nope-nope-nope"})
    unknown_user = client.submit("/login", {"username": "mallory", "password": PASSWORD})
    assert wrong_password.status_code == unknown_user.status_code == 401
    message = "Wrong username or password."
    assert message in wrong_password.get_data(as_text=True)
    assert message in unknown_user.get_data(as_text=True)


def test_deactivated_user_cannot_log_in(admin, starter_app):
    add_user(starter_app, "leaver", "agent")
    listed = admin.get("/api/v1/users").get_json()["users"]
    assert any(u["username"] == "leaver" for u in listed)
    token = admin.csrf_token("/")
    response = admin.patch("/api/v1/users/leaver", json={"active": False}, headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.get_json()["user"]["active"] is False
    starter_app.test_client_class = KbClient
    other = starter_app.test_client()
    assert other.submit("/login", {"username": "leaver", "password": PASSWORD}).status_code == 401


def test_post_without_csrf_token_is_rejected(client, app):
    add_user(app, "alice", "agent")
    client.login("alice")
    response = client.post("/account/password", data={"current": PASSWORD, "new": "another secret pw"})
    assert response.status_code == 400
    assert "could not be verified" in response.get_data(as_text=True)


def test_a_login_form_whose_token_no_longer_matches_comes_back_ready_to_send(client, app):
    """Another tab that started its own session replaced the token this form was given."""
    add_user(app, "alice", "agent")
    stale = client.csrf_token("/login")
    client.delete_cookie("session")
    client.get("/login")  # the other tab: a new session with a new token
    response = client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": stale})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "login form had expired" in page
    assert 'value="alice"' in page and client.get("/").status_code == 302, "not logged in by a stale form"
    fresh = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    again = client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": fresh})
    assert again.status_code == 302 and client.get("/").status_code == 200


def test_a_cookieless_visitor_is_given_no_session_except_by_the_login_form(client):
    """A browser fetches its icon, or lands on a missing page, beside a login form it is filling
    in: a session started by that answer would replace the form's token and fail the login."""
    for url in ("/favicon.ico", "/no-such-page", "/static/no-such-file.css", "/api/v1/health"):
        response = client.get(url, follow_redirects=True)
        assert response.status_code in (200, 404), (url, response.status_code)
        assert not response.headers.getlist("Set-Cookie"), url
    assert any(c.startswith("session=") for c in client.get("/login").headers.getlist("Set-Cookie"))


def test_logout_needs_post_with_csrf(client, app):
    add_user(app, "alice", "agent")
    client.login("alice")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.submit("/logout", token_page="/").status_code == 302
    assert client.get("/").status_code == 302


def test_session_cookie_is_httponly_and_samesite(client, app):
    add_user(app, "alice", "agent")
    response = client.submit("/login", {"username": "alice", "password": PASSWORD})
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers.getlist("Set-Cookie")
    assert all("HttpOnly" in c and "SameSite=Lax" in c for c in cookies)


def test_next_only_redirects_within_kb(client, app):
    add_user(app, "alice", "agent")
    for target, expected in (("/articles/x", "/articles/x"), ("https://evil.example/", "/"), ("//evil.example", "/")):
        fresh = app.test_client()
        token = fresh.csrf_token()
        response = fresh.post(
            f"/login?next={target}", data={"username": "alice", "password": PASSWORD, "csrf_token": token}
        )
        assert response.headers["Location"] == expected, target


def test_passwords_are_stored_hashed(app):
    add_user(app, "alice", "agent")
    with app.app_context():
        from sqlalchemy import select

        from kb.db import get_session
        from kb.models import User

        stored = get_session().scalar(select(User.password_hash).where(User.username == "alice"))
    assert PASSWORD not in stored and stored.startswith("scrypt:")


def test_user_changes_own_password(client, app):
    add_user(app, "alice", "agent")
    client.login("alice")
    response = client.submit(
        "/account/password",
        {"current": PASSWORD, "new": "a new long secret", "confirm": "a new long secret"},
        token_page="/",
    )
    assert response.status_code == 302
    client.submit("/logout", token_page="/")
    client.login("alice", "a new long secret")


def test_login_is_rate_limited(tmp_path):
    app = make_app(tmp_path, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    app.test_client_class = KbClient
    client = app.test_client()
    responses = [client.submit("/login", {"username": f"x{n}", "password": "wrong-password"}) for n in range(4)]
    assert [r.status_code for r in responses] == [401, 401, 401, 429]
    assert 1 <= int(responses[-1].headers["Retry-After"]) <= 60
