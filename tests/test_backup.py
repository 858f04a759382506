"""`kb backup` and `kb restore`: every row, the attachments and the secret key come back, and the
search index is rebuilt from them."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from conftest import PASSWORD, add_user, client_for, make_app, make_token
from sqlalchemy import select

from kb import backup
from kb.db import get_session


def every_row(app) -> dict[str, list[dict]]:
    with app.app_context():
        session = get_session()
        return {
            table.name: [
                backup._encode_row(table, row._mapping)
                for row in session.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in backup.tables()
        }


def fill(app) -> str:
    """Rows in every table that has a writer: users, tokens, votes, search logs, revisions."""
    add_user(app, "mila", "author")
    token = make_token(app, "mila")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    client.put("/api/v1/articles/printer-shows-offline", json={"summary": "Edited.", "version": 1}, headers=headers)
    client.post("/api/v1/articles/printer-shows-offline/feedback", json={"helpful": True}, headers=headers)
    client.get("/api/v1/search?q=no+such+thing+anywhere&sid=episode-0001", headers=headers)
    return token


def test_a_backup_restores_every_row_and_a_searchable_index(starter_app, tmp_path):
    token = fill(starter_app)
    attachments = Path(starter_app.instance_path) / "attachments"
    attachments.mkdir(parents=True, exist_ok=True)
    (attachments / "diagram.png").write_bytes(b"\x89PNG fake")
    (Path(starter_app.instance_path) / "secret_key").write_text("the-old-key\n")
    from kb import background

    background.flush_search_log(starter_app)
    result = starter_app.test_cli_runner().invoke(args=["backup", str(tmp_path / "kb.tar.gz")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "kb.tar.gz").stat().st_mode & 0o777 == 0o600
    before = every_row(starter_app)
    assert all(before[name] for name in ("users", "api_tokens", "articles", "revisions", "feedback", "search_logs"))

    fresh = make_app(tmp_path / "fresh", serving=False)
    restored = fresh.test_cli_runner().invoke(args=["restore", str(tmp_path / "kb.tar.gz")])
    assert restored.exit_code == 0, restored.output
    assert "Rebuilt the search index" in restored.output
    assert every_row(fresh) == before
    assert (Path(fresh.instance_path) / "attachments" / "diagram.png").read_bytes() == b"\x89PNG fake"
    assert (Path(fresh.instance_path) / "secret_key").read_text() == "the-old-key\n"

    client = fresh.test_client()
    headers = {"Authorization": f"Bearer {token}"}  # the token hash came back with the rows
    results = client.get("/api/v1/search?q=printer+offline", headers=headers).get_json()["results"]
    assert results[0]["slug"] == "printer-shows-offline" and results[0]["summary"] == "Edited."
    client_for(fresh, None).login("mila", PASSWORD)
    # New rows get new ids after the restored ones.
    created = client.post("/api/v1/articles", json={"title": "After the restore"}, headers=headers)
    assert created.status_code == 201


def test_restore_refuses_a_database_in_use_unless_told_to_replace(starter_app, tmp_path):
    runner = starter_app.test_cli_runner()
    assert runner.invoke(args=["backup", str(tmp_path / "kb.tar.gz")]).exit_code == 0
    other = make_app(tmp_path / "other", serving=False)
    add_user(other, "someone", "agent")
    refused = other.test_cli_runner().invoke(args=["restore", str(tmp_path / "kb.tar.gz")])
    assert refused.exit_code != 0 and "not empty" in refused.output and "--replace" in refused.output
    assert other.test_cli_runner().invoke(args=["restore", "--replace", str(tmp_path / "kb.tar.gz")]).exit_code == 0
    assert every_row(other)["articles"] == every_row(starter_app)["articles"]
    # starter_app's own index writer is running: restoring under a live kb is refused.
    live = runner.invoke(args=["restore", "--replace", str(tmp_path / "kb.tar.gz")])
    assert live.exit_code != 0 and "stop it before restoring" in live.output


def test_a_file_that_is_not_a_backup_is_named_without_a_traceback(tmp_path):
    app = make_app(tmp_path / "instance", serving=False)
    bad = tmp_path / "notes.tar.gz"
    bad.write_bytes(b"just some bytes")
    result = app.test_cli_runner().invoke(args=["restore", str(bad)])
    assert result.exit_code != 0 and "not a kb backup" in result.output and "Traceback" not in result.output
    with tarfile.open(tmp_path / "empty.tar.gz", "w:gz"):
        pass
    result = app.test_cli_runner().invoke(args=["restore", str(tmp_path / "empty.tar.gz")])
    assert result.exit_code != 0 and "no manifest.json" in result.output


def as_if_taken_at_the_baseline(source: Path, target: Path) -> None:
    """Rewrite a backup as kb at revision 0001 wrote it: that revision's manifest and columns."""
    newer_columns = {"index_events": {"txid"}, "golden_queries": {"broken_by_id", "broken_at"}}
    with tarfile.open(source, "r:gz") as old, tarfile.open(target, "w:gz") as new:
        for member in old.getmembers():
            data = old.extractfile(member).read() if member.isfile() else b""
            if member.name == "manifest.json":
                manifest = json.loads(data)
                manifest["schema_revision"] = "0001"
                data = json.dumps(manifest).encode()
            elif member.name.startswith("tables/"):
                dropped = newer_columns.get(member.name[len("tables/") : -len(".jsonl")], set())
                rows = [json.loads(line) for line in data.splitlines()]
                data = b"".join(
                    json.dumps({k: v for k, v in row.items() if k not in dropped}).encode() + b"\n" for row in rows
                )
            member.size = len(data)
            new.addfile(member, io.BytesIO(data) if member.isfile() else None)


def test_a_backup_from_an_older_schema_restores_and_is_upgraded(starter_app, tmp_path):
    assert starter_app.test_cli_runner().invoke(args=["backup", str(tmp_path / "now.tar.gz")]).exit_code == 0
    as_if_taken_at_the_baseline(tmp_path / "now.tar.gz", tmp_path / "old.tar.gz")
    fresh = make_app(tmp_path / "fresh", serving=False)
    result = fresh.test_cli_runner().invoke(args=["restore", str(tmp_path / "old.tar.gz")])
    assert result.exit_code == 0, result.output
    assert "taken at schema revision 0001" in result.output
    from kb import migrations

    assert migrations.inspect_schema(fresh.extensions["kb.engine"]).is_up_to_date
    assert every_row(fresh)["articles"] == every_row(starter_app)["articles"]
