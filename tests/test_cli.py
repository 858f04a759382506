"""The `kb` command line, through click's runner against a real database and index."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import PROJECT_ROOT, add_user, make_app, starter_articles, starter_copy


def test_init_is_idempotent_and_prints_the_admin_password_once(tmp_path):
    app = make_app(tmp_path)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["init"])
    assert first.exit_code == 0, first.output
    match = re.search(r"Created admin account 'admin' with password: (\S+)", first.output)
    assert match and len(match.group(1)) >= 12
    second = runner.invoke(args=["init"])
    assert second.exit_code == 0 and "password" not in second.output
    assert (tmp_path / "index").is_dir()
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"username": "admin", "password": match.group(1), "csrf_token": token})
    assert response.status_code == 302


def test_init_takes_the_admin_password_from_the_environment(tmp_path):
    app = make_app(tmp_path, ADMIN_PASSWORD="from-the-environment")
    result = app.test_cli_runner().invoke(args=["init"])
    assert "with the password from KB_ADMIN_PASSWORD" in result.output
    assert "from-the-environment" not in result.output


def test_user_add_list_and_passwd(app, runner):
    result = runner.invoke(args=["user", "add", "sam", "--role", "author"])
    assert result.exit_code == 0 and re.search(r"Password: \S{12,}", result.output)
    result = runner.invoke(args=["user", "add", "kim", "--role", "agent", "--password", "a-good-password"])
    assert result.exit_code == 0 and "Password:" not in result.output
    listing = runner.invoke(args=["user", "list"]).output
    assert re.search(r"kim\s+agent", listing) and re.search(r"sam\s+author", listing)
    result = runner.invoke(args=["user", "passwd", "kim"], input="another-password\nanother-password\n")
    assert result.exit_code == 0 and "changed" in result.output
    result = runner.invoke(args=["user", "passwd", "kim", "--generate"])
    assert re.search(r"Password: \S{12,}", result.output)


def test_user_errors_are_messages_with_nonzero_exit(app, runner):
    runner.invoke(args=["user", "add", "kim", "--role", "agent", "--password", "a-good-password"])
    cases = [
        (["user", "add", "kim", "--role", "agent"], "already exists"),
        (["user", "add", "lee", "--role", "emperor"], "Invalid value for '--role'"),
        (["user", "add", "lee", "--role", "agent", "--password", "short"], "Password too short"),
        (["user", "passwd", "ghost", "--password", "whatever-long"], "No user named 'ghost'"),
        (["token", "create", "ghost"], "No user named 'ghost'"),
        (["token", "revoke", "ghost"], "No user named 'ghost'"),
    ]
    for args, message in cases:
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args
        assert message in result.output, (args, result.output)
        assert "Traceback" not in result.output


def test_token_create_prints_the_token_alone_on_the_last_line(app, runner):
    add_user(app, "tool", "agent")
    result = runner.invoke(args=["token", "create", "tool"])
    assert result.exit_code == 0
    token = result.output.strip().splitlines()[-1]
    assert re.fullmatch(r"kb_[\w-]{40,}", token)
    response = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.get_json()["username"] == "tool"


def test_search_command_prints_text_and_json(starter_app):
    runner = starter_app.test_cli_runner()
    text = runner.invoke(args=["search", "printer", "offline"])
    assert text.exit_code == 0 and "printer-shows-offline" in text.output
    data = json.loads(runner.invoke(args=["search", "--json", "printer offline"]).output)
    assert data["results"][0]["slug"] == "printer-shows-offline"


def test_reindex_rebuilds_a_deleted_index(starter_app):
    runner = starter_app.test_cli_runner()
    index = Path(starter_app.config["INDEX_DIR"])
    for path in index.iterdir():
        path.unlink()
    result = runner.invoke(args=["reindex"])
    assert result.exit_code == 0 and f"Indexed {len(starter_articles())} articles" in result.output
    assert "printer-shows-offline" in runner.invoke(args=["search", "printer"]).output


def test_a_missing_index_is_rebuilt_on_next_use(starter_folder, tmp_path):
    # Not a serving app: its index writer would rebuild the folder while the test removes it.
    app = starter_copy(starter_folder, tmp_path, serving=False)
    index = Path(app.config["INDEX_DIR"])
    for path in index.iterdir():
        path.unlink()
    index.rmdir()
    assert "printer-shows-offline" in app.test_cli_runner().invoke(args=["search", "printer"]).output


def test_a_damaged_index_is_reported_with_the_command_that_fixes_it(starter_app):
    index = Path(starter_app.config["INDEX_DIR"])
    for path in index.glob("*.seg"):
        path.write_bytes(b"garbage" * 10)
    for path in index.glob("_MAIN_*.toc"):
        path.write_bytes(b"garbage")
    runner = starter_app.test_cli_runner()
    result = runner.invoke(args=["search", "printer"])
    assert result.exit_code != 0
    assert "kb reindex" in result.output and "Traceback" not in result.output
    assert runner.invoke(args=["reindex"]).exit_code == 0
    assert "printer-shows-offline" in runner.invoke(args=["search", "printer"]).output


def test_a_damaged_index_gives_a_clear_503_page_not_a_stack_trace(agent, starter_app):
    index = Path(starter_app.config["INDEX_DIR"])
    for path in index.glob("_MAIN_*.toc"):
        path.write_bytes(b"garbage")
    response = agent.get("/?q=printer")
    assert response.status_code == 503
    assert "kb reindex" in response.get_data(as_text=True)


def test_export_to_an_unwritable_place_is_a_clear_error(starter_app, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = starter_app.test_cli_runner().invoke(args=["export", str(blocker / "sub")])
    assert result.exit_code != 0 and "Traceback" not in result.output


def test_flask_cli_exposes_the_same_commands(app):
    from kb.cli import register_cli  # noqa: F401  (commands are registered by create_app)

    names = set(app.cli.list_commands(None))
    assert {"init", "serve", "import", "export", "reindex", "search", "user", "token"} <= names
    assert (PROJECT_ROOT / "articles").is_dir()
