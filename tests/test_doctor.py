"""`kb doctor` finds every way the index can differ from the database, and `--fix` repairs it."""

from __future__ import annotations

from pathlib import Path

from conftest import starter_copy
from sqlalchemy import update
from whoosh.filedb.filestore import FileStorage

from kb import store
from kb.db import get_session
from kb.models import Article


def doctor(app, *args: str):
    return app.test_cli_runner().invoke(args=["doctor", *args])


def test_a_healthy_instance_is_all_good(starter_app):
    result = doctor(starter_app)
    assert result.exit_code == 0, result.output
    assert "All good" in result.output and "Changes not yet applied: 0" in result.output


def test_missing_stale_and_extra_documents_are_found_and_fixed(starter_app):
    index_dir = Path(starter_app.config["INDEX_DIR"])
    with starter_app.app_context():
        session = get_session()
        gone = store.find_by_slug(session, "printer-shows-offline")
        # Behind kb's back: a row changed without an event, a document deleted, one left over.
        session.execute(update(Article).where(Article.slug == "vpn-will-not-connect").values(version=7))
        session.commit()
        gone_id = gone.id
    writer = FileStorage(str(index_dir)).open_index().writer(timeout=10)
    writer.delete_by_term("article_id", str(gone_id))
    writer.add_document(article_id="999999", slug="ghost", title="Ghost", status="published", version=1)
    writer.commit()

    result = doctor(starter_app)
    assert result.exit_code == 1
    assert "Missing from the index: 1: printer-shows-offline" in result.output
    assert "Out of date in the index: 1: vpn-will-not-connect (index v1, database v7)" in result.output
    assert "In the index but not in the database (article ids): 1: 999999" in result.output
    assert "kb doctor --fix" in result.output

    fixed = doctor(starter_app, "--fix")
    assert fixed.exit_code == 0, fixed.output
    assert "Repaired" in fixed.output
    assert doctor(starter_app).exit_code == 0


def test_pending_changes_are_reported_and_applied(tmp_path, starter_folder):
    app = starter_copy(starter_folder, tmp_path, serving=False)  # no index writer: changes stay pending
    with app.app_context():
        session = get_session()
        article = store.find_by_slug(session, "printer-shows-offline")
        data = store.ArticleFields.of(article)
        data.summary = "Changed while no writer ran."
        store.update_article(session, article, data, user=None, based_on=article.version)
        session.commit()
    result = doctor(app)
    assert result.exit_code == 1 and "Changes not yet applied: 1" in result.output
    assert doctor(app, "--fix").exit_code == 0
    assert "Changes not yet applied: 0" in doctor(app).output


def test_a_damaged_segment_is_found_and_the_fix_rebuilds(starter_app):
    index_dir = Path(starter_app.config["INDEX_DIR"])
    for segment in index_dir.glob("*.seg"):
        data = segment.read_bytes()
        segment.write_bytes(data[: len(data) // 2])
    result = doctor(starter_app)
    assert result.exit_code == 1 and "Damaged: " in result.output and "Damaged: no" not in result.output
    assert "Traceback" not in result.output
    fixed = doctor(starter_app, "--fix")
    assert fixed.exit_code == 0, fixed.output
    assert "Rebuilt the index" in fixed.output


def break_posting_blocks(index_dir: Path) -> None:
    """Damage every postings list's header: Whoosh then raises a bare "Block tag error"."""
    for segment in index_dir.glob("*.seg"):
        segment.write_bytes(segment.read_bytes().replace(b"W3Bl", b"XXXX"))


def test_a_block_tag_error_is_a_503_naming_kb_reindex_and_the_cli_says_it_in_one_line(starter_app):
    index_dir = Path(starter_app.config["INDEX_DIR"])
    break_posting_blocks(index_dir)
    from conftest import add_user, make_token

    add_user(starter_app, "reader", "agent")
    headers = {"Authorization": f"Bearer {make_token(starter_app, 'reader')}"}
    client = starter_app.test_client()
    response = client.get("/api/v1/search?q=printer+offline", headers=headers)
    assert response.status_code == 503
    assert "kb reindex" in response.get_json()["message"] and "Block tag error" in response.get_json()["message"]
    page = client.get("/?q=printer+offline", headers=headers)
    assert page.status_code == 503 and b"kb reindex" in page.data
    assert client.get("/api/v1/articles/printer-shows-offline", headers=headers).status_code == 200
    runner = starter_app.test_cli_runner()
    for args in (["search", "printer", "offline"], ["init"]):
        result = runner.invoke(args=args)
        assert "kb reindex" in result.output and "Traceback" not in result.output, (args, result.output)
    assert runner.invoke(args=["search", "printer"]).exit_code != 0
    assert runner.invoke(args=["reindex"]).exit_code == 0
    assert client.get("/api/v1/search?q=printer+offline", headers=headers).status_code == 200


def test_damage_with_a_change_pending_is_one_line_naming_the_fix_never_a_traceback(tmp_path, starter_folder):
    app = starter_copy(starter_folder, tmp_path, serving=False)
    with app.app_context():
        session = get_session()
        article = store.find_by_slug(session, "vpn-will-not-connect")
        data = store.ArticleFields.of(article)
        data.summary = "Pending while the index is damaged."
        store.update_article(session, article, data, user=None, based_on=article.version)
        session.commit()
    for segment in Path(app.config["INDEX_DIR"]).glob("*.seg"):
        segment.write_bytes(segment.read_bytes()[:100])
    runner = app.test_cli_runner()
    (tmp_path / "new.md").write_text("---\ntitle: Imported while damaged\n---\nBody\n", encoding="utf-8")
    for args in (["init"], ["search", "vpn"], ["import", str(tmp_path / "new.md")], ["golden", "check"]):
        result = runner.invoke(args=args)
        assert "Traceback" not in result.output and "Aborted" not in result.output, (args, result.output)
        assert result.exit_code != 0, args
        assert "kb reindex" in result.output, (args, result.output)
