"""Never lose an edit: stale saves are refused with what changed, taken slugs are refused, and
concurrent saves of one article answer 200 or 409, never 500."""

from __future__ import annotations

import re
import threading

from conftest import add_user, client_for, make_token

from kb.db import get_session
from kb.models import Article, Revision

SLUG = "printer-shows-offline"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def author_headers(app, name: str = "writer") -> dict:
    add_user(app, name, "author")
    return bearer(make_token(app, name))


def current(client, headers, slug: str = SLUG) -> dict:
    response = client.get(f"/api/v1/articles/{slug}", headers=headers)
    assert response.status_code == 200
    return response.get_json()


def revisions_of(app, slug: str = SLUG) -> list[Revision]:
    with app.app_context():
        session = get_session()
        article = session.query(Article).filter_by(slug=slug).one()
        return list(article.revisions)


def test_a_save_without_the_version_is_refused_with_428_naming_the_field(starter_app):
    headers = author_headers(starter_app)
    client = starter_app.test_client()
    response = client.put(f"/api/v1/articles/{SLUG}", json={"summary": "No version sent."}, headers=headers)
    assert response.status_code == 428
    body = response.get_json()
    assert body["error"] == "precondition_required" and body["field"] == "version"
    assert '"version"' in body["message"]
    for bad in ("two", -1, 0, 1.5, True, [1]):
        response = client.put(f"/api/v1/articles/{SLUG}", json={"summary": "x", "version": bad}, headers=headers)
        assert response.status_code == 400 and response.get_json()["field"] == "version", bad
    assert current(client, headers)["version"] == 1


def test_a_stale_save_gets_409_with_what_changed_and_loses_nothing(starter_app):
    alice, bob = author_headers(starter_app, "alice"), author_headers(starter_app, "bob")
    client = starter_app.test_client()
    loaded = current(client, alice)  # both open version 1
    first = client.put(
        f"/api/v1/articles/{SLUG}",
        json={"summary": "Bob's careful summary of the offline printer.", "version": loaded["version"]},
        headers=bob,
    )
    assert first.status_code == 200 and first.get_json()["article"]["version"] == 2
    stale = client.put(
        f"/api/v1/articles/{SLUG}",
        json={"title": "Alice's new title", "version": loaded["version"]},
        headers=alice,
    )
    assert stale.status_code == 409
    body = stale.get_json()
    assert body["error"] == "conflict" and body["current_version"] == 2 and body["changed_by"] == ["bob"]
    inserted = "".join(c["text"] for c in body["changes"] if c["op"] == "insert")
    assert "Bob's careful summary" in inserted
    assert {c["op"] for c in body["changes"]} <= {"equal", "insert", "delete"}
    assert "".join(c["text"] for c in body["changes"] if c["op"] != "delete").count("Bob's careful summary") == 1
    # Bob's edit is intact, and Alice's lands once she bases it on version 2.
    assert current(client, alice)["summary"] == "Bob's careful summary of the offline printer."
    merged = client.put(f"/api/v1/articles/{SLUG}", json={"title": "Alice's new title", "version": 2}, headers=alice)
    assert merged.status_code == 200
    after = current(client, alice)
    assert (after["title"], after["summary"], after["version"]) == (
        "Alice's new title",
        "Bob's careful summary of the offline printer.",
        3,
    )
    assert [r.number for r in revisions_of(starter_app)] == [1, 2, 3]


def test_creating_never_touches_an_existing_article(starter_app):
    headers = author_headers(starter_app)
    client = starter_app.test_client()
    before = current(client, headers)
    response = client.post(
        "/api/v1/articles", json={"title": "Mine", "slug": SLUG, "body": "x", "status": "draft"}, headers=headers
    )
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "slug_taken" and body["holder"]["slug"] == SLUG and body["field"] == "slug"
    # Same for a slug made from the title.
    response = client.post("/api/v1/articles", json={"title": "Printer shows offline"}, headers=headers)
    assert response.status_code == 409
    after = current(client, headers)
    assert (after["markdown"], after["status"], after["version"]) == (before["markdown"], "published", 1)


def test_renaming_onto_a_taken_slug_is_refused(starter_app):
    headers = author_headers(starter_app)
    client = starter_app.test_client()
    response = client.put(
        f"/api/v1/articles/{SLUG}", json={"slug": "vpn-will-not-connect", "version": 1}, headers=headers
    )
    assert response.status_code == 409 and response.get_json()["holder"]["slug"] == "vpn-will-not-connect"
    assert current(client, headers)["slug"] == SLUG


def test_new_article_form_with_a_taken_slug_keeps_the_text_and_links_the_holder(starter_app):
    author = client_for(starter_app, "author")
    response = author.submit(
        "/author/articles/new",
        {"title": "My take", "slug": SLUG, "body": "Everything I wrote.", "status": "draft", "audience": "internal"},
        token_page="/author/articles/new",
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Everything I wrote." in page and 'value="My take"' in page
    assert f'href="/articles/{SLUG}"' in page and "Printer shows as offline" in page
    article = author.get(f"/articles/{SLUG}").get_data(as_text=True)
    assert "Everything I wrote." not in article


def test_a_stale_save_in_the_editor_keeps_the_text_and_says_who_changed_what(starter_app):
    alice = client_for(starter_app, "author")
    add_user(starter_app, "bob", "author")
    bob = starter_app.test_client()
    bob.login("bob")
    form = alice.get(f"/author/articles/{SLUG}/edit").get_data(as_text=True)
    assert 'name="version" value="1"' in form
    bob_form = {"title": "Printer shows offline", "summary": "Bob was here first.", "version": "1"}
    bob_form.update(status="published", audience="internal", slug=SLUG)
    assert bob.submit(f"/author/articles/{SLUG}/edit", bob_form, token_page="/").status_code == 302
    mine = {**bob_form, "summary": "", "body": "Alice's whole rewrite.", "version": "1"}
    response = alice.submit(f"/author/articles/{SLUG}/edit", mine, token_page="/")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Alice&#39;s whole rewrite." in page  # her text, untouched
    assert "bob saved this article while you were editing it" in page
    assert re.search(r"<ins>Bob was here first.\s*</ins>", page)
    assert "…" in page, "long unchanged parts of the article are cut around the change"
    assert 'name="version" value="2"' in page
    assert [r.summary for r in revisions_of(starter_app)][-1] == "Bob was here first."


def test_concurrent_saves_of_one_article_answer_200_or_409_never_500(starter_app):
    headers = author_headers(starter_app)
    client_count = 12
    barrier = threading.Barrier(client_count)
    statuses: list[int] = []

    def save(n: int) -> None:
        client = starter_app.test_client()
        barrier.wait()
        response = client.put(
            f"/api/v1/articles/{SLUG}", json={"summary": f"Edit number {n}", "version": 1}, headers=headers
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=save, args=(n,)) for n in range(client_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [200] + [409] * (client_count - 1), statuses
    assert [r.number for r in revisions_of(starter_app)] == [1, 2]


def test_concurrent_creates_of_one_slug_make_one_article(starter_app):
    headers = author_headers(starter_app)
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def create() -> None:
        client = starter_app.test_client()
        barrier.wait()
        response = client.post("/api/v1/articles", json={"title": "Race to the slug"}, headers=headers)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [201] + [409] * 7, statuses
