"""Knowledge that expires: owners, review-by dates, verifying, and what agents see when a review is overdue."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from conftest import client_for, indexed, token_client
from sqlalchemy import update

from kb.db import get_session
from kb.models import Article

SLUG = "printer-shows-offline"


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def days_from_now(stamp: str) -> float:
    return (parse(stamp) - datetime.now(timezone.utc)).total_seconds() / 86400


def make_overdue(app, slug: str = SLUG) -> None:
    with app.app_context():
        session = get_session()
        session.execute(
            update(Article).where(Article.slug == slug).values(review_by=datetime.now(timezone.utc) - timedelta(days=3))
        )
        session.commit()


def test_a_published_article_has_an_owner_and_a_review_date(starter_app):
    writer, reviewer = token_client(starter_app, "writer", "author"), token_client(starter_app, "reviewer", "author")
    created = writer.post("/api/v1/articles", json={"title": "Dock flickers", "status": "review"}).get_json()["article"]
    assert created["owner"] == "writer" and created["review_by"] is None and created["review_overdue"] is False
    published = reviewer.post(
        "/api/v1/articles/dock-flickers/transition", json={"to": "published", "version": 1}
    ).get_json()["article"]
    assert 179.9 < days_from_now(published["review_by"]) <= 180
    assert published["owner"] == "writer"


def test_verifying_records_who_and_when_and_moves_the_review_date(starter_app):
    author = token_client(starter_app, "checker", "author")
    before = author.get(f"/api/v1/articles/{SLUG}").get_json()
    assert author.post(f"/api/v1/articles/{SLUG}/verify", json={}).status_code == 428
    stale = author.post(f"/api/v1/articles/{SLUG}/verify", json={"version": before["version"] + 1})
    assert stale.status_code == 409
    done = author.post(f"/api/v1/articles/{SLUG}/verify", json={"version": before["version"]})
    assert done.status_code == 200
    article = done.get_json()["article"]
    assert article["verified_by"] == "checker" and article["version"] == before["version"]  # not a revision
    assert 179.9 < days_from_now(article["review_by"]) <= 180
    indexed(starter_app)
    agent = token_client(starter_app, "sam", "agent")
    hit = agent.get("/api/v1/search", query_string={"q": "printer offline"}).get_json()["results"][0]
    assert hit["slug"] == SLUG and hit["verified_by"] == "checker" and hit["review_overdue"] is False
    assert agent.post(f"/api/v1/articles/{SLUG}/verify", json={"version": 1}).status_code == 403


def test_agents_see_an_overdue_review_on_the_article_and_in_results(starter_app):
    make_overdue(starter_app)
    agent = client_for(starter_app, "agent")
    page = agent.get(f"/articles/{SLUG}").get_data(as_text=True)
    assert "Review overdue" in page and "I checked it" not in page
    results = agent.get("/", query_string={"q": "printer offline"}).get_data(as_text=True)
    assert "review overdue" in results
    api = token_client(starter_app, "sam", "agent")
    assert api.get(f"/api/v1/articles/{SLUG}").get_json()["review_overdue"] is True
    hits = api.get("/api/v1/search", query_string={"q": "printer offline"}).get_json()["results"]
    assert [h["review_overdue"] for h in hits if h["slug"] == SLUG] == [True]


def test_due_for_review_lists_what_is_overdue_and_verifying_from_the_page_clears_it(starter_app):
    make_overdue(starter_app)
    admin = client_for(starter_app, "admin")
    assert SLUG in admin.get("/author/due").get_data(as_text=True)
    author = client_for(starter_app, "author")
    assert SLUG not in author.get("/author/due").get_data(as_text=True)  # not the author's own
    version = token_client(starter_app, "x", "author").get(f"/api/v1/articles/{SLUG}").get_json()["version"]
    done = admin.submit(f"/author/articles/{SLUG}/verify", {"version": str(version)}, token_page=f"/articles/{SLUG}")
    assert done.status_code == 303
    assert SLUG not in admin.get("/author/due").get_data(as_text=True)
    assert "Review overdue" not in admin.get(f"/articles/{SLUG}").get_data(as_text=True)


def test_review_periods_per_product_and_owners_are_set_by_the_people_in_charge(starter_app):
    admin = token_client(starter_app, "boss", "admin")
    token_client(starter_app, "keeper", "author")
    assert (
        admin.put("/api/v1/settings/review_days_by_product", json={"value": {"Printers": 30}, "version": 0}).status_code
        == 200
    )
    assert admin.put("/api/v1/settings/review_days", json={"value": 0, "version": 0}).status_code == 400
    assert (
        admin.put("/api/v1/settings/review_days_by_product", json={"value": {"X": "soon"}, "version": 1}).status_code
        == 400
    )
    article = admin.get(f"/api/v1/articles/{SLUG}").get_json()
    verified = admin.post(f"/api/v1/articles/{SLUG}/verify", json={"version": article["version"]}).get_json()["article"]
    assert 29.9 < days_from_now(verified["review_by"]) <= 30

    given = admin.put(f"/api/v1/articles/{SLUG}", json={"owner": "keeper", "version": article["version"]})
    assert given.status_code == 200 and given.get_json()["article"]["owner"] == "keeper"
    assert given.get_json()["changed"] is True and given.get_json()["article"]["version"] == article["version"]
    nobody = admin.put(f"/api/v1/articles/{SLUG}", json={"owner": "ghost", "version": article["version"]})
    assert nobody.status_code == 400 and nobody.get_json()["field"] == "owner"
    token_client(starter_app, "sam", "agent")
    agent_owner = admin.put(f"/api/v1/articles/{SLUG}", json={"owner": "sam", "version": article["version"]})
    assert agent_owner.status_code == 400


def test_giving_an_article_away_in_the_same_save_as_an_edit_keeps_both(starter_app):
    admin = token_client(starter_app, "boss", "admin")
    token_client(starter_app, "keeper", "author")
    article = admin.get(f"/api/v1/articles/{SLUG}").get_json()
    saved = admin.put(
        f"/api/v1/articles/{SLUG}",
        json={"owner": "keeper", "summary": "Windows cannot reach it.", "version": article["version"]},
    )
    assert saved.status_code == 200
    body = saved.get_json()["article"]
    assert body["owner"] == "keeper" and body["summary"] == "Windows cannot reach it."
    assert body["version"] == article["version"] + 1


def test_the_editor_gives_an_article_to_another_owner(starter_app):
    token_client(starter_app, "keeper", "author")
    author = client_for(starter_app, "author")
    form = author.get(f"/author/articles/{SLUG}/edit").get_data(as_text=True)
    assert 'id="f-owner"' in form
    version = token_client(starter_app, "x", "author").get(f"/api/v1/articles/{SLUG}").get_json()["version"]
    fields = {"title": "Printer shows as offline", "slug": SLUG, "status": "published", "audience": "internal"}
    bad = author.submit(
        f"/author/articles/{SLUG}/edit",
        {**fields, "owner": "ghost", "version": str(version)},
        token_page="/author/articles",
    )
    assert bad.status_code == 400 and "is not an active author or admin" in bad.get_data(as_text=True)
    good = author.submit(
        f"/author/articles/{SLUG}/edit",
        {**fields, "owner": "keeper", "version": str(version)},
        token_page="/author/articles",
    )
    assert good.status_code == 302
    assert token_client(starter_app, "y", "author").get(f"/api/v1/articles/{SLUG}").get_json()["owner"] == "keeper"
