"""Sessions, remember-me cookies and API tokens end when they should, and the account guards hold.

Each way a login should end is a case: a password change (by its owner or an admin's reset, on a
page or through the API), logging out, deactivation, revoking a token, and age. Cookies are copied
between test clients the way an attacker would replay them.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest
from conftest import PASSWORD, KbClient, add_user, make_app, make_token
from flask_login.utils import encode_cookie
from sqlalchemy import update

from kb.db import get_session
from kb.models import ApiToken

NEW_PASSWORD = "a brand new secret"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def new_client(app) -> KbClient:
    app.test_client_class = KbClient
    return app.test_client()


def logged_in(client) -> bool:
    response = client.get("/")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def remember_login(app, username: str) -> KbClient:
    client = new_client(app)
    response = client.submit("/login", {"username": username, "password": PASSWORD, "remember": "1"})
    assert response.status_code == 302
    return client


def with_cookie(app, name: str, value: str) -> KbClient:
    """A fresh browser holding only a copy of one cookie."""
    client = new_client(app)
    client.set_cookie(name, value)
    return client


def api_write(client, method: str, url: str, **kwargs):
    """An API write with a session cookie: it needs the page's CSRF token."""
    return client.open(url, method=method, headers={"X-CSRFToken": client.csrf_token("/")}, **kwargs)


@pytest.fixture
def alice(app):
    add_user(app, "alice", "agent")
    return app


# --- a password change ends every other session ---------------------------------------------------


def test_changing_ones_password_ends_the_other_sessions_and_tokens_but_not_this_one(alice):
    here, elsewhere = remember_login(alice, "alice"), remember_login(alice, "alice")
    copied_remember = elsewhere.get_cookie("remember_token").value
    token = make_token(alice, "alice")
    assert logged_in(here) and logged_in(elsewhere) and logged_in(with_cookie(alice, "remember_token", copied_remember))

    response = here.submit(
        "/account/password", {"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}, token_page="/"
    )
    assert response.status_code == 302
    assert "1 API token revoked" in here.get("/account").get_data(as_text=True)

    assert logged_in(here)
    assert not logged_in(elsewhere)
    assert not logged_in(with_cookie(alice, "remember_token", copied_remember))
    assert new_client(alice).get("/api/v1/me", headers=bearer(token)).status_code == 401
    # The browser that changed it keeps a remember cookie of the new generation.
    assert logged_in(with_cookie(alice, "remember_token", here.get_cookie("remember_token").value))
    new_client(alice).login("alice", NEW_PASSWORD)


def test_changing_ones_password_through_the_api_ends_the_other_sessions(alice):
    here, elsewhere = new_client(alice), new_client(alice)
    here.login("alice")
    elsewhere.login("alice")
    response = api_write(here, "POST", "/api/v1/me/password", json={"current": PASSWORD, "new": NEW_PASSWORD})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["revoked_tokens"] == 0
    assert logged_in(here) and not logged_in(elsewhere)


@pytest.mark.parametrize("door", ["page", "api"])
def test_an_admin_reset_ends_the_users_sessions_and_tokens(alice, door):
    add_user(alice, "boss", "admin")
    victim = remember_login(alice, "alice")
    remember = victim.get_cookie("remember_token").value
    token = make_token(alice, "alice")
    admin = new_client(alice)
    admin.login("boss")

    if door == "page":
        response = admin.submit(
            "/admin/users/1", {"role": "agent", "active": "1", "password": NEW_PASSWORD}, token_page="/"
        )
        assert response.status_code == 302
        assert "sessions ended, 1 API token revoked" in admin.get("/admin/users").get_data(as_text=True)
    else:
        response = api_write(admin, "PATCH", "/api/v1/users/alice", json={"password": NEW_PASSWORD})
        assert response.status_code == 200

    assert not logged_in(victim)
    assert not logged_in(with_cookie(alice, "remember_token", remember))
    assert new_client(alice).get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert logged_in(admin)  # someone else's reset leaves the admin's own session alone


def test_an_admin_resetting_their_own_password_stays_logged_in_here_only(app):
    add_user(app, "boss", "admin")
    here, elsewhere = new_client(app), new_client(app)
    here.login("boss")
    elsewhere.login("boss")
    response = here.submit("/admin/users/1", {"role": "admin", "active": "1", "password": NEW_PASSWORD}, token_page="/")
    assert response.status_code == 302
    assert logged_in(here) and not logged_in(elsewhere)


def test_the_cli_password_reset_ends_sessions_and_tokens(alice):
    victim = new_client(alice)
    victim.login("alice")
    token = make_token(alice, "alice")
    result = alice.test_cli_runner().invoke(args=["user", "passwd", "alice", "--password", NEW_PASSWORD])
    assert result.exit_code == 0 and "sessions ended, 1 API token revoked" in result.output
    assert not logged_in(victim)
    assert new_client(alice).get("/api/v1/me", headers=bearer(token)).status_code == 401


# --- logging out, deactivation and age ------------------------------------------------------------


def test_replayed_session_and_remember_cookies_do_not_log_in_after_logout(alice):
    client = remember_login(alice, "alice")
    session_cookie = client.get_cookie("session").value
    remember = client.get_cookie("remember_token").value
    assert logged_in(with_cookie(alice, "remember_token", remember))  # the copy works while logged in

    assert client.submit("/logout", token_page="/").status_code == 302

    assert not logged_in(client)
    assert not logged_in(with_cookie(alice, "session", session_cookie))
    assert not logged_in(with_cookie(alice, "remember_token", remember))


def test_deactivation_ends_sessions_and_tokens_and_reactivation_does_not_revive_them(alice):
    add_user(alice, "boss", "admin")
    victim = remember_login(alice, "alice")
    remember = victim.get_cookie("remember_token").value
    token = make_token(alice, "alice")
    admin = new_client(alice)
    admin.login("boss")

    assert api_write(admin, "PATCH", "/api/v1/users/alice", json={"active": False}).status_code == 200
    assert not logged_in(victim)
    assert new_client(alice).get("/api/v1/me", headers=bearer(token)).status_code == 401

    assert api_write(admin, "PATCH", "/api/v1/users/alice", json={"active": True}).status_code == 200
    assert not logged_in(victim)
    assert not logged_in(with_cookie(alice, "remember_token", remember))
    assert new_client(alice).get("/api/v1/me", headers=bearer(token)).status_code == 401
    new_client(alice).login("alice")


def test_a_remember_cookie_works_only_for_its_generation_and_its_lifetime(alice):
    """The cookies are signed with the test app's secret key, as kb signs them."""
    now = int(datetime.now(timezone.utc).timestamp())
    day_ago, month_ago = now - 86400, now - 31 * 86400
    cases = {
        f"1:0:{day_ago}": True,
        f"1:0:{month_ago}": False,  # older than the 30 days a login lasts by default
        f"1:1:{day_ago}": False,  # a generation the user is not at
        "1": False,  # a cookie from before session generations
    }
    with alice.test_request_context():
        cookies = {identity: encode_cookie(identity) for identity in cases}
    works = {identity: logged_in(with_cookie(alice, "remember_token", cookies[identity])) for identity in cases}
    assert works == cases


@pytest.mark.parametrize(("config", "days"), [({}, 30), ({"REMEMBER_DAYS": 7}, 7)])
def test_remember_me_lasts_30_days_unless_configured(tmp_path, config, days):
    app = make_app(tmp_path, serving=False, **config)
    add_user(app, "alice", "agent")
    client = new_client(app)
    response = client.submit("/login", {"username": "alice", "password": PASSWORD, "remember": "1"})
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token="))
    expires = parsedate_to_datetime(cookie.split("Expires=")[1].split(";")[0])
    assert abs(expires - datetime.now(timezone.utc) - timedelta(days=days)) < timedelta(hours=1)


# --- API tokens: listed, created and revoked one by one -----------------------------------------


def test_tokens_are_listed_created_and_revoked_on_the_account_page(alice):
    add_user(alice, "bob", "agent")
    bobs = make_token(alice, "bob")
    client = new_client(alice)
    client.login("alice")
    assert "You have no API tokens." in client.get("/account").get_data(as_text=True)

    page = client.submit("/account/tokens", {"name": "helpdesk widget"}, token_page="/account")
    assert page.status_code == 200
    secret = page.get_data(as_text=True).split('<code id="new-token">')[1].split("</code>")[0]
    assert new_client(alice).get("/api/v1/me", headers=bearer(secret)).get_json()["username"] == "alice"
    listing = client.get("/account").get_data(as_text=True)
    assert secret[:10] in listing and "helpdesk widget" in listing and secret not in listing

    assert client.submit("/account/tokens/1/revoke", token_page="/account").status_code == 404  # bob's
    assert new_client(alice).get("/api/v1/me", headers=bearer(bobs)).status_code == 200
    assert client.submit("/account/tokens/2/revoke", token_page="/account").status_code == 302
    assert new_client(alice).get("/api/v1/me", headers=bearer(secret)).status_code == 401
    assert "You have no API tokens." in client.get("/account").get_data(as_text=True)


def test_tokens_are_listed_created_and_revoked_through_the_api(alice):
    add_user(alice, "bob", "agent")
    bobs = make_token(alice, "bob")
    client = new_client(alice)
    headers = bearer(make_token(alice, "alice"))

    created = client.post("/api/v1/tokens", json={"name": "ticket sidebar"}, headers=headers)
    assert created.status_code == 201
    body = created.get_json()
    assert body["secret"].startswith(body["token"]["prefix"]) and body["token"]["name"] == "ticket sidebar"
    listed = client.get("/api/v1/tokens", headers=headers).get_json()["tokens"]
    assert [t["id"] for t in listed] == [2, body["token"]["id"]]
    assert all("secret" not in t for t in listed)

    assert client.delete("/api/v1/tokens/1", headers=headers).status_code == 404  # bob's is not hers
    assert client.get("/api/v1/me", headers=bearer(bobs)).status_code == 200
    assert client.delete(f"/api/v1/tokens/{body['token']['id']}", headers=headers).status_code == 200
    assert client.get("/api/v1/me", headers=bearer(body["secret"])).status_code == 401
    assert client.delete(f"/api/v1/tokens/{body['token']['id']}", headers=headers).status_code == 404
    bad = client.post("/api/v1/tokens", json={"name": "tab\x01char"}, headers=headers)
    assert bad.status_code == 400 and bad.get_json()["field"] == "name"


def test_the_cli_lists_tokens_and_revokes_one(alice):
    runner = alice.test_cli_runner()
    first, second = make_token(alice, "alice"), make_token(alice, "alice")
    listing = runner.invoke(args=["token", "list", "alice"]).output
    assert first[:10] in listing and second[:10] in listing
    assert runner.invoke(args=["token", "revoke", "alice", "--id", "1"]).exit_code == 0
    assert new_client(alice).get("/api/v1/me", headers=bearer(first)).status_code == 401
    assert new_client(alice).get("/api/v1/me", headers=bearer(second)).status_code == 200
    assert first[:10] not in runner.invoke(args=["token", "list", "alice"]).output


def set_last_used(app, when: datetime | None) -> None:
    with app.app_context():
        session = get_session()
        session.execute(update(ApiToken).values(last_used_at=when))
        session.commit()


def last_used(client, headers) -> str | None:
    return client.get("/api/v1/tokens", headers=headers).get_json()["tokens"][0]["last_used_at"]


def test_last_used_is_kept_written_at_most_once_a_minute_and_never_fails_a_request(alice):
    token = make_token(alice, "alice")
    client, headers = new_client(alice), bearer(token)
    first = last_used(client, headers)
    assert first is not None
    assert last_used(client, headers) == first  # used again within the minute: not written again

    set_last_used(alice, datetime.now(timezone.utc) - timedelta(minutes=5))
    assert last_used(client, headers) > first

    statuses: list[int] = []

    def call():
        statuses.extend(new_client(alice).get("/api/v1/me", headers=headers).status_code for _ in range(3))

    for _ in range(3):
        set_last_used(alice, None)  # so every request of the round races to record the use
        threads = [threading.Thread(target=call) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert statuses == [200] * 54
    assert last_used(client, headers) is not None


# --- the admin guards hold for every value ------------------------------------------------------


API_VALUES = ["off", "no", None, "", 0, "false", [], {}]
FORM_VALUES = [["off"], ["no"], [""], ["false"], ["yes"], ["0", "yes"], ["0"]]


def test_the_self_deactivation_guard_holds_for_any_value_through_either_door(app):
    add_user(app, "boss", "admin")
    admin = new_client(app)
    admin.login("boss")
    for value in API_VALUES:
        response = api_write(admin, "PATCH", "/api/v1/users/boss", json={"active": value})
        assert response.status_code == 400 and response.get_json()["field"] == "active", value
    for values in FORM_VALUES:
        form = {"role": "admin", "active": values, "csrf_token": admin.csrf_token("/")}
        response = admin.post("/admin/users/1", data=form)
        assert response.status_code == 400 and "active" in response.get_data(as_text=True), values
    assert logged_in(admin)
    assert admin.get("/api/v1/users").get_json()["users"][0]["active"] is True


def test_the_admin_form_still_deactivates_and_reactivates_others(alice):
    add_user(alice, "boss", "admin")
    admin = new_client(alice)
    admin.login("boss")
    url = "/admin/users/1"
    assert admin.submit(url, {"role": "agent", "active": "0"}, token_page="/").status_code == 302
    assert admin.get("/api/v1/users").get_json()["users"][0]["active"] is False
    assert (
        admin.post(url, data={"role": "agent", "active": ["0", "1"], "csrf_token": admin.csrf_token("/")}).status_code
        == 302
    )
    assert admin.get("/api/v1/users").get_json()["users"][0]["active"] is True


# --- usernames and passwords are text kb can store ----------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "sa\x01m", "role": "agent"}, "username"),
        ({"username": "sam", "role": "agent", "password": "long enough\x07"}, "password"),
        ({"username": "sam", "role": "agent", "password": "x" * 5000}, "password"),
    ],
)
def test_usernames_and_passwords_with_control_characters_are_refused_naming_the_field(app, body, field):
    add_user(app, "boss", "admin")
    headers = bearer(make_token(app, "boss"))
    client = new_client(app)
    response = client.post("/api/v1/users", json=body, headers=headers)
    assert response.status_code == 400 and response.get_json()["field"] == field, response.get_json()
    assert [u["username"] for u in client.get("/api/v1/users", headers=headers).get_json()["users"]] == ["boss"]


def test_a_control_character_in_the_login_form_is_a_form_error_naming_the_field(alice):
    response = new_client(alice).submit("/login", {"username": "ali\x1bce", "password": PASSWORD})
    assert response.status_code == 400 and "username holds the control character U+001B" in response.get_data(
        as_text=True
    )


@pytest.mark.parametrize("body", [{"current": 12345678, "new": NEW_PASSWORD}, {"current": PASSWORD, "new": ["x"]}])
def test_a_non_text_password_in_the_api_is_a_400_naming_the_field(alice, body):
    client = new_client(alice)
    response = client.post("/api/v1/me/password", json=body, headers=bearer(make_token(alice, "alice")))
    assert response.status_code == 400 and response.get_json()["field"] in ("current", "new")


@pytest.mark.parametrize("target", ["/%0d%0aX", "/%0aSet-Cookie:x=1", "/\\evil.example", "/\\/evil.example"])
def test_next_with_a_line_break_or_backslash_goes_home(alice, target):
    client = new_client(alice)
    token = client.csrf_token()
    response = client.post(
        f"/login?next={target}", data={"username": "alice", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"


# --- rate limits ----------------------------------------------------------------------------------


def limited_app(tmp_path):
    app = make_app(tmp_path, serving=False, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    add_user(app, "alice", "agent")
    add_user(app, "bob", "agent")
    return app


def assert_retry_after(response) -> None:
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_failed_logins_are_limited_per_account_from_any_address_with_retry_after(tmp_path):
    app = limited_app(tmp_path)
    for attempt in range(5):  # logging in is not a failure: it uses up nothing
        client = new_client(app)
        client.environ_base["REMOTE_ADDR"] = f"10.0.1.{attempt + 1}"
        client.login("alice")
    statuses = []
    for attempt in range(4):  # an attacker spreading guesses over addresses
        client = new_client(app)
        client.environ_base["REMOTE_ADDR"] = f"10.0.0.{attempt + 1}"
        statuses.append(client.submit("/login", {"username": "alice", "password": "wrong-guess"}))
    assert [r.status_code for r in statuses] == [401, 401, 401, 429]
    assert_retry_after(statuses[-1])
    assert "Try again in" in statuses[-1].get_data(as_text=True)
    other = new_client(app)
    other.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert other.submit("/login", {"username": "bob", "password": "wrong-guess"}).status_code == 401


def test_password_changes_are_limited_per_account_on_the_page_and_the_api_together(tmp_path):
    app = limited_app(tmp_path)
    client = new_client(app)
    client.login("alice")
    wrong = {"current": "not my password", "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    statuses = [client.submit("/account/password", wrong, token_page="/account").status_code for _ in range(3)]
    assert statuses == [400, 400, 400]
    page = client.submit("/account/password", wrong, token_page="/account")
    assert_retry_after(page)
    api = client.post(
        "/api/v1/me/password", json={"current": "x", "new": NEW_PASSWORD}, headers=bearer(make_token(app, "alice"))
    )
    assert_retry_after(api)
    assert api.get_json()["error"] == "too_many_requests" and "Try again in" in api.get_json()["message"]
