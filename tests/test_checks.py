"""The content standard as guidance (checks, scores, the preview), links between articles (the
broken-links report, links that work from every page) and the new-article template."""

from __future__ import annotations

from conftest import client_for, make_app, token_client

SLUG = "printer-shows-offline"

GOOD = """\
## What the customer notices

- "It says offline"

## What is going on

Windows cannot reach the printer's port.

## How to confirm

Ping it.

## Resolution

Fix the port.

## Prevent it

Reserve the address.

## Related

- [[print-jobs-stuck-in-queue]]
"""


def preview(client, markdown: str, **extra):
    return client.post("/api/v1/preview", json={"markdown": markdown, **extra})


def codes(checks: dict) -> list[str]:
    return [finding["code"] for finding in checks["findings"]]


def test_the_preview_renders_and_sanitizes_as_the_article_page_does(starter_app):
    author = token_client(starter_app, "writer", "author")
    response = preview(
        author, '<script>alert(1)</script>**bold** <img src=x onerror="alert(2)"> [[printer-shows-offline]]\n'
    )
    assert response.status_code == 200
    html = response.get_json()["html"]
    assert "<script" not in html and "onerror" not in html and "<strong>bold</strong>" in html
    assert '<a href="/articles/printer-shows-offline"' in html and "Printer shows offline</a>" in html
    page = client_for(starter_app, "agent").get(f"/articles/{SLUG}").get_data(as_text=True)
    rendered = author.get(f"/api/v1/articles/{SLUG}").get_json()
    assert preview(author, rendered["markdown"]).get_json()["html"] == rendered["html"]
    assert rendered["html"] in page


def test_a_good_article_has_nothing_to_suggest_and_starter_articles_lack_only_an_owner(starter_app):
    author = token_client(starter_app, "writer", "author")
    checks = preview(author, GOOD).get_json()["checks"]
    assert checks == {"score": 100, "findings": []}
    listed = author.get("/api/v1/articles").get_json()["articles"]
    assert listed and {a["score"] for a in listed} == {95}  # imported: nobody owns them yet
    starter = author.get(f"/api/v1/articles/{SLUG}").get_json()["checks"]
    assert codes(starter) == ["no_owner"]
    created = author.post("/api/v1/articles", json={"title": "Owned", "body": GOOD}).get_json()["article"]
    assert created["owner"] == "writer"
    assert author.get("/api/v1/articles/owned").get_json()["checks"] == {"score": 100, "findings": []}
    assert "score" not in token_client(starter_app, "sam", "agent").get("/api/v1/articles").get_json()["articles"][0]


def test_the_checks_name_what_is_missing_scripted_out_of_order_or_too_long(starter_app):
    author = token_client(starter_app, "writer", "author")
    body = (
        "## What the customer notices\n\nThey cannot print.\n\n"
        '## Resolution\n\nSay: "I am sorry for the inconvenience, let me fix that for you."\n\n'
        "## How to confirm\n\n" + "word " * 200 + "\n"
    )
    checks = preview(author, body).get_json()["checks"]
    found = {f["code"]: f for f in checks["findings"]}
    assert set(found) >= {
        "missing_explanation",
        "missing_section",
        "no_customer_words",
        "script",
        "heading_order",
        "long_paragraph",
    }
    assert found["script"]["line"] == 7
    assert found["heading_order"]["line"] == 9 and "How to confirm" in found["heading_order"]["message"]
    assert found["long_paragraph"]["line"] == 11 and "200 words" in found["long_paragraph"]["message"]
    assert found["no_customer_words"]["line"] == 1
    assert checks["score"] < 50
    # Guidance, never a gate: the same body saves.
    created = author.post("/api/v1/articles", json={"title": "Badly written", "body": body})
    assert created.status_code == 201
    assert author.get("/api/v1/articles/badly-written").get_json()["checks"]["score"] == checks["score"]
    assert "checks" not in token_client(starter_app, "sam", "agent").get(f"/api/v1/articles/{SLUG}").get_json()


def test_the_preview_flags_a_body_kb_would_refuse_and_refuses_one_over_the_limit(starter_app):
    author = token_client(starter_app, "writer", "author")
    nested = preview(author, "[" * 30 + "x" + "]" * 30 + "\n").get_json()
    assert codes(nested["checks"])[0] == "cannot_save" and nested["checks"]["score"] == 0
    starter_app.config["MAX_ARTICLE_BYTES"] = 1000
    over = preview(author, "x" * 2000)
    assert over.status_code == 400 and over.get_json()["field"] == "markdown" and "1,000" in over.get_json()["message"]
    assert preview(author, "x", status="gone").get_json()["field"] == "status"
    assert author.post("/api/v1/preview", json={"markdown": 3}).get_json()["field"] == "markdown"


def test_the_preview_needs_an_author_and_the_csrf_token_with_a_cookie(starter_app):
    assert preview(token_client(starter_app, "sam", "agent"), "x").status_code == 403
    page = client_for(starter_app, "author")
    assert page.post("/api/v1/preview", json={"markdown": "x"}).status_code == 400
    token = page.csrf_token("/author/articles/new")
    assert page.post("/api/v1/preview", json={"markdown": "x"}, headers={"X-CSRFToken": token}).status_code == 200


def test_links_to_missing_archived_or_unpublished_articles_are_reported_and_weighed(starter_app):
    author = token_client(starter_app, "writer", "author")
    current = author.get(f"/api/v1/articles/{SLUG}").get_json()
    body = current["markdown"] + "\n- [[no-such-article]]\n- [Old](mailbox-full)\n- [[wifi-drafted]]\n"
    assert author.put(f"/api/v1/articles/{SLUG}", json={"body": body, "version": current["version"]}).status_code == 200
    author.post("/api/v1/articles", json={"title": "Wifi drafted", "status": "draft"})
    mailbox = author.get("/api/v1/articles/mailbox-full").get_json()
    author.put("/api/v1/articles/mailbox-full", json={"status": "archived", "version": mailbox["version"]})

    broken = author.get("/api/v1/links/broken").get_json()["broken"]
    mine = {b["target"]: b["why"] for b in broken if b["source"] == SLUG}
    assert mine == {
        "no-such-article": "which does not exist",
        "mailbox-full": "which is archived",
        "wifi-drafted": "which agents cannot read yet (draft)",
    }
    lines = body.splitlines()
    assert all(lines[b["line"] - 1].count(b["target"]) for b in broken if b["source"] == SLUG)
    checks = author.get(f"/api/v1/articles/{SLUG}").get_json()["checks"]
    assert codes(checks).count("broken_link") == 3 and checks["score"] == 65  # and no owner
    scores = {a["slug"]: a["score"] for a in author.get("/api/v1/articles").get_json()["articles"]}
    assert scores[SLUG] == 65
    page = client_for(starter_app, "author")
    report = page.get("/author/links").get_data(as_text=True)
    assert "no-such-article" in report and "which is archived" in report
    listing = page.get("/author/articles").get_data(as_text=True)
    assert '<td class="num">65</td>' in listing
    assert token_client(starter_app, "sam", "agent").get("/api/v1/links/broken").status_code == 403


def test_related_links_work_from_revision_pages_and_the_api(starter_app):
    author = client_for(starter_app, "author")
    page = author.get(f"/author/articles/{SLUG}/revisions/1").get_data(as_text=True)
    assert 'href="/articles/print-jobs-stuck-in-queue"' in page
    assert author.get("/articles/print-jobs-stuck-in-queue").status_code == 200


def test_a_new_article_starts_from_the_template_which_admins_change(starter_app):
    author = client_for(starter_app, "author")
    editor = author.get("/author/articles/new").get_data(as_text=True)
    for heading in ("What the customer notices", "What is going on", "How to confirm", "Resolution", "Prevent it"):
        assert f"## {heading}" in editor
    admin_api = token_client(starter_app, "root", "admin")
    template = admin_api.get("/api/v1/template").get_json()
    assert template["version"] == 0 and "## What is going on" in template["markdown"]

    new_text = "## What the customer notices\n\n## What is going on\n\n<!-- Why, in plain words. -->\n"
    saved = admin_api.put("/api/v1/template", json={"markdown": new_text, "version": 0})
    assert saved.status_code == 200 and saved.get_json()["version"] == 1
    stale = admin_api.put("/api/v1/template", json={"markdown": "## Mine\n", "version": 0})
    assert stale.status_code == 409 and stale.get_json()["current_version"] == 1
    assert admin_api.put("/api/v1/template", json={"markdown": "x"}).status_code == 428
    assert admin_api.put("/api/v1/template", json={"markdown": "[" * 30, "version": 1}).status_code == 400
    assert (
        token_client(starter_app, "w2", "author")
        .put("/api/v1/template", json={"markdown": "x", "version": 1})
        .status_code
        == 403
    )
    assert "&lt;!-- Why, in plain words. --&gt;" in author.get("/author/articles/new").get_data(as_text=True)

    admin = client_for(starter_app, "admin")
    form = admin.get("/admin/template").get_data(as_text=True)
    assert 'name="version" value="1"' in form
    again = admin.submit("/admin/template", {"template": "## Ours\n", "version": "1"}, token_page="/admin/template")
    assert again.status_code == 302
    clash = admin.submit("/admin/template", {"template": "## Theirs\n", "version": "1"}, token_page="/admin/template")
    assert clash.status_code == 409 and "## Theirs" in clash.get_data(as_text=True)
    assert admin_api.get("/api/v1/template").get_json()["markdown"] == "## Ours\n"


def test_two_admins_saving_the_template_at_once_get_one_200_and_one_409(starter_app):
    import threading

    first, second = token_client(starter_app, "a1", "admin"), token_client(starter_app, "a2", "admin")
    start, answers = threading.Barrier(2), []

    def put(client, text):
        start.wait()
        answers.append(client.put("/api/v1/template", json={"markdown": text, "version": 0}).status_code)

    threads = [threading.Thread(target=put, args=(c, t)) for c, t in ((first, "## One\n"), (second, "## Two\n"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200, 409]
    assert first.get("/api/v1/template").get_json()["version"] == 1


def test_links_inside_code_are_not_links(starter_app):
    author = token_client(starter_app, "writer", "author")
    body = GOOD + "\n```\n[[not-a-link]]\n```\n\nType `[[nor-this]]` to link; [[but-this-one]].\n"
    checks = preview(author, body).get_json()["checks"]
    broken = [f["message"] for f in checks["findings"] if f["code"] == "broken_link"]
    line = next(n for n, text in enumerate(body.splitlines(), start=1) if "but-this-one" in text)
    assert broken == [f"line {line} links to 'but-this-one', which does not exist"]


def test_the_template_travels_with_export_and_import(starter_app, tmp_path):
    admin = token_client(starter_app, "root", "admin")
    ours = "## What the customer notices\n\n<!-- Their words. -->\n\n## What is going on\n"
    assert admin.put("/api/v1/template", json={"markdown": ours, "version": 0}).status_code == 200
    first = tmp_path / "first"
    assert starter_app.test_cli_runner().invoke(args=["export", str(first)]).exit_code == 0
    assert (first / "template.markdown").read_text(encoding="utf-8") == ours

    fresh = make_app(tmp_path / "fresh")
    runner = fresh.test_cli_runner()
    imported = runner.invoke(args=["import", str(first)])
    assert imported.exit_code == 0 and "template was replaced" in imported.output
    assert "template was replaced" not in runner.invoke(args=["import", str(first)]).output  # already so
    second = tmp_path / "second"
    assert runner.invoke(args=["export", str(second)]).exit_code == 0
    assert (second / "template.markdown").read_bytes() == (first / "template.markdown").read_bytes()

    (first / "template.markdown").write_text("[" * 30, encoding="utf-8")
    bad = make_app(tmp_path / "third").test_cli_runner().invoke(args=["import", str(first)])
    assert bad.exit_code != 0 and "template.markdown" in bad.output and "Traceback" not in bad.output


def test_the_starter_folder_carries_the_default_template_as_export_writes_it():
    from conftest import STARTER

    from kb import settings

    assert (STARTER / settings.TEMPLATE_FILE_NAME).read_text(encoding="utf-8") == settings.DEFAULT_TEMPLATE
