"""Every route checks roles: anonymous callers are sent to log in (401 for the API), and a
logged-in role without the right gets 403. The table is built from the app's own URL map, so a
new route without a check fails here."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from conftest import client_for, make_app

# Routes anyone may reach without logging in.
PUBLIC = {"account.login", "static", "favicon", "api.health", "api.openapi_document"}
# Which roles may use each blueprint (admin may use everything).
BLUEPRINT_ROLES = {
    "agent": {"agent", "author", "trainer", "admin"},
    "account": {"agent", "author", "trainer", "admin"},
    "author": {"author", "admin"},
    "insights": {"author", "admin"},
    "trainer": {"trainer", "admin"},
    "learning": {"agent", "author", "trainer", "admin"},
    "admin": {"admin"},
}
API_ROLES = {
    "api.paths_of_user": {"trainer", "admin"},
    "api.create_article": {"author", "admin"},
    "api.update_article": {"author", "admin"},
    "api.revisions": {"author", "admin"},
    "api.revision": {"author", "admin"},
    "api.diff": {"author", "admin"},
    "api.restore_revision": {"author", "admin"},
    "api.preview": {"author", "admin"},
    "api.article_template": {"author", "admin"},
    "api.change_article_template": {"admin"},
    "api.broken_links": {"author", "admin"},
    "api.transition": {"author", "admin"},
    "api.verify": {"author", "admin"},
    "api.resolve_flag": {"author", "admin"},
    "api.list_attachments": {"author", "admin"},
    "api.upload_attachment": {"author", "admin"},
    "api.all_settings": {"admin"},
    "api.change_setting": {"admin"},
    "api.synonyms": {"author", "admin"},
    "api.create_synonyms": {"author", "admin"},
    "api.change_synonyms": {"author", "admin"},
    "api.golden_queries": {"author", "admin"},
    "api.create_golden": {"author", "admin"},
    "api.delete_golden": {"author", "admin"},
    "api.users": {"admin"},
    "api.status": {"admin"},
    "api.create_user": {"admin"},
    "api.update_user": {"admin"},
    "api.create_path": {"trainer", "admin"},
    "api.update_path": {"trainer", "admin"},
    "api.retire_path": {"trainer", "admin"},
    "api.reinstate_path": {"trainer", "admin"},
    "api.duplicate_path": {"trainer", "admin"},
    "api.set_onboarding": {"admin"},
    "api.path_revisions": {"trainer", "admin"},
    "api.list_teams": {"trainer", "admin"},
    "api.create_team": {"trainer", "admin"},
    "api.team": {"trainer", "admin"},
    "api.rename_team": {"trainer", "admin"},
    "api.add_member": {"trainer", "admin"},
    "api.remove_member": {"trainer", "admin"},
    "api.assign": {"trainer", "admin"},
    "api.unassign": {"trainer", "admin"},
    "api.path_assignments": {"trainer", "admin"},
    "api.give_feedback": {"trainer", "admin"},
    "api.path_progress": {"trainer", "admin"},
    "api.list_gaps": {"author", "admin"},
    "api.draft_for_gap": {"author", "admin"},
    "api.attach_gap": {"author", "admin"},
    "api.dismiss_gap": {"author", "admin"},
    "api.save_root_fix": {"author", "admin"},
    "api.root_fix_history": {"author", "admin"},
    "api.insights_report": {"author", "admin"},
    "api.recurring_problems": {"author", "admin"},
}
ROLES = ("agent", "author", "trainer", "admin")


def routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        url = re.sub(r"<int:\w+>", "1", rule.rule)
        url = re.sub(r"<[^>]+>", "printer-shows-offline", url)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule.endpoint, method, url


def allowed(endpoint: str) -> set[str]:
    if endpoint.startswith("api."):
        return API_ROLES.get(endpoint, set(ROLES))
    return BLUEPRINT_ROLES[endpoint.split(".")[0]]


@pytest.fixture(scope="module")
def route_table(tmp_path_factory):
    return list(routes(make_app(tmp_path_factory.mktemp("routes"))))


def test_every_route_is_in_the_table(route_table):
    endpoints = {endpoint for endpoint, _, _ in route_table}
    assert endpoints, "no routes found"
    for endpoint in endpoints:
        assert endpoint.startswith("api.") or endpoint.split(".")[0] in BLUEPRINT_ROLES, endpoint


def test_anonymous_callers_must_log_in(starter_app, route_table):
    """Writes carry a valid CSRF token, so the answer comes from the login check: CSRF alone
    would turn them away with a 400 even on a route that forgot to check who is calling."""
    client = client_for(starter_app, None)
    token = client.csrf_token("/login")
    for endpoint, method, url in route_table:
        if endpoint.startswith("api."):
            response = client.open(url, method=method, json={}, headers={"X-CSRFToken": token})
            assert response.status_code == 401, (method, url, response.status_code)
            assert response.get_json()["error"] == "unauthorized"
        else:
            form = None if method == "GET" else {"csrf_token": token}
            response = client.open(url, method=method, data=form)
            assert response.status_code == 302, (method, url, response.status_code)
            assert urlsplit(response.headers["Location"]).path == "/login", (method, url)


@pytest.mark.parametrize("role", ROLES)
def test_roles_without_the_right_get_403(starter_app, route_table, role):
    client = client_for(starter_app, role)
    token = client.csrf_token("/")
    for endpoint, method, url in route_table:
        if role in allowed(endpoint) or endpoint == "account.logout":
            continue
        response = client.open(url, method=method, json={}, headers={"X-CSRFToken": token})
        assert response.status_code == 403, (role, method, url, response.status_code)
        if endpoint.startswith("api."):
            assert response.get_json()["error"] == "forbidden"


@pytest.mark.parametrize("role", ROLES)
def test_roles_with_the_right_get_through(starter_app, route_table, role):
    client = client_for(starter_app, role)
    for endpoint, method, url in route_table:
        if method != "GET" or role not in allowed(endpoint):
            continue
        response = client.get(url)
        assert response.status_code not in (401, 403), (role, url, response.status_code)
