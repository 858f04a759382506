"""The review workflow: draft → review → published → archived (and back to draft), every move a
revision with who, when and why, and nobody publishing what they last changed themselves."""

from __future__ import annotations

import threading

from conftest import client_for, token_client


def new_article(client, title: str = "Docking station flickers", **fields) -> dict:
    response = client.post(
        "/api/v1/articles", json={"title": title, "body": "## What is going on\n\nIt flickers.\n", **fields}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["article"]


def move(client, slug: str, to: str, version: int, comment: str = ""):
    return client.post(f"/api/v1/articles/{slug}/transition", json={"to": to, "comment": comment, "version": version})


def test_an_article_goes_through_review_to_agents_and_every_move_is_in_its_history(starter_app):
    writer, reviewer = token_client(starter_app, "writer", "author"), token_client(starter_app, "reviewer", "author")
    agent = token_client(starter_app, "sam", "agent")
    article = new_article(writer)
    assert article["status"] == "draft"
    sent = move(writer, article["slug"], "review", article["version"], "Ready, please check the cause")
    assert sent.status_code == 200 and sent.get_json()["article"]["status"] == "review"
    assert agent.get(f"/api/v1/articles/{article['slug']}").status_code == 404

    published = move(reviewer, article["slug"], "published", 2, "Checked against the vendor note")
    assert published.status_code == 200
    assert agent.get(f"/api/v1/articles/{article['slug']}").status_code == 200

    history = writer.get(f"/api/v1/articles/{article['slug']}/revisions").get_json()["revisions"]
    assert [(r["number"], r["status"], r["created_by"]) for r in history] == [
        (3, "published", "reviewer"),
        (2, "review", "writer"),
        (1, "draft", "writer"),
    ]
    assert history[0]["message"] == "review → published: Checked against the vendor note"
    page = client_for(starter_app, "author").get(f"/author/articles/{article['slug']}/revisions").get_data(as_text=True)
    assert "review → published" in page


def test_nobody_publishes_what_they_last_changed_unless_admin_or_the_rule_is_off(starter_app):
    writer, reviewer = token_client(starter_app, "writer", "author"), token_client(starter_app, "reviewer", "author")
    admin = token_client(starter_app, "boss", "admin")
    article = new_article(writer, status="review")
    refused = move(writer, article["slug"], "published", 1)
    assert refused.status_code == 403
    assert "another author (or an admin)" in refused.get_json()["message"]

    # The reviewer edits while reviewing: now the reviewer is the last editor, and the writer may publish.
    edited = reviewer.put(f"/api/v1/articles/{article['slug']}", json={"summary": "The dock's firmware.", "version": 1})
    assert edited.status_code == 200
    assert move(reviewer, article["slug"], "published", 2).status_code == 403
    assert move(writer, article["slug"], "published", 2).status_code == 200

    # A save that changes the text and publishes at once is self-approval too.
    other = new_article(writer, title="Second article", status="review")
    sneaky = writer.put(
        f"/api/v1/articles/{other['slug']}", json={"body": "Changed.\n", "status": "published", "version": 1}
    )
    assert sneaky.status_code == 403
    assert writer.get(f"/api/v1/articles/{other['slug']}").get_json()["version"] == 1

    assert move(admin, other["slug"], "published", 1).status_code == 200  # admins may

    third = new_article(writer, title="Third article", status="review")
    rule = admin.get("/api/v1/settings").get_json()["settings"]["review_required"]
    assert rule == {"value": True, "version": 0, "updated_by": None}
    turned_off = admin.put("/api/v1/settings/review_required", json={"value": False, "version": 0})
    assert turned_off.status_code == 200 and turned_off.get_json()["value"] is False
    assert (
        token_client(starter_app, "w3", "author")
        .put("/api/v1/settings/review_required", json={"value": True, "version": 1})
        .status_code
        == 403
    )
    assert admin.put("/api/v1/settings/review_required", json={"value": "no", "version": 1}).status_code == 400
    assert admin.put("/api/v1/settings/nonsense", json={"value": 1, "version": 0}).status_code == 404
    assert move(writer, third["slug"], "published", 1).status_code == 200


def test_moves_the_workflow_does_not_have_are_refused_with_where_it_can_go(starter_app):
    writer = token_client(starter_app, "writer", "author")
    article = new_article(writer)
    jump = move(writer, article["slug"], "published", 1)
    assert jump.status_code == 400 and "review" in jump.get_json()["message"]
    assert move(writer, article["slug"], "archived", 1).status_code == 400
    assert move(writer, article["slug"], "gone", 1).get_json()["field"] == "to"
    assert writer.post(f"/api/v1/articles/{article['slug']}/transition", json={"to": "review"}).status_code == 428
    created = writer.post("/api/v1/articles", json={"title": "Straight to agents", "status": "published"})
    assert created.status_code == 403
    assert (
        token_client(starter_app, "sam", "agent")
        .post(f"/api/v1/articles/{article['slug']}/transition", json={"to": "review", "version": 1})
        .status_code
        == 403
    )


def test_a_stale_move_is_refused_so_nobody_approves_text_they_have_not_read(starter_app):
    writer, reviewer = token_client(starter_app, "writer", "author"), token_client(starter_app, "reviewer", "author")
    article = new_article(writer, status="review")
    assert (
        writer.put(f"/api/v1/articles/{article['slug']}", json={"body": "Late change.\n", "version": 1}).status_code
        == 200
    )
    stale = move(reviewer, article["slug"], "published", 1)
    assert stale.status_code == 409 and "Late change" in "".join(c["text"] for c in stale.get_json()["changes"])


def test_archived_articles_leave_search_and_come_back_as_drafts(starter_app):
    admin = token_client(starter_app, "boss", "admin")
    slug = "printer-shows-offline"
    version = admin.get(f"/api/v1/articles/{slug}").get_json()["version"]
    assert move(admin, slug, "archived", version, "Printers replaced").status_code == 200
    listed = admin.get("/api/v1/articles", query_string={"status": "archived"}).get_json()["articles"]
    assert [a["slug"] for a in listed] == [slug]
    assert move(admin, slug, "draft", version + 1).status_code == 200


def test_two_reviewers_publishing_at_once_make_one_revision(starter_app):
    writer = token_client(starter_app, "writer", "author")
    first, second = token_client(starter_app, "r1", "author"), token_client(starter_app, "r2", "author")
    article = new_article(writer, status="review")
    start, answers = threading.Barrier(2), []

    def publish(client):
        start.wait()
        answers.append(move(client, article["slug"], "published", 1).status_code)

    threads = [threading.Thread(target=publish, args=(c,)) for c in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200, 409]
    assert len(writer.get(f"/api/v1/articles/{article['slug']}/revisions").get_json()["revisions"]) == 2


def test_the_pages_show_the_moves_and_the_review_queue(starter_app):
    writer_api = token_client(starter_app, "writer", "author")
    article = new_article(writer_api, status="review")
    reviewer = client_for(starter_app, "author")
    queue = reviewer.get("/author/articles", query_string={"status": "review"}).get_data(as_text=True)
    assert article["title"] in queue
    assert "Waiting for review (1)" in reviewer.get("/author/articles").get_data(as_text=True)
    page = reviewer.get(f"/articles/{article['slug']}").get_data(as_text=True)
    assert 'value="published"' in page and "Publish" in page
    done = reviewer.submit(
        f"/author/articles/{article['slug']}/transition",
        {"to": "published", "version": "1", "comment": "Looks right"},
        token_page=f"/articles/{article['slug']}",
    )
    assert done.status_code == 303
    assert writer_api.get(f"/api/v1/articles/{article['slug']}").get_json()["status"] == "published"
    mine = client_for(starter_app, None)
    assert mine.get(f"/author/articles/{article['slug']}/transition").status_code in (302, 401, 405)


def test_the_editor_offers_only_the_moves_the_author_may_make_and_refuses_the_rest(starter_app):
    author = client_for(starter_app, "author")
    new_form = author.get("/author/articles/new").get_data(as_text=True)
    assert '<option value="draft"' in new_form and '<option value="review"' in new_form
    assert '<option value="published"' not in new_form
    refused = author.submit(
        "/author/articles/new",
        {"title": "Straight to agents", "body": "Text.\n", "status": "published", "audience": "internal"},
        token_page="/author/articles/new",
    )
    assert refused.status_code == 403
    page = refused.get_data(as_text=True)
    assert "send it for review" in page and 'value="Straight to agents"' in page  # the text is kept
    admin_form = client_for(starter_app, "admin").get("/author/articles/new").get_data(as_text=True)
    assert '<option value="published"' in admin_form


def test_admins_turn_the_review_rule_off_on_the_settings_page(starter_app):
    admin = client_for(starter_app, "admin")
    page = admin.get("/admin/settings").get_data(as_text=True)
    assert 'name="review_required" value="1" checked' in page and 'name="version" value="0"' in page
    off = admin.submit("/admin/settings", {"review_required": "0", "version": "0"}, token_page="/admin/settings")
    assert off.status_code == 302
    stale = admin.submit(
        "/admin/settings", {"review_required": ["0", "1"], "version": "0"}, token_page="/admin/settings"
    )
    assert stale.status_code == 409
    bad = admin.submit("/admin/settings", {"review_required": "maybe", "version": "1"}, token_page="/admin/settings")
    assert bad.status_code == 400
    api = token_client(starter_app, "boss", "admin")
    assert api.get("/api/v1/settings").get_json()["settings"]["review_required"]["value"] is False
    assert client_for(starter_app, "author").get("/admin/settings").status_code == 403
