"""Reading paths through the JSON API: trainers build, assign and follow up; readers follow.

Every test goes through the Flask test client against a real database holding the starter
articles. The starter content may include paths of its own, so tests find theirs by id.
"""

from __future__ import annotations

import csv
import io
import threading

import pytest
from conftest import PASSWORD, make_token, token_client
from sqlalchemy import func, select

from kb import learning
from kb.db import get_session
from kb.learning.paths import PathConflict
from kb.models import StepProgress

PRINTER, VPN = "printer-shows-offline", "vpn-will-not-connect"


@pytest.fixture
def trainer(starter_app):
    return token_client(starter_app, "tina", "trainer")


@pytest.fixture
def agent(starter_app):
    return token_client(starter_app, "alex", "agent")


@pytest.fixture
def admin(starter_app):
    return token_client(starter_app, "ada", "admin")


def new_path(client, *slugs: str, question: str = "") -> dict:
    steps = [{"article": slug, "note": f"Why {slug}", "question": question} for slug in slugs]
    response = client.post("/api/v1/paths", json={"title": "Basics", "purpose": "Know the basics", "steps": steps})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def my_path(client, path_id: int) -> dict | None:
    response = client.get("/api/v1/me/paths")
    assert response.status_code == 200 and isinstance(response.get_json(), list)  # a bare array, as the issue says
    return next((p for p in response.get_json() if p["id"] == path_id), None)


def assign(client, path_id: int, **body) -> dict:
    response = client.post(f"/api/v1/paths/{path_id}/assign", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def edit_article(admin, slug: str, **fields) -> None:
    """Save an edit of a published article as an admin: a new published revision."""
    version = admin.get(f"/api/v1/articles/{slug}").get_json()["version"]
    response = admin.put(f"/api/v1/articles/{slug}", json={**fields, "version": version})
    assert response.status_code == 200 and response.get_json()["changed"], response.get_json()


# --- building paths ------------------------------------------------------------------------------


def test_trainer_creates_a_path_with_ordered_steps(trainer):
    path = new_path(trainer, VPN, PRINTER)
    assert [(s["n"], s["article"], s["article_status"]) for s in path["steps"]] == [
        (1, VPN, "published"),
        (2, PRINTER, "published"),
    ]
    assert path["steps"][0]["note"] == f"Why {VPN}" and path["steps"][0]["title"]
    assert (path["version"], path["retired"], path["onboarding"], path["created_by"]) == (1, False, None, "tina")
    assert trainer.get(f"/api/v1/paths/{path['id']}").get_json() == path


@pytest.mark.parametrize("role", ["agent", "author"])
def test_agents_and_authors_read_paths_but_may_not_change_them(starter_app, trainer, role):
    path = new_path(trainer, PRINTER)
    other = token_client(starter_app, f"{role}-1", role)
    assert other.get(f"/api/v1/paths/{path['id']}").status_code == 200
    assert path["id"] in [p["id"] for p in other.get("/api/v1/paths").get_json()["paths"]]
    body = {"title": "Mine", "steps": [], "version": 1}
    for response in (
        other.post("/api/v1/paths", json=body),
        other.put(f"/api/v1/paths/{path['id']}", json=body),
        other.delete(f"/api/v1/paths/{path['id']}"),
        other.post(f"/api/v1/paths/{path['id']}/assign", json={"users": [f"{role}-1"]}),
        other.get(f"/api/v1/paths/{path['id']}/progress"),
    ):
        assert response.status_code == 403 and response.get_json()["error"] == "forbidden"


def test_an_author_who_also_trains_writes_articles_and_paths_a_trainer_only_paths(starter_app, admin, trainer):
    created = admin.post(
        "/api/v1/users", json={"username": "pat", "roles": ["author", "trainer"], "password": PASSWORD}
    )
    assert created.status_code == 201 and created.get_json()["user"]["roles"] == ["author", "trainer"]
    pat = starter_app.test_client()
    pat.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {make_token(starter_app, 'pat')}"
    article = {"title": "Dock flickers", "body": "## What the customer notices\n\nFlicker.\n"}
    assert pat.post("/api/v1/articles", json=article).status_code == 201
    assert new_path(pat, PRINTER)["created_by"] == "pat"
    refused = trainer.post("/api/v1/articles", json={**article, "title": "Other"})
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"title": "P", "steps": [{"article": PRINTER}, {"article": "no-such-article"}]}, "steps[2].article", "Step 2"),
        ({"title": "P", "steps": [{"article": PRINTER}, {"article": PRINTER}]}, "steps[2].article", "already step 1"),
        ({"title": "  ", "steps": [{"article": PRINTER}]}, "title", "required"),
        ({"title": ["P"], "steps": []}, "title", "must be text"),
        ({"title": "P", "steps": {"article": PRINTER}}, "steps", "must be a list"),
        ({"title": "P", "steps": [PRINTER]}, "steps[1]", "must be an object"),
        ({"title": "P", "steps": [{"article": PRINTER, "note": 3}]}, "steps[1].note", "must be text"),
        ({"title": "P", "steps": [{"article": PRINTER, "question": ["?"]}]}, "steps[1].question", "must be text"),
        ({"title": "P", "steps": [{"article": 7}]}, "steps[1].article", "must be text"),
    ],
)
def test_a_bad_path_is_refused_naming_the_field(trainer, body, field, words):
    response = trainer.post("/api/v1/paths", json=body)
    assert response.status_code == 400
    error = response.get_json()
    assert (error["error"], error["field"]) == ("invalid", field) and words in error["message"]


def test_a_draft_article_cannot_be_a_step(starter_app, trainer):
    author = token_client(starter_app, "auth", "author")
    draft = author.post("/api/v1/articles", json={"title": "Half written", "body": "Soon.\n"}).get_json()["article"]
    response = trainer.post("/api/v1/paths", json={"title": "P", "steps": [{"article": draft["slug"]}]})
    assert response.status_code == 400 and "is not published" in response.get_json()["message"]


def test_a_save_needs_the_version_read_and_a_stale_one_is_a_conflict(trainer):
    path = new_path(trainer, PRINTER)
    url, body = f"/api/v1/paths/{path['id']}", {"title": "Renamed", "steps": [{"article": PRINTER}]}
    missing = trainer.put(url, json=body)
    assert missing.status_code == 428 and missing.get_json()["field"] == "version"
    saved = trainer.put(url, json={**body, "version": 1}).get_json()
    assert (saved["title"], saved["version"], saved["changed"]) == ("Renamed", 2, True)
    stale = trainer.put(url, json={**body, "title": "Again", "version": 1})
    assert stale.status_code == 409 and stale.get_json()["current_version"] == 2
    assert trainer.get(url).get_json()["title"] == "Renamed"
    again = trainer.put(url, json={**body, "version": 2}).get_json()
    assert (again["version"], again["changed"]) == (2, False)


def test_a_save_racing_another_is_a_conflict_not_a_server_error(starter_app, trainer):
    """Read, then another trainer saves, then save: the database refuses the stale UPDATE."""
    path = new_path(trainer, PRINTER)
    url = f"/api/v1/paths/{path['id']}"
    with starter_app.app_context(), starter_app.extensions["kb.sessionmaker"]() as session:
        mine = learning.get_path(session, path["id"])
        assert mine.version == 1
        assert trainer.put(url, json={"title": "Theirs", "steps": [], "version": 1}).status_code == 200
        data = learning.PathInput(title="Mine", steps=[learning.StepInput(PRINTER)])
        with pytest.raises(PathConflict) as conflict:
            learning.update_path(session, mine, data, user=None, based_on=1)
        assert conflict.value.path.version == 2
        session.rollback()
    assert trainer.get(url).get_json()["title"] == "Theirs"


def test_retired_paths_are_hidden_from_readers_until_reinstated(trainer, agent):
    path = new_path(trainer, PRINTER)
    url = f"/api/v1/paths/{path['id']}"
    retired = trainer.delete(url).get_json()
    assert retired["retired"] and retired["changed"] and retired["steps"] == path["steps"]
    assert agent.get(url).status_code == 404
    assert agent.get("/api/v1/paths?retired=1").status_code == 403
    assert path["id"] not in [p["id"] for p in trainer.get("/api/v1/paths").get_json()["paths"]]
    assert path["id"] in [p["id"] for p in trainer.get("/api/v1/paths?retired=1").get_json()["paths"]]
    back = trainer.post(f"{url}/reinstate").get_json()
    assert not back["retired"] and agent.get(url).status_code == 200


def test_a_duplicate_is_a_new_path_with_the_same_steps(trainer):
    path = new_path(trainer, PRINTER, VPN)
    response = trainer.post(f"/api/v1/paths/{path['id']}/duplicate")
    assert response.status_code == 201
    copy = response.get_json()
    assert copy["id"] != path["id"] and copy["title"] == "Copy of Basics"
    assert [s["article"] for s in copy["steps"]] == [PRINTER, VPN]


def test_only_admins_choose_onboarding_paths_and_new_agents_get_them(starter_app, trainer, admin):
    path = new_path(trainer, PRINTER)
    url = f"/api/v1/paths/{path['id']}/onboarding"
    assert trainer.put(url, json={"role": "agent"}).status_code == 403
    assert admin.put(url, json={"role": "captain"}).get_json()["field"] == "role"
    assert admin.put(url, json={"role": "agent"}).get_json()["onboarding"] == "agent"
    newcomer = token_client(starter_app, "newbie", "agent")
    assert my_path(newcomer, path["id"]) is not None
    assert admin.put(url, json={"role": None}).get_json()["onboarding"] is None


def test_revisions_keep_every_save_newest_first(trainer):
    path = new_path(trainer, PRINTER)
    url = f"/api/v1/paths/{path['id']}"
    trainer.put(url, json={"title": "Second", "steps": [{"article": VPN, "note": "n"}], "version": 1})
    trainer.delete(url)
    revisions = trainer.get(f"{url}/revisions").get_json()["revisions"]
    assert [(r["number"], r["title"], r["retired"]) for r in revisions] == [
        (3, "Second", True),
        (2, "Second", False),
        (1, "Basics", False),
    ]
    assert revisions[1]["steps"] == [{"article": VPN, "note": "n", "question": ""}]
    assert revisions[2]["steps"][0]["article"] == PRINTER and revisions[0]["created_by"] == "tina"


# --- teams and assignments -----------------------------------------------------------------------


def test_teams_have_members_who_can_be_added_and_removed(starter_app, trainer, agent):
    token_client(starter_app, "bea", "agent")
    created = trainer.post("/api/v1/teams", json={"name": "Night shift", "members": ["alex"]})
    assert created.status_code == 201
    team = created.get_json()
    url = f"/api/v1/teams/{team['id']}"
    assert team["members"] == ["alex"] and trainer.get(url).get_json() == team
    assert trainer.post(f"{url}/members", json={"username": "bea"}).get_json()["members"] == ["alex", "bea"]
    assert trainer.delete(f"{url}/members/alex").get_json()["members"] == ["bea"]
    assert trainer.put(url, json={"name": "Evening shift"}).get_json()["name"] == "Evening shift"
    names = [t["name"] for t in trainer.get("/api/v1/teams").get_json()["teams"]]
    assert "Evening shift" in names and "Night shift" not in names
    assert agent.get("/api/v1/teams").status_code == 403


def test_a_team_needs_known_members_and_a_name_of_its_own(trainer, agent):
    unknown = trainer.post("/api/v1/teams", json={"name": "Day", "members": ["alex", "nobody"]})
    assert unknown.status_code == 400 and unknown.get_json()["field"] == "members[2]"
    assert trainer.post("/api/v1/teams", json={"name": "Day", "members": "alex"}).get_json()["field"] == "members"
    assert trainer.post("/api/v1/teams", json={"name": "Day"}).status_code == 201
    taken = trainer.post("/api/v1/teams", json={"name": "Day"})
    assert taken.status_code == 409 and taken.get_json()["field"] == "name"


def test_someone_who_joins_a_team_later_gets_its_paths(starter_app, trainer):
    path = new_path(trainer, PRINTER)
    team = trainer.post("/api/v1/teams", json={"name": "Night shift"}).get_json()
    assigned = assign(trainer, path["id"], teams=["Night shift"], due="2031-03-01")
    assert assigned["assigned"] == 1
    made = assigned["assignments"][0]
    assert (made["user"], made["team"], made["due"]) == (None, "Night shift", "2031-03-01")
    late = token_client(starter_app, "late", "agent")
    assert my_path(late, path["id"]) is None
    trainer.post(f"/api/v1/teams/{team['id']}/members", json={"username": "late"})
    mine = my_path(late, path["id"])
    assert mine["due"] == "2031-03-01" and (mine["total_steps"], mine["status"]) == (1, "not_started")
    assert [a["username"] for a in trainer.get(f"/api/v1/paths/{path['id']}/progress").get_json()["assignees"]] == [
        "late"
    ]


@pytest.mark.parametrize("due", ["31/01/2031", "2031-02-30", "tomorrow", 20310131, ["2031-01-31"]])
def test_a_bad_due_date_is_refused_naming_due(trainer, agent, due):
    path = new_path(trainer, PRINTER)
    response = trainer.post(f"/api/v1/paths/{path['id']}/assign", json={"users": ["alex"], "due": due})
    assert response.status_code == 400 and response.get_json()["field"] == "due"
    assert trainer.get(f"/api/v1/paths/{path['id']}/assignments").get_json() == {"assignments": []}


def test_assigning_needs_lists_of_known_names(trainer, agent):
    path = new_path(trainer, PRINTER)
    url = f"/api/v1/paths/{path['id']}/assign"
    assert trainer.post(url, json={"users": "alex"}).get_json()["field"] == "users"
    assert trainer.post(url, json={"users": ["alex", 3]}).get_json()["field"] == "users[2]"
    assert trainer.post(url, json={"teams": ["No such team"]}).get_json()["field"] == "teams[1]"
    assert trainer.post(url, json={}).status_code == 400


def test_unassigning_takes_the_path_back(trainer, agent):
    path = new_path(trainer, PRINTER)
    assign(trainer, path["id"], users=["alex"])
    assert my_path(agent, path["id"]) is not None
    response = trainer.post(f"/api/v1/paths/{path['id']}/unassign", json={"users": ["alex"]}).get_json()
    assert response == {"unassigned": 1, "assignments": []}
    assert my_path(agent, path["id"]) is None


# --- reading -------------------------------------------------------------------------------------


def test_opening_then_reading_a_step_records_its_time_and_status(trainer, agent):
    path = new_path(trainer, PRINTER, VPN)
    assign(trainer, path["id"], users=["alex"])
    step = agent.get(f"/api/v1/paths/{path['id']}/steps/1").get_json()
    assert (step["n"], step["article"], step["status"], step["changes"]) == (1, PRINTER, "unread", [])
    assert "<h2" in step["html"] and step["revision"] >= 1 and step["note"] == f"Why {PRINTER}"
    read = agent.post(f"/api/v1/paths/{path['id']}/steps/1/read").get_json()
    assert read["status"] == "read" and read["read_at"] and read["seconds"] >= 0
    mine = my_path(agent, path["id"])
    assert (mine["done_steps"], mine["status"]) == (1, "in_progress")
    assert [s["status"] for s in mine["steps"]] == ["read", "unread"]
    progress = trainer.get(f"/api/v1/paths/{path['id']}/progress").get_json()["assignees"][0]
    assert (progress["username"], progress["status"], progress["done"], progress["via"]) == (
        "alex",
        "in_progress",
        1,
        ["direct"],
    )
    assert len(progress["seconds"]) == 2 and progress["seconds"][0] >= 0


def test_a_step_past_the_end_is_not_found(trainer, agent):
    path = new_path(trainer, PRINTER)
    for n in (0, 2):
        assert agent.get(f"/api/v1/paths/{path['id']}/steps/{n}").status_code == 404
        assert agent.post(f"/api/v1/paths/{path['id']}/steps/{n}/read").status_code == 404
    assert agent.get("/api/v1/paths/999999/steps/1").get_json()["error"] == "not_found"


def test_the_answer_reaches_the_trainer_and_the_feedback_only_its_reader(starter_app, trainer, agent):
    path = new_path(trainer, PRINTER, question="What would you ask first?")
    other = token_client(starter_app, "bea", "agent")
    assign(trainer, path["id"], users=["alex", "bea"])
    step_url = f"/api/v1/paths/{path['id']}/steps/1"
    early = trainer.post(f"{step_url}/feedback", json={"username": "alex", "feedback": "Good"})
    assert early.status_code == 400 and early.get_json()["field"] == "username"
    agent.post(f"{step_url}/read", json={"answer": "Whether others can print"})
    answers = {
        a["username"]: a["answers"] for a in trainer.get(f"/api/v1/paths/{path['id']}/progress").get_json()["assignees"]
    }
    assert answers["alex"][0]["answer"] == "Whether others can print" and answers["alex"][0]["answered_at"]
    assert answers["bea"][0]["answer"] == ""
    given = trainer.post(f"{step_url}/feedback", json={"username": "alex", "feedback": "Yes, first."})
    assert given.status_code == 200 and given.get_json()["feedback"] == "Yes, first."
    assert agent.get(step_url).get_json()["feedback"] == "Yes, first."
    assert other.get(step_url).get_json()["feedback"] == ""


def test_a_new_published_revision_makes_a_read_step_updated_until_read_again(trainer, agent, admin):
    path = new_path(trainer, PRINTER, VPN)
    assign(trainer, path["id"], users=["alex"])
    step_url = f"/api/v1/paths/{path['id']}/steps/1"
    agent.post(f"{step_url}/read")
    edit_article(admin, PRINTER, tags=["printer", "network", "extra-tag"])
    assert agent.get(step_url).get_json()["status"] == "read"  # tags only: nothing the reader reads changed
    edit_article(admin, PRINTER, summary="The printer lost its network address after a power cut.")
    step = agent.get(step_url).get_json()
    assert step["status"] == "updated"
    assert any(c["op"] == "insert" and "power cut" in c["text"] for c in step["changes"])
    assert my_path(agent, path["id"])["reread_steps"] == 1
    assert agent.post(f"{step_url}/read").get_json()["status"] == "read"
    mine = my_path(agent, path["id"])
    assert (mine["reread_steps"], mine["steps"][0]["status"]) == (0, "read")


def test_an_archived_step_article_stays_readable_in_the_path(trainer, agent, admin):
    path = new_path(trainer, PRINTER)
    version = admin.get(f"/api/v1/articles/{PRINTER}").get_json()["version"]
    moved = admin.post(f"/api/v1/articles/{PRINTER}/transition", json={"to": "archived", "version": version})
    assert moved.status_code == 200
    step = agent.get(f"/api/v1/paths/{path['id']}/steps/1").get_json()
    assert step["article"] == PRINTER and "<h2" in step["html"]
    assert agent.get(f"/api/v1/paths/{path['id']}").get_json()["steps"][0]["article_status"] == "archived"
    assert agent.post(f"/api/v1/paths/{path['id']}/steps/1/read").get_json()["status"] == "read"
    kept = trainer.put(
        f"/api/v1/paths/{path['id']}", json={"title": "Kept", "steps": [{"article": PRINTER}], "version": 1}
    )
    assert kept.status_code == 200  # an archived step may stay; only new steps must be published


def test_progress_downloads_as_csv_with_status_and_seconds_per_step(trainer, agent):
    path = new_path(trainer, PRINTER, VPN)
    assign(trainer, path["id"], users=["alex"], due="2020-01-31")
    agent.get(f"/api/v1/paths/{path['id']}/steps/2")
    agent.post(f"/api/v1/paths/{path['id']}/steps/2/read")
    response = trainer.get(f"/api/v1/paths/{path['id']}/progress?format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f"path-{path['id']}-progress.csv" in response.headers["Content-Disposition"]
    header, row = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert header[:8] == ["username", "status", "done", "total", "reread", "overdue", "due", "seconds"]
    assert header[8:] == [f"step 1 status: {PRINTER}", f"step 1 seconds: {PRINTER}"] + [
        f"step 2 status: {VPN}",
        f"step 2 seconds: {VPN}",
    ]
    assert row[:7] == ["alex", "in_progress", "1", "2", "0", "yes", "2020-01-31"]
    assert row[8:10] == ["unread", "0"] and row[10] == "read" and int(row[7]) == int(row[11]) >= 0
    assert trainer.get(f"/api/v1/paths/{path['id']}/progress?format=xml").get_json()["field"] == "format"


def test_two_readers_marking_the_same_step_read_at_once_make_one_row(starter_app, trainer, agent):
    path = new_path(trainer, PRINTER)
    url = f"/api/v1/paths/{path['id']}/steps/1/read"
    start, statuses = threading.Barrier(2), []
    twin = starter_app.test_client()  # the same reader's token, on a client of its own
    twin.environ_base.update(agent.environ_base)

    def read(client) -> None:
        start.wait()
        statuses.append(client.post(url, json={"answer": "same"}).status_code)

    threads = [threading.Thread(target=read, args=(client,)) for client in (agent, twin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [200, 200]
    with starter_app.app_context():
        rows = get_session().scalar(
            select(func.count()).select_from(StepProgress).where(StepProgress.path_id == path["id"])
        )
    assert rows == 1


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_a_path_id_past_the_database_range_is_not_found_whatever_the_method(trainer, method):
    for path_id in (2**31, 18944925674635):
        response = trainer.open(f"/api/v1/paths/{path_id}", method=method, json={"title": "P", "version": 1})
        assert response.status_code == 404, (method, path_id)


def test_a_trainer_sees_one_agents_progress_across_paths_and_an_agent_cannot(trainer, agent):
    first, second = new_path(trainer, PRINTER), new_path(trainer, VPN, MAILBOX := "mailbox-full")
    for path in (first, second):
        assign(trainer, path["id"], users=["alex"])
    agent.get(f"/api/v1/paths/{second['id']}/steps/2")
    agent.post(f"/api/v1/paths/{second['id']}/steps/2/read")
    seen = {p["id"]: p for p in trainer.get("/api/v1/users/alex/paths").get_json()}
    assert (seen[first["id"]]["done_steps"], seen[second["id"]]["done_steps"]) == (0, 1)
    assert [s["status"] for s in seen[second["id"]]["steps"]] == ["unread", "read"]
    assert seen[second["id"]]["steps"][1]["article"] == MAILBOX
    assert trainer.get("/api/v1/users/nobody-here/paths").status_code == 404
    assert agent.get("/api/v1/users/alex/paths").status_code == 403
