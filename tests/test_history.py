"""Revisions, diff and restore: every revision can be compared with any other and brought back,
through the API and the pages, and nothing an edit or a restore does destroys a revision."""

from __future__ import annotations

import threading
import urllib.parse

from conftest import client_for, token_client

SLUG = "printer-shows-offline"


def article(client, slug: str = SLUG) -> dict:
    response = client.get(f"/api/v1/articles/{slug}")
    assert response.status_code == 200
    return response.get_json()


def save(client, version: int, slug: str = SLUG, **fields) -> dict:
    response = client.put(f"/api/v1/articles/{slug}", json={**fields, "version": version})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["article"]


def edited_three_times(client) -> tuple[str, str]:
    """Revision 2 rewrites a sentence and retags; revision 3 changes the title only."""
    original = article(client)
    rewritten = original["markdown"].replace("offline", "unreachable", 1) + "\nA new closing line.\n"
    save(client, 1, body=rewritten, tags=["printer", "network"], message="Clearer wording")
    save(client, 2, title="Printer shows Offline on every laptop")
    return original["markdown"], rewritten


def test_the_diff_api_gives_the_body_word_by_word_and_the_fields_that_changed(starter_app):
    client = token_client(starter_app, "writer", "author")
    title = article(client)["title"]
    original, rewritten = edited_three_times(client)

    body = client.get(f"/api/v1/articles/{SLUG}/diff", query_string={"from": 1, "to": 2}).get_json()
    assert (body["from"], body["to"]) == (1, 2)
    ops = {change["op"] for change in body["changes"]}
    assert ops == {"equal", "insert", "delete"}
    assert "".join(c["text"] for c in body["changes"] if c["op"] != "insert") == original
    assert "".join(c["text"] for c in body["changes"] if c["op"] != "delete") == rewritten
    assert any("unreachable" in c["text"] for c in body["changes"] if c["op"] == "insert")
    assert set(body["fields"]) == {"tags"}
    assert body["fields"]["tags"]["to"] == ["printer", "network"]

    latest = client.get(f"/api/v1/articles/{SLUG}/diff").get_json()  # the current one and the one before
    assert (latest["from"], latest["to"]) == (2, 3)
    assert all(change["op"] == "equal" for change in latest["changes"])
    assert latest["fields"] == {"title": {"from": title, "to": "Printer shows Offline on every laptop"}}


def test_the_diff_api_refuses_bad_numbers_and_unknown_revisions(starter_app):
    client = token_client(starter_app, "writer", "author")
    for bad in ("two", "-1", "0", "1.5", "99999999999999999999"):
        response = client.get(f"/api/v1/articles/{SLUG}/diff", query_string={"from": bad})
        assert response.status_code == 400 and response.get_json()["field"] == "from", bad
    assert client.get(f"/api/v1/articles/{SLUG}/diff", query_string={"to": 7}).status_code == 404
    assert client.get("/api/v1/articles/no-such-article/diff").status_code == 404


def test_restore_makes_a_new_revision_equal_to_the_old_one_and_keeps_every_revision(starter_app):
    client = token_client(starter_app, "writer", "author")
    original, _ = edited_three_times(client)
    before = article(client)

    response = client.post(f"/api/v1/articles/{SLUG}/revisions/1/restore", json={"version": 3, "message": "Too early"})
    assert response.status_code == 200
    restored = response.get_json()
    assert restored["changed"] is True
    assert restored["article"]["version"] == 4
    assert restored["article"]["markdown"] == original
    assert restored["article"]["tags"] != ["printer", "network"]
    assert restored["article"]["slug"] == SLUG and restored["article"]["status"] == before["status"]

    history = client.get(f"/api/v1/articles/{SLUG}/revisions").get_json()["revisions"]
    assert [r["number"] for r in history] == [4, 3, 2, 1]
    assert history[0]["message"] == "Restored revision 1: Too early"
    assert client.get(f"/api/v1/articles/{SLUG}/revisions/2").get_json()["markdown"] != original  # still there
    same = client.get(f"/api/v1/articles/{SLUG}/diff", query_string={"from": 1, "to": 4}).get_json()
    assert same["fields"] == {} and all(change["op"] == "equal" for change in same["changes"])

    again = client.post(f"/api/v1/articles/{SLUG}/revisions/4/restore", json={"version": 4})
    assert again.status_code == 200 and again.get_json()["changed"] is False


def test_restore_keeps_the_slug_and_status_of_now(starter_app):
    client = token_client(starter_app, "writer", "author")
    renamed = client.put(f"/api/v1/articles/{SLUG}", json={"slug": "printer-offline", "status": "draft", "version": 1})
    assert renamed.status_code == 200
    response = client.post("/api/v1/articles/printer-offline/revisions/1/restore", json={"version": 2})
    assert response.status_code == 200
    restored = response.get_json()["article"]
    assert restored["slug"] == "printer-offline" and restored["status"] == "draft"
    assert restored["version"] == 2 and response.get_json()["changed"] is False  # only slug/status differed


def test_a_stale_restore_is_refused_with_what_changed_and_a_missing_version_with_428(starter_app):
    client = token_client(starter_app, "writer", "author")
    edited_three_times(client)
    stale = client.post(f"/api/v1/articles/{SLUG}/revisions/1/restore", json={"version": 2})
    assert stale.status_code == 409
    assert stale.get_json()["current_version"] == 3 and stale.get_json()["changes"]
    assert client.post(f"/api/v1/articles/{SLUG}/revisions/1/restore", json={}).status_code == 428
    assert client.post(f"/api/v1/articles/{SLUG}/revisions/9/restore", json={"version": 3}).status_code == 404
    assert article(client)["version"] == 3


def test_two_restores_at_once_make_one_revision_and_one_409(starter_app):
    first, second = token_client(starter_app, "alice", "author"), token_client(starter_app, "bob", "author")
    edited_three_times(first)
    start, answers = threading.Barrier(2), []

    def restore(client, number):
        start.wait()
        answers.append(client.post(f"/api/v1/articles/{SLUG}/revisions/{number}/restore", json={"version": 3}))

    threads = [threading.Thread(target=restore, args=(c, n)) for c, n in ((first, 1), (second, 2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [200, 409]
    assert [r["number"] for r in first.get(f"/api/v1/articles/{SLUG}/revisions").get_json()["revisions"]] == [
        4,
        3,
        2,
        1,
    ]


def test_agents_cannot_diff_or_restore(starter_app):
    agent = token_client(starter_app, "sam", "agent")
    assert agent.get(f"/api/v1/articles/{SLUG}/diff").status_code == 403
    assert agent.post(f"/api/v1/articles/{SLUG}/revisions/1/restore", json={"version": 1}).status_code == 403
    page = client_for(starter_app, "agent")
    assert page.get(f"/author/articles/{SLUG}/diff").status_code == 403


def test_the_history_pages_compare_and_restore(starter_app):
    api = token_client(starter_app, "writer", "author")
    edited_three_times(api)
    author = client_for(starter_app, "author")

    history = author.get(f"/author/articles/{SLUG}/revisions").get_data(as_text=True)
    assert f'href="/author/articles/{SLUG}/diff?from=1&amp;to=2"' in history
    assert 'name="from" value="2"' in history and 'name="to" value="3"' in history

    page = author.get(f"/author/articles/{SLUG}/diff", query_string={"from": 1, "to": 2}).get_data(as_text=True)
    assert "<ins>unreachable " in page and "<del>offline " in page
    assert '<th scope="row">tags</th>' in page and "printer, network" in page
    assert author.get(f"/author/articles/{SLUG}/diff", query_string={"from": 1, "to": 9}).status_code == 404

    revision = author.get(f"/author/articles/{SLUG}/revisions/1").get_data(as_text=True)
    assert "Restore this revision" in revision
    restored = author.submit(
        f"/author/articles/{SLUG}/revisions/1/restore",
        {"version": "3"},
        token_page=f"/author/articles/{SLUG}/revisions/1",
    )
    assert restored.status_code == 303
    assert article(api)["version"] == 4
    stale = author.submit(
        f"/author/articles/{SLUG}/revisions/2/restore",
        {"version": "3"},
        token_page=f"/author/articles/{SLUG}/revisions/1",
    )
    target = urllib.parse.urlsplit(stale.headers["Location"])
    assert stale.status_code == 303 and target.path.endswith("/diff")
    assert urllib.parse.parse_qs(target.query) == {"from": ["2"], "to": ["4"]}
    assert article(api)["version"] == 4
    assert "Not restored" in author.get(stale.headers["Location"]).get_data(as_text=True)


def test_restore_needs_the_csrf_token_on_the_page(starter_app):
    author = client_for(starter_app, "author")
    response = author.post(f"/author/articles/{SLUG}/revisions/1/restore", data={"version": "1"})
    assert response.status_code == 400
