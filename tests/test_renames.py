"""Renaming an article's slug keeps its old address working: pages and the API answer 301 to the
new one, and links written with the old slug still count as working links."""

from __future__ import annotations

from conftest import client_for, token_client

OLD, NEW = "printer-shows-offline", "printer-says-offline"


def rename(client, old: str = OLD, new: str = NEW) -> dict:
    current = client.get(f"/api/v1/articles/{old}").get_json()
    response = client.put(f"/api/v1/articles/{old}", json={"slug": new, "version": current["version"]})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["article"]


def test_the_old_address_redirects_in_pages_and_the_api(starter_app):
    author = token_client(starter_app, "writer", "author")
    rename(author)
    agent = client_for(starter_app, "agent")
    page = agent.get(f"/articles/{OLD}", query_string={"from": "abc"})
    assert page.status_code == 301 and page.headers["Location"].endswith(f"/articles/{NEW}?from=abc")
    api = token_client(starter_app, "sam", "agent").get(f"/api/v1/articles/{OLD}")
    assert api.status_code == 301 and api.headers["Location"] == f"/api/v1/articles/{NEW}"
    assert api.get_json() == {"moved_to": NEW, "url": f"/api/v1/articles/{NEW}"}
    assert agent.get(f"/articles/{OLD}", follow_redirects=True).status_code == 200


def test_links_with_the_old_slug_still_work_and_a_new_article_can_take_the_old_slug(starter_app):
    author = token_client(starter_app, "writer", "author")
    rename(author)
    linking = author.get("/api/v1/articles/print-jobs-stuck-in-queue").get_json()
    assert f'href="/articles/{OLD}"' in linking["html"]  # written before the rename, still followed
    broken = [b for b in author.get("/api/v1/links/broken").get_json()["broken"] if b["target"] == OLD]
    assert broken == []

    taken = author.post("/api/v1/articles", json={"title": "Printer shows offline (Macs)", "slug": OLD})
    assert taken.status_code == 201
    assert client_for(starter_app, "author").get(f"/articles/{OLD}").status_code == 200  # the new article, no redirect


def test_a_draft_renamed_is_not_revealed_to_agents_by_its_old_address(starter_app):
    admin = token_client(starter_app, "boss", "admin")
    created = admin.post("/api/v1/articles", json={"title": "Secret plans", "status": "draft"}).get_json()["article"]
    admin.put("/api/v1/articles/secret-plans", json={"slug": "secret-plans-2", "version": created["version"]})
    assert client_for(starter_app, "agent").get("/articles/secret-plans").status_code == 404
    assert token_client(starter_app, "sam", "agent").get("/api/v1/articles/secret-plans").status_code == 404
