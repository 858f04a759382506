"""Images and files in articles: an allow-list checked against the content, a size limit, stored
outside the database, served so that nothing can run in the browser, readable only by who may
read the article."""

from __future__ import annotations

import io
import os
import threading

from conftest import client_for, make_app, token_client

from kb import store
from kb.db import get_session

SLUG = "printer-shows-offline"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(client, name: str, data: bytes, slug: str = SLUG, **headers):
    return client.post(
        f"/api/v1/articles/{slug}/attachments",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        headers=headers,
    )


def test_an_image_is_attached_stored_outside_the_database_and_shown_inline(starter_app):
    author = token_client(starter_app, "writer", "author")
    response = upload(author, "Printer panel (IP).png", PNG)
    assert response.status_code == 201
    attachment = response.get_json()["attachment"]
    assert attachment["name"] == "Printer-panel-IP-.png" and attachment["content_type"] == "image/png"
    assert attachment["markdown"] == f"![{attachment['name']}]({attachment['url']})"  # no KB_BASE_URL: the same
    assert attachment["url"].startswith("/attachments/") and attachment["url"].endswith("/Printer-panel-IP-.png")
    stored = [
        p for p in (starter_app.instance_path and os.walk(os.path.join(starter_app.instance_path, "attachments")))
    ]
    assert any(files for _, _, files in stored)

    agent = client_for(starter_app, "agent")
    served = agent.get(attachment["url"])
    assert served.status_code == 200 and served.data == PNG
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served.headers["Content-Security-Policy"]
    assert not served.headers.get("Content-Disposition", "").startswith("attachment")
    assert [a["id"] for a in author.get(f"/api/v1/articles/{SLUG}/attachments").get_json()["attachments"]] == [
        attachment["id"]
    ]


def test_documents_are_downloads_and_nothing_else_gets_in(starter_app):
    author = token_client(starter_app, "writer", "author")
    pdf = upload(author, "vendor-note.pdf", b"%PDF-1.7\n...").get_json()["attachment"]
    served = client_for(starter_app, "agent").get(pdf["url"])
    assert (
        served.headers["Content-Disposition"].startswith("attachment")
        and served.headers["Content-Type"] == "application/pdf"
    )
    assert pdf["markdown"].startswith("[vendor-note.pdf](")

    for name, data, why in (
        ("page.html", b"<script>alert(1)</script>", "not a kind kb keeps"),
        ("logo.svg", b"<svg onload=alert(1)>", "not a kind kb keeps"),
        ("fake.png", b"<html><script>alert(1)</script>", "does not contain what its name says"),
        ("notes.txt", b"\xff\xfe binary", "not UTF-8 text"),
        ("empty.png", b"", "empty"),
    ):
        refused = upload(author, name, data)
        assert refused.status_code == 400 and why in refused.get_json()["message"], name
    assert (
        author.post(f"/api/v1/articles/{SLUG}/attachments", data={}, content_type="multipart/form-data").status_code
        == 400
    )
    starter_app.config["MAX_ATTACHMENT_BYTES"] = 100
    big = upload(author, "big.png", PNG + b"\x00" * 200)
    assert big.status_code == 413 and "100 bytes" in big.get_json()["message"]
    assert (
        token_client(starter_app, "sam", "agent")
        .post(
            f"/api/v1/articles/{SLUG}/attachments",
            data={"file": (io.BytesIO(PNG), "a.png")},
            content_type="multipart/form-data",
        )
        .status_code
        == 403
    )


def test_an_upload_larger_than_the_request_limit_but_within_the_attachment_limit_is_taken(starter_app):
    starter_app.config["MAX_CONTENT_LENGTH"] = 1024  # the request limit of every other route
    author = token_client(starter_app, "writer", "author")
    assert upload(author, "screen.png", PNG + b"\x00" * 5000).status_code == 201
    assert author.put(f"/api/v1/articles/{SLUG}", json={"summary": "x" * 2000, "version": 1}).status_code == 413


def test_files_of_drafts_are_hidden_from_agents_and_names_must_match(starter_app):
    admin = token_client(starter_app, "boss", "admin")
    admin.post("/api/v1/articles", json={"title": "Secret plans", "status": "draft"})
    hidden = upload(admin, "plan.png", PNG, slug="secret-plans").get_json()["attachment"]
    agent = client_for(starter_app, "agent")
    assert agent.get(hidden["url"]).status_code == 404
    shown = upload(admin, "panel.png", PNG).get_json()["attachment"]
    assert agent.get(shown["url"].replace("panel.png", "other.png")).status_code == 404
    assert client_for(starter_app, None).get(shown["url"]).status_code in (302, 401)


def test_the_editor_page_uploads_and_lists_the_lines_to_paste(starter_app):
    author = client_for(starter_app, "author")
    page = f"/author/articles/{SLUG}/edit"
    done = author.submit(
        f"/author/articles/{SLUG}/attachments", {"file": (io.BytesIO(PNG), "panel.png")}, token_page=page,
        content_type="multipart/form-data",
    )  # fmt: skip
    assert done.status_code == 303
    html = author.get(page).get_data(as_text=True)
    assert "![panel.png](/attachments/" in html
    refused = author.submit(
        f"/author/articles/{SLUG}/attachments", {"file": (io.BytesIO(b"MZ"), "tool.exe")}, token_page=page,
        content_type="multipart/form-data",
    )  # fmt: skip
    assert refused.status_code == 303
    assert "not a kind kb keeps" in author.get(page).get_data(as_text=True)


def test_two_uploads_of_the_same_file_at_once_both_work(starter_app):
    first, second = token_client(starter_app, "a1", "author"), token_client(starter_app, "a2", "author")
    start, answers = threading.Barrier(2), []

    def send(client):
        start.wait()
        answers.append(upload(client, "same.png", PNG + b"same").status_code)

    threads = [threading.Thread(target=send, args=(c,)) for c in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [201, 201]
    agent = client_for(starter_app, "agent")
    listed = first.get(f"/api/v1/articles/{SLUG}/attachments").get_json()["attachments"]
    assert len(listed) == 2
    served = {agent.get(a["url"]).data for a in listed}
    assert served == {PNG + b"same"}


def test_attachments_travel_with_export_and_import_and_the_round_trip_is_byte_identical(starter_app, tmp_path):
    author = token_client(starter_app, "writer", "author")
    attachment = upload(author, "panel.png", PNG).get_json()["attachment"]
    current = author.get(f"/api/v1/articles/{SLUG}").get_json()
    body = current["markdown"] + f"\nThe panel shows the address:\n\n{attachment['markdown']}\n"
    assert author.put(f"/api/v1/articles/{SLUG}", json={"body": body, "version": current["version"]}).status_code == 200
    first = tmp_path / "first"
    assert starter_app.test_cli_runner().invoke(args=["export", str(first)]).exit_code == 0
    exported = (first / f"{SLUG}.md").read_text(encoding="utf-8")
    stored = attachment["url"].split("/")[2]
    assert f"file: {stored}" in exported and (first / "attachments" / stored).read_bytes() == PNG

    fresh = make_app(tmp_path / "fresh")
    runner = fresh.test_cli_runner()
    imported = runner.invoke(args=["import", str(first)])
    assert imported.exit_code == 0, imported.output
    second = tmp_path / "second"
    assert runner.invoke(args=["export", str(second)]).exit_code == 0
    assert (second / f"{SLUG}.md").read_bytes() == (first / f"{SLUG}.md").read_bytes()
    assert (second / "attachments" / stored).read_bytes() == PNG
    assert runner.invoke(args=["import", str(first)]).exit_code == 0  # again: nothing attached twice
    with fresh.app_context():
        assert len(store.find_by_slug(get_session(), SLUG).attachments) == 1
    (first / "attachments" / stored).unlink()
    other = tmp_path / "other"
    other.mkdir()
    (other / "lost.md").write_text(exported.replace(SLUG, "lost-one"), encoding="utf-8")
    missing = make_app(tmp_path / "third").test_cli_runner().invoke(args=["import", str(other)])
    assert missing.exit_code == 0 and "is missing; not attached" in missing.output
