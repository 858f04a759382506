"""Reading paths travel with the articles (reading-paths.yaml), onboarding paths reach new users,
and users hold several roles."""

from __future__ import annotations

from conftest import PROJECT_ROOT, STARTER, add_user, client_for, make_app, make_token, starter_list, token_client

from kb.learning import files as path_files

STARTER_PATH = starter_list(path_files.FILE_NAME)[0]


def write_paths(folder, text: str):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / path_files.FILE_NAME).write_text(text, encoding="utf-8")
    return folder


def article_file(slug: str, status: str = "published") -> str:
    return f"---\ntitle: About {slug}\nslug: {slug}\nstatus: {status}\n---\nWhat the customer notices about {slug}.\n"


def my_paths(app, username: str, role: str = "agent") -> list[dict]:
    client = token_client(app, username, role)
    response = client.get("/api/v1/me/paths")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


# --- the starter path and onboarding ------------------------------------------------------------


def test_the_starter_content_ships_an_onboarding_path_for_agents_built_from_starter_articles(starter_app):
    slugs = {p.stem for p in STARTER.glob("*.md")}
    assert STARTER_PATH["onboarding"] == "agent"
    assert len(STARTER_PATH["steps"]) >= 5
    assert {step["article"] for step in STARTER_PATH["steps"]} <= slugs
    listed = token_client(starter_app, "tr", "trainer").get("/api/v1/paths").get_json()["paths"]
    assert [p["title"] for p in listed] == [STARTER_PATH["title"]]
    assert [s["article"] for s in listed[0]["steps"]] == [s["article"] for s in STARTER_PATH["steps"]]


def test_a_new_agent_gets_the_onboarding_path_and_an_author_does_not(starter_app):
    [given] = my_paths(starter_app, "newcomer", "agent")
    assert given["title"] == STARTER_PATH["title"]
    assert (given["done_steps"], given["total_steps"], given["reread_steps"]) == (0, len(STARTER_PATH["steps"]), 0)
    assert my_paths(starter_app, "writer", "author") == []


def test_users_created_by_the_api_and_the_admin_page_get_the_onboarding_paths_of_every_role_they_hold(starter_app):
    admin = token_client(starter_app, "boss", "admin")
    onboarding = admin.post("/api/v1/paths", json={"title": "Writing for agents", "steps": []})
    assert onboarding.status_code == 201
    assert (
        admin.put(f"/api/v1/paths/{onboarding.get_json()['id']}/onboarding", json={"role": "author"}).status_code == 200
    )
    created = admin.post("/api/v1/users", json={"username": "both", "roles": ["agent", "author"], "password": "x" * 12})
    assert created.get_json()["user"]["roles"] == ["author"]  # an author is an agent too: one role held
    page = client_for(starter_app, "admin")
    assert (
        page.submit(
            "/admin/users", {"username": "formuser", "role": "agent", "also": "author"}, token_page="/admin/users"
        ).status_code
        == 200
    )
    for username in ("both", "formuser"):
        client = starter_app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {make_token(starter_app, username)}"
        titles = sorted(p["title"] for p in client.get("/api/v1/me/paths").get_json())
        assert titles == ["Writing for agents"], username


def test_a_retired_onboarding_path_is_not_given_to_new_users(starter_app):
    trainer = token_client(starter_app, "tr", "trainer")
    path_id = trainer.get("/api/v1/paths").get_json()["paths"][0]["id"]
    assert trainer.delete(f"/api/v1/paths/{path_id}").status_code == 200
    assert my_paths(starter_app, "late-joiner") == []


# --- import and export --------------------------------------------------------------------------


def test_importing_the_starter_folder_twice_adds_the_path_once(app, runner):
    first = runner.invoke(args=["import", str(PROJECT_ROOT / "articles")])
    assert "reading-paths.yaml: 1 reading paths added, 0 updated." in first.output
    again = runner.invoke(args=["import", str(PROJECT_ROOT / "articles")])
    assert again.exit_code == 0, again.output
    assert "reading-paths.yaml: 0 reading paths added, 0 updated." in again.output


def test_the_starter_paths_file_is_already_in_export_form(app, runner, tmp_path):
    runner.invoke(args=["import", str(PROJECT_ROOT / "articles")])
    assert runner.invoke(args=["export", str(tmp_path / "out")]).exit_code == 0
    exported = (tmp_path / "out" / path_files.FILE_NAME).read_bytes()
    assert exported == (STARTER / path_files.FILE_NAME).read_bytes()


def test_a_path_edited_in_kb_survives_export_and_import_into_a_new_instance(starter_app, tmp_path):
    trainer = token_client(starter_app, "tr", "trainer")
    path = trainer.get("/api/v1/paths").get_json()["paths"][0]
    steps = [{"article": s["article"], "note": s["note"], "question": s["question"]} for s in path["steps"]][::-1]
    steps[0]["note"] = "Start here: ünïcode – and a line\nbreak."
    saved = trainer.put(f"/api/v1/paths/{path['id']}", json={**path, "steps": steps, "version": path["version"]})
    assert saved.status_code == 200, saved.get_data(as_text=True)
    retired = trainer.post("/api/v1/paths", json={"title": "Old process", "steps": [{"article": steps[1]["article"]}]})
    trainer.delete(f"/api/v1/paths/{retired.get_json()['id']}")
    out = tmp_path / "out"
    assert starter_app.test_cli_runner().invoke(args=["export", str(out)]).exit_code == 0

    fresh = make_app(tmp_path / "fresh")
    assert fresh.test_cli_runner().invoke(args=["import", str(out)]).exit_code == 0
    fresh_trainer = token_client(fresh, "tr", "trainer")
    [copied] = fresh_trainer.get("/api/v1/paths").get_json()["paths"]
    assert [(s["article"], s["note"], s["question"]) for s in copied["steps"]] == [
        (s["article"], s["note"], s["question"]) for s in steps
    ]
    assert copied["onboarding"] == "agent"
    assert [p["title"] for p in fresh_trainer.get("/api/v1/paths?retired=1").get_json()["paths"]] == ["Old process"]


def test_a_path_naming_a_missing_article_is_skipped_with_file_line_and_step_and_the_others_import(
    app, runner, tmp_path
):
    folder = tmp_path / "content"
    folder.mkdir()
    (folder / "good.md").write_text(article_file("good"), encoding="utf-8")
    write_paths(
        folder,
        "- title: Fine\n  steps:\n  - article: good\n"
        "- title: Broken\n  steps:\n  - article: good\n  - article: nowhere\n",
    )
    result = runner.invoke(args=["import", str(folder)])
    assert result.exit_code != 0
    assert "reading-paths.yaml: 1 reading paths added" in result.output
    assert "reading-paths.yaml:4: 'Broken': Step 2: the article 'nowhere' does not exist" in result.output


def test_a_draft_article_cannot_be_a_step_of_an_imported_path(app, runner, tmp_path):
    folder = tmp_path / "content"
    folder.mkdir()
    (folder / "wip.md").write_text(article_file("wip", "draft"), encoding="utf-8")
    write_paths(folder, "- title: Too early\n  steps:\n  - article: wip\n")
    result = runner.invoke(args=["import", str(folder)])
    assert "reading-paths.yaml:1: 'Too early': Step 1: the article 'wip' is not published" in result.output


def test_a_malformed_paths_file_says_where_and_leaves_the_articles_and_synonyms_imported(app, runner, tmp_path):
    folder = tmp_path / "content"
    folder.mkdir()
    (folder / "good.md").write_text(article_file("good"), encoding="utf-8")
    (folder / "synonyms.yaml").write_text("- [wifi, wireless]\n", encoding="utf-8")
    write_paths(folder, "- title: Fine\n  steps:\n  - article: good\n- title: Odd\n  colour: blue\n")
    result = runner.invoke(args=["import", str(folder)])
    assert "reading-paths.yaml:4: unknown key 'colour'" in result.output
    assert "1 synonym groups added" in result.output and "1 created" in result.output
    write_paths(folder, "- title: [unclosed\n")
    assert "reading-paths.yaml:2: not valid YAML" in runner.invoke(args=["import", str(folder)]).output
    write_paths(folder, "- title: Bad role\n  onboarding: boss\n  steps: []\n")
    assert "reading-paths.yaml:1: onboarding must be a role" in runner.invoke(args=["import", str(folder)]).output


# --- several roles ------------------------------------------------------------------------------


def test_an_author_who_also_trains_can_write_articles_and_paths_and_a_trainer_cannot_write_articles(starter_app):
    runner = starter_app.test_cli_runner()
    made = runner.invoke(args=["user", "add", "lee", "--role", "trainer", "--also", "author", "--password", "x" * 12])
    assert "Created author + trainer 'lee'." in made.output
    assert "lee                      author + trainer" in runner.invoke(args=["user", "list"]).output
    add_user(starter_app, "tess", "trainer")
    article = {"title": "How we train", "body": "Text.", "status": "draft"}
    path = {"title": "Training", "steps": [{"article": "account-locked-out"}]}
    for username, article_status, path_status in (("lee", 201, 201), ("tess", 403, 201)):
        client = starter_app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {make_token(starter_app, username)}"
        assert (
            client.post("/api/v1/articles", json=article | {"slug": f"train-{username}"}).status_code == article_status
        )
        assert client.post("/api/v1/paths", json=path | {"title": f"Training {username}"}).status_code == path_status


def test_an_admin_gives_and_takes_a_second_role_on_the_users_page(starter_app):
    admin = token_client(starter_app, "boss", "admin")
    add_user(starter_app, "ria", "agent")
    page = client_for(starter_app, "admin").get("/admin/users").get_data(as_text=True)
    assert 'name="also" value="trainer"' in page
    changed = admin.patch("/api/v1/users/ria", json={"roles": ["trainer", "author"]})
    assert changed.get_json()["user"]["roles"] == ["author", "trainer"]
    assert changed.get_json()["user"]["role"] == "author"
    back = admin.patch("/api/v1/users/ria", json={"role": "agent"})
    assert back.get_json()["user"]["roles"] == ["agent"]
    bad = admin.patch("/api/v1/users/ria", json={"roles": ["trainer", "boss"]})
    assert bad.status_code == 400 and bad.get_json()["field"] == "roles"
