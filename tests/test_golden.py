"""Golden queries and the synonym vocabulary: relevance that cannot silently regress."""

from __future__ import annotations

import re

from conftest import PROJECT_ROOT, indexed, make_app, starter_list
from sqlalchemy import select

from kb import golden, store
from kb import search as kb_search
from kb.db import get_session
from kb.models import GoldenQuery


def post(client, url: str, payload: dict):
    return client.post(url, json=payload, headers={"X-CSRFToken": client.csrf_token("/")})


def test_starter_golden_queries_all_pass(starter_app):
    result = starter_app.test_cli_runner().invoke(args=["golden", "check"])
    assert result.exit_code == 0, result.output
    passed, total = map(int, re.search(r"(\d+) of (\d+) golden queries pass", result.output).groups())
    assert passed == total == len(starter_list("golden-queries.yaml"))


def test_golden_check_fails_and_says_where_a_query_landed(starter_app):
    runner = starter_app.test_cli_runner()
    assert runner.invoke(args=["golden", "add", "printer offline", "vpn-will-not-connect"]).exit_code == 0
    result = runner.invoke(args=["golden", "check"])
    assert result.exit_code != 0
    assert "FAIL  'printer offline' → vpn-will-not-connect: not in the top 10" in result.output
    assert "1 golden query not in the top 3" in result.output
    listing = runner.invoke(args=["golden", "list"]).output
    assert "'printer offline' → vpn-will-not-connect (rank >10)" in listing


def test_golden_add_rejects_unknown_articles_and_duplicates(starter_app):
    runner = starter_app.test_cli_runner()
    assert "there is no article 'nope'" in runner.invoke(args=["golden", "add", "x", "nope"]).output
    runner.invoke(args=["golden", "add", "bluetooth pairing", "bluetooth-headset-not-connecting"])
    result = runner.invoke(args=["golden", "add", "bluetooth pairing", "bluetooth-headset-not-connecting"])
    assert result.exit_code != 0 and "already a golden query" in result.output


def test_saving_an_article_that_pushes_a_golden_query_out_warns_the_author(admin):
    assert (
        post(admin, "/api/v1/golden", {"query": "printer offline", "article": "print-jobs-stuck-in-queue"}).status_code
        == 201
    )
    slugs = []
    for n in range(3):
        response = post(
            admin,
            "/api/v1/articles",
            {"title": f"Printer offline printer offline {n}", "body": "printer offline\n", "status": "published"},
        )
        assert response.status_code == 201
        slugs.append(response.get_json()["article"]["slug"])
    indexed(admin.application)  # the check runs after the save's response, once the index holds it
    warnings = [w for slug in slugs for w in admin.get(f"/api/v1/articles/{slug}").get_json()["golden_warnings"]]
    assert any("'printer offline' → print-jobs-stuck-in-queue" in w for w in warnings), warnings
    report = admin.get("/api/v1/golden").get_json()
    assert report["passed"] < report["total"]
    page = admin.get("/author/golden").get_data(as_text=True)
    assert "fail" in page and "printer offline" in page


def bystander_and_pushers(admin) -> tuple[str, list[str]]:
    """A golden query for "printer offline", then an article sharing a word with it (the
    bystander) and three that push its article out of the top 3; all indexed and checked."""
    added = post(admin, "/api/v1/golden", {"query": "printer offline", "article": "print-jobs-stuck-in-queue"})
    assert added.status_code == 201
    bystander = post(
        admin,
        "/api/v1/articles",
        {"title": "Office move checklist", "body": "Label each printer before the move.\n", "status": "published"},
    ).get_json()["article"]["slug"]
    pushers = [
        post(
            admin,
            "/api/v1/articles",
            {"title": f"Printer offline printer offline {n}", "body": "printer offline\n", "status": "published"},
        ).get_json()["article"]["slug"]
        for n in range(3)
    ]
    indexed(admin.application)
    return bystander, pushers


def test_a_golden_warning_blames_the_article_that_took_the_place_not_a_bystander(admin):
    """Saves that arrive together are checked in one pass; each regression names one of them."""
    bystander, pushers = bystander_and_pushers(admin)
    assert admin.get(f"/api/v1/articles/{bystander}").get_json()["golden_warnings"] == []
    warnings = [w for slug in pushers for w in admin.get(f"/api/v1/articles/{slug}").get_json()["golden_warnings"]]
    assert sum("'printer offline' → print-jobs-stuck-in-queue" in w for w in warnings) == 1, warnings

    # The same saves checked as one batch, the bystander first: the blame still goes to the
    # article that took the place (the one ranked highest now), whatever the batch's order.
    app = admin.application
    with app.app_context():
        session = get_session()
        query = session.scalar(select(GoldenQuery).where(GoldenQuery.query == "printer offline"))
        query.last_rank, query.broken_by_id = 1, None  # as checked before these saves
        session.commit()
        ids = [store.find_by_slug(session, slug).id for slug in [bystander, *reversed(pushers)]]
        changes = [golden.ChangedArticle.since_previous(session, article_id) for article_id in ids]
        top = kb_search.service().ranked_slugs("printer offline", limit=3)[0]
        regressed = golden.regressions(session, kb_search.service(), changes)
        session.commit()
        assert [r.golden.query for r in regressed] == ["printer offline"]
        assert query.broken_by_id == store.find_by_slug(session, top).id and top in pushers


def test_a_check_that_sees_later_saves_leaves_the_blame_to_their_own_check(admin):
    """The index the checker searches may already hold saves made after the ones it checks (they
    were indexed while it waited). A query those later saves pushed out must not be blamed on the
    earlier save that merely shares its words; the later saves' own check blames them."""
    bystander, pushers = bystander_and_pushers(admin)
    with admin.application.app_context():
        session = get_session()
        query = session.scalar(select(GoldenQuery).where(GoldenQuery.query == "printer offline"))
        query.last_rank, query.broken_by_id = 1, None  # as checked before these saves
        session.commit()
        service = kb_search.service()
        assert bystander in service.ranked_slugs("printer offline", limit=golden.DEPTH)  # it shares the words

        # The bystander's own check, run late: the index already holds the pushers.
        changed = [golden.ChangedArticle.since_previous(session, store.find_by_slug(session, bystander).id)]
        assert golden.regressions(session, service, changed) == []
        session.commit()
        assert (query.last_rank, query.broken_by_id) == (1, None)  # left for the pushers' check

        ids = [store.find_by_slug(session, slug).id for slug in pushers]
        changed = [golden.ChangedArticle.since_previous(session, article_id) for article_id in ids]
        assert [r.golden.query for r in golden.regressions(session, service, changed)] == ["printer offline"]
        session.commit()
        top = service.ranked_slugs("printer offline", limit=3)[0]
        assert query.broken_by_id == store.find_by_slug(session, top).id and top in pushers


def test_the_author_sees_the_golden_warning_on_the_article_page(admin):
    post(admin, "/api/v1/golden", {"query": "printer offline", "article": "print-jobs-stuck-in-queue"})
    locations = []
    for n in range(3):
        response = admin.submit(
            "/author/articles/new",
            {
                "title": f"Printer offline printer offline {n}",
                "body": "printer offline\n",
                "status": "published",
                "audience": "internal",
            },
            token_page="/author/articles/new",
        )
        assert response.status_code == 302
        locations.append(response.headers["Location"])
    indexed(admin.application)
    pages = "".join(admin.get(location).get_data(as_text=True) for location in locations)
    assert "pushed a golden query out of the top 3: &#39;printer offline&#39; → print-jobs-stuck-in-queue" in pages


def test_a_synonym_change_that_breaks_a_golden_query_warns(author):
    assert post(author, "/api/v1/golden", {"query": "grommet", "article": "printer-shows-offline"}).status_code == 201
    post(author, "/api/v1/synonyms", {"terms": ["grommet", "printer offline"]})  # now it finds the article
    report = author.get("/api/v1/golden").get_json()
    assert [r["passed"] for r in report["results"] if r["query"] == "grommet"] == [True]
    group = [g for g in author.get("/api/v1/synonyms").get_json()["groups"] if "grommet" in g["terms"]][0]
    response = author.delete(f"/api/v1/synonyms/{group['id']}", headers={"X-CSRFToken": author.csrf_token("/")})
    assert response.status_code == 200
    assert any("'grommet' → printer-shows-offline" in w for w in response.get_json()["warnings"])


def test_synonym_groups_are_validated(author):
    for terms, message in ((["alone"], "at least two"), ("wifi", "Send"), ([1, 2], "must be text")):
        response = post(author, "/api/v1/synonyms", {"terms": terms})
        assert response.status_code == 400 and message in response.get_json()["message"], terms


def test_synonyms_can_be_edited_and_deleted_in_the_ui(author):
    response = author.submit(
        "/author/synonyms", {"terms": "gadget, doohickey"}, token_page="/author/synonyms", follow_redirects=True
    )
    assert "gadget, doohickey" in response.get_data(as_text=True)
    group = [g for g in author.get("/api/v1/synonyms").get_json()["groups"] if "gadget" in g["terms"]][0]
    author.submit(
        f"/author/synonyms/{group['id']}", {"terms": "gadget, widget", "action": "save"}, token_page="/author/synonyms"
    )
    assert [g["terms"] for g in author.get("/api/v1/synonyms").get_json()["groups"] if g["id"] == group["id"]] == [
        ["gadget", "widget"]
    ]
    author.submit(f"/author/synonyms/{group['id']}", {"action": "delete"}, token_page="/author/synonyms")
    assert all(g["id"] != group["id"] for g in author.get("/api/v1/synonyms").get_json()["groups"])
    bad = author.submit("/author/synonyms", {"terms": "lonely"}, token_page="/author/synonyms", follow_redirects=True)
    assert "Not saved: a synonym group needs at least two different terms" in bad.get_data(as_text=True)


def test_vocabulary_and_golden_queries_travel_with_the_articles(starter_app, tmp_path):
    runner = starter_app.test_cli_runner()
    assert runner.invoke(args=["export", str(tmp_path / "out")]).exit_code == 0
    for name in ("synonyms.yaml", "golden-queries.yaml"):
        assert (tmp_path / "out" / name).read_bytes() == (PROJECT_ROOT / "articles" / name).read_bytes(), name
    fresh = make_app(tmp_path / "fresh")
    result = fresh.test_cli_runner().invoke(args=["import", str(tmp_path / "out")])
    assert f"{len(starter_list('synonyms.yaml'))} synonym groups added" in result.output
    assert f"{len(starter_list('golden-queries.yaml'))} golden queries added" in result.output
    again = fresh.test_cli_runner().invoke(args=["import", str(tmp_path / "out")])
    assert "0 synonym groups added" in again.output and "0 golden queries added" in again.output


def test_a_broken_synonyms_file_is_reported_without_a_traceback(app, runner, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.md").write_text("---\ntitle: A\n---\nBody\n", encoding="utf-8")
    (folder / "synonyms.yaml").write_text("- [wifi, wireless\n", encoding="utf-8")
    result = runner.invoke(args=["import", str(folder)])
    assert result.exit_code != 0 and "synonyms.yaml" in result.output and "not valid YAML" in result.output
    assert "Traceback" not in result.output and "1 created" in result.output
