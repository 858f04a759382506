"""Reading paths through the pages: the trainer builds, orders, assigns and follows a path; the
reader reads, answers, gets feedback and is told what changed since. Real forms (CSRF on), a real
database and index from the starter articles."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace

from conftest import add_user, client_for

from kb import learning, lifecycle, store
from kb.auth import find_user
from kb.db import get_session
from kb.models import Status

PRINTER, VPN, MAILBOX = "printer-shows-offline", "vpn-will-not-connect", "mailbox-full"


def send(client, url: str, data: dict):
    """Post a form as the signed-in user's browser would, with the CSRF token of their pages."""
    return client.submit(url, data, token_page="/learning")


def path_form(title: str, steps: list[tuple[str, str, str]], **extra) -> dict:
    """The editor's fields as a browser sends them: one article, note and question per step, in order."""
    return {
        "title": title,
        "purpose": "Understand before solving.",
        "article": [a for a, _, _ in steps],
        "note": [n for _, n, _ in steps],
        "question": [q for _, _, q in steps],
        **extra,
    }


def path_id_of(response) -> int:
    assert response.status_code == 303, response.get_data(as_text=True)
    return int(re.search(r"/trainer/paths/([0-9]+)$", response.headers["Location"]).group(1))


def saved_slugs(app, path_id: int) -> list[str]:
    with app.app_context():
        return [s.article.slug for s in learning.get_path(get_session(), path_id).steps]


def step_values(html: str) -> list[str]:
    return re.findall(r'name="article" value="([^"]*)"', html.split('id="kb-step-template"')[0])


def step_block(html: str, number: int) -> str:
    """The editor's <li> of step `number`."""
    return re.search(rf'<li class="path-step" id="step-{number}">.*?</li>', html, re.S).group(0)


def make_path(trainer, title: str = "Printers, then VPN") -> int:
    steps = [
        (PRINTER, "Notice how the spooler, not the printer, is usually at fault.", ""),
        (VPN, "Watch for the clock check.", "What would you ask the customer first?"),
    ]
    return path_id_of(send(trainer, "/trainer/paths/new", path_form(title, steps)))


def test_a_trainer_builds_a_path_and_reorders_it_without_javascript(starter_app):
    trainer = client_for(starter_app, "trainer")
    page = trainer.get("/trainer/paths/new").get_data(as_text=True)
    assert '<datalist id="kb-articles">' in page and f'<option value="{PRINTER}">' in page
    steps = [(PRINTER, "first note", ""), (VPN, "second note", "why?"), (MAILBOX, "third note", "")]

    moved = send(trainer, "/trainer/paths/new", path_form("Three steps", steps, move="down:1"))
    assert moved.status_code == 200
    html = moved.get_data(as_text=True)
    assert step_values(html) == [VPN, PRINTER, MAILBOX]
    assert "Not saved yet" in html and 'value="Three steps"' in html
    assert 'id="move-down-2"' in html and re.search(r'id="move-down-2"[^>]*autofocus', html), "focus follows the step"
    assert "second note" in step_block(html, 1) and "why?" in step_block(html, 1)
    with starter_app.app_context():
        assert "Three steps" not in [p.title for p in learning.list_paths(get_session())], "moving saves nothing"

    added = send(trainer, "/trainer/paths/new", path_form("Three steps", steps, add="1")).get_data(as_text=True)
    assert step_values(added) == [PRINTER, VPN, MAILBOX, ""]
    removed = send(trainer, "/trainer/paths/new", path_form("Three steps", steps, remove="2")).get_data(as_text=True)
    assert step_values(removed) == [PRINTER, MAILBOX]

    reordered = [(VPN, "second note", "why?"), (PRINTER, "first note", ""), (MAILBOX, "third note", "")]
    path_id = path_id_of(send(trainer, "/trainer/paths/new", path_form("Three steps", reordered)))
    assert saved_slugs(starter_app, path_id) == [VPN, PRINTER, MAILBOX]

    # The same on an existing path: move the last step up, then save what the page shows.
    edit = f"/trainer/paths/{path_id}/edit"
    form = path_form("Three steps", reordered, version="1", move="up:3")
    html = send(trainer, edit, form).get_data(as_text=True)
    assert step_values(html) == [VPN, MAILBOX, PRINTER]
    shown = [(VPN, "second note", "why?"), (MAILBOX, "third note", ""), (PRINTER, "first note", "")]
    assert path_id_of(send(trainer, edit, path_form("Three steps", shown, version="1"))) == path_id
    assert saved_slugs(starter_app, path_id) == [VPN, MAILBOX, PRINTER]
    listing = trainer.get("/trainer/paths").get_data(as_text=True)
    assert "Three steps" in listing


def test_a_bad_slug_is_shown_next_to_its_step_and_nothing_typed_is_lost(starter_app):
    trainer = client_for(starter_app, "trainer")
    steps = [(PRINTER, "a fine note", ""), ("no-such-article", "my careful note on step two", "and a question")]
    response = send(trainer, "/trainer/paths/new", path_form("Typo in step two", steps))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    second = step_block(html, 2)
    assert "Step 2: the article &#39;no-such-article&#39; does not exist" in second
    assert 'value="no-such-article"' in second and "my careful note on step two" in second
    assert 'value="and a question"' in second
    assert "does not exist" not in step_block(html, 1)
    assert 'href="#step-2-article"' in html, "the summary links to the field"
    assert 'value="Typo in step two"' in html


def test_a_stale_save_is_a_409_that_keeps_the_text_and_shows_the_other_change(starter_app):
    alice, bob = client_for(starter_app, "trainer"), client_for(starter_app, "admin")
    path_id = make_path(alice)
    edit = f"/trainer/paths/{path_id}/edit"
    assert 'name="version" value="1"' in bob.get(edit).get_data(as_text=True)

    alices = [(PRINTER, "Alice rewrote this note.", ""), (VPN, "Watch for the clock check.", "")]
    assert send(alice, edit, path_form("Printers, then VPN", alices, version="1")).status_code == 303

    bobs = [(PRINTER, "Bob's own careful note.", ""), (VPN, "Bob's second note.", "")]
    response = send(bob, edit, path_form("Bob's title", bobs, version="1"))
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "saved this path while you were editing it" in html and "trainer-user" in html
    assert "Bob&#39;s own careful note." in html and 'value="Bob&#39;s title"' in html
    assert re.search(r"<ins>[^<]*Alice", html), "what Alice changed is shown"
    assert 'name="version" value="2"' in html, "saving again is a deliberate choice"
    assert saved_slugs(starter_app, path_id) == [PRINTER, VPN]
    with starter_app.app_context():
        assert learning.get_path(get_session(), path_id).steps[0].note == "Alice rewrote this note."


def test_teams_assignments_reading_answers_and_feedback(starter_app):
    trainer, agent = client_for(starter_app, "trainer"), client_for(starter_app, "agent")
    add_user(starter_app, "nina", "agent")
    made = send(trainer, "/trainer/teams", {"name": "Night shift", "members": "agent-user"})
    assert made.status_code == 303
    team_page = made.headers["Location"]
    assert send(trainer, f"{team_page}/members", {"username": "nina"}).status_code == 303
    html = trainer.get(team_page).get_data(as_text=True)
    assert "agent-user" in html and "nina" in html
    refused = send(trainer, f"{team_page}/members", {"username": "nobody-here"})
    assert refused.status_code == 400 and "nobody-here" in refused.get_data(as_text=True)

    path_id = make_path(trainer)
    assigned = send(trainer, f"/trainer/paths/{path_id}/assign", {"teams": "Night shift", "due": "2030-01-31"})
    assert assigned.status_code == 303
    overview = trainer.get(f"/trainer/paths/{path_id}").get_data(as_text=True)
    assert "Night shift" in overview and "2030-01-31" in overview

    mine = agent.get("/learning").get_data(as_text=True)
    assert "Printers, then VPN" in mine and "0/2" in mine and "2030-01-31" in mine
    assert f"/learning/paths/{path_id}/steps/1" in mine

    step = agent.get(f"/learning/paths/{path_id}/steps/1").get_data(as_text=True)
    note = step.index("Notice how the spooler, not the printer, is usually at fault.")
    assert note < step.index('class="prose"'), "the trainer's note comes before the article"
    read = send(agent, f"/learning/paths/{path_id}/steps/1/read", {})
    assert read.status_code == 303 and read.headers["Location"].endswith(f"/learning/paths/{path_id}/steps/2")

    second = agent.get(f"/learning/paths/{path_id}/steps/2").get_data(as_text=True)
    assert "What would you ask the customer first?" in second and 'name="answer"' in second
    answer = "Whether the clock on the laptop is right."
    read = send(agent, f"/learning/paths/{path_id}/steps/2/read", {"answer": answer})
    assert read.headers["Location"].endswith(f"/learning/paths/{path_id}")
    assert "2/2" in agent.get("/learning").get_data(as_text=True)

    overview = trainer.get(f"/trainer/paths/{path_id}").get_data(as_text=True)
    assert answer in overview
    reply = "Good: and what if it is right?"
    sent = send(
        trainer, f"/trainer/paths/{path_id}/feedback", {"username": "agent-user", "step": "2", "feedback": reply}
    )
    assert sent.status_code == 303
    assert "what if it is right?" in agent.get(f"/learning/paths/{path_id}/steps/2").get_data(as_text=True)

    rows = list(csv.reader(io.StringIO(trainer.get(f"/trainer/paths/{path_id}/progress.csv").get_data(as_text=True))))
    assert rows[0][:8] == ["username", "status", "done", "total", "reread", "overdue", "due", "seconds"]
    assert rows[0][8:] == [
        f"step {n} {what}: {slug}" for n, slug in ((1, PRINTER), (2, VPN)) for what in ("status", "seconds")
    ]
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["agent-user"][1:4] == ["done", "2", "2"] and by_name["agent-user"][8::2] == ["read", "read"]
    assert by_name["nina"][1:3] == ["not_started", "0"] and by_name["nina"][6] == "2030-01-31"


def test_the_completion_chart_is_inline_svg_with_its_figures_and_no_outside_address(starter_app):
    trainer, agent = client_for(starter_app, "trainer"), client_for(starter_app, "agent")
    path_id = make_path(trainer)
    send(trainer, f"/trainer/paths/{path_id}/assign", {"users": "agent-user, trainer-user"})
    for number in (1, 2):
        agent.get(f"/learning/paths/{path_id}/steps/{number}")
        send(agent, f"/learning/paths/{path_id}/steps/{number}/read", {"answer": "x"})
    html = trainer.get(f"/trainer/paths/{path_id}").get_data(as_text=True)
    svg = re.search(r"<svg .*?</svg>", html, re.S).group(0)
    assert 'role="img"' in svg and 'aria-label="Assignees done over time. 1 of 2 assignees done' in svg
    assert "<title>" in svg and "Assignees done" in svg
    assert not re.search(r"https?:|//|href=|src=", svg), "a chart loads nothing from anywhere"
    figures = html[html.index("The chart's figures") :]
    assert re.search(r'<td class="num">1</td>', figures), "the same figures as a table"


def test_a_new_published_revision_shows_updated_since_you_read_it_with_the_changes(starter_app):
    trainer, agent = client_for(starter_app, "trainer"), client_for(starter_app, "agent")
    path_id = make_path(trainer)
    send(trainer, f"/trainer/paths/{path_id}/assign", {"users": "agent-user"})
    agent.get(f"/learning/paths/{path_id}/steps/1")
    send(agent, f"/learning/paths/{path_id}/steps/1/read", {})
    assert "Updated since you read it" not in agent.get(f"/learning/paths/{path_id}/steps/1").get_data(as_text=True)

    with starter_app.app_context():
        session = get_session()
        article = store.find_by_slug(session, PRINTER)
        changed = replace(store.ArticleFields.of(article), body=article.body + "\n\nCheck the zebrafish cable too.\n")
        store.update_article(session, article, changed, user=None, based_on=article.version)
        session.commit()

    html = agent.get(f"/learning/paths/{path_id}/steps/1").get_data(as_text=True)
    assert "Updated since you read it" in html
    assert re.search(r"<ins>[^<]*zebrafish", html)
    assert "updated since read" in agent.get(f"/learning/paths/{path_id}").get_data(as_text=True)
    assert "1 to re-read" in agent.get("/learning").get_data(as_text=True)


def test_a_step_whose_article_was_archived_still_reads_and_saves(starter_app):
    trainer, agent = client_for(starter_app, "trainer"), client_for(starter_app, "agent")
    path_id = make_path(trainer)
    add_user(starter_app, "archivist", "admin")
    with starter_app.app_context():
        session = get_session()
        article = store.find_by_slug(session, PRINTER)
        lifecycle.move(
            session, article, Status.ARCHIVED, user=find_user(session, "archivist"), based_on=article.version
        )
        session.commit()
    step = agent.get(f"/learning/paths/{path_id}/steps/1")
    assert step.status_code == 200
    html = step.get_data(as_text=True)
    assert "archived" in html and "spooler" in html and 'class="prose"' in html
    assert "archived" in trainer.get(f"/trainer/paths/{path_id}").get_data(as_text=True)
    steps = [(PRINTER, "Still worth reading.", ""), (VPN, "Watch for the clock check.", "")]
    saved = send(trainer, f"/trainer/paths/{path_id}/edit", path_form("Kept", steps, version="1"))
    assert saved.status_code == 303, "an archived article the path already has may stay"


def test_who_may_do_what(starter_app):
    trainer, agent, admin = (client_for(starter_app, role) for role in ("trainer", "agent", "admin"))
    path_id = make_path(trainer)
    for url in ("/trainer/paths", "/trainer/paths/new", f"/trainer/paths/{path_id}", "/trainer/teams"):
        assert agent.get(url).status_code == 403, url
    assert send(agent, f"/trainer/paths/{path_id}/assign", {"users": "agent-user"}).status_code == 403

    onboarding = f"/trainer/paths/{path_id}/onboarding"
    assert 'name="role"' not in trainer.get(f"/trainer/paths/{path_id}").get_data(as_text=True)
    assert send(trainer, onboarding, {"role": "agent"}).status_code == 403
    assert 'id="onboarding-role"' in admin.get(f"/trainer/paths/{path_id}").get_data(as_text=True)
    assert send(admin, onboarding, {"role": "agent"}).status_code == 303
    with starter_app.app_context():
        assert learning.get_path(get_session(), path_id).onboarding_role.value == "agent"

    header = agent.get("/learning").get_data(as_text=True)
    assert ">My learning</a>" in header and ">Training</a>" not in header
    assert ">Training</a>" in trainer.get("/learning").get_data(as_text=True)


def test_readers_get_404_for_a_retired_path_and_a_step_past_the_end(starter_app):
    trainer, agent = client_for(starter_app, "trainer"), client_for(starter_app, "agent")
    path_id = make_path(trainer)
    assert agent.get(f"/learning/paths/{path_id}/steps/2").status_code == 200
    assert agent.get(f"/learning/paths/{path_id}/steps/3").status_code == 404
    assert send(agent, f"/learning/paths/{path_id}/steps/3/read", {}).status_code == 404
    assert send(trainer, f"/trainer/paths/{path_id}/retire", {}).status_code == 303
    assert agent.get(f"/learning/paths/{path_id}").status_code == 404
    assert agent.get(f"/learning/paths/{path_id}/steps/1").status_code == 404
    retired = trainer.get("/trainer/paths?retired=1").get_data(as_text=True)
    assert "Printers, then VPN" in retired
    assert send(trainer, f"/trainer/paths/{path_id}/reinstate", {}).status_code == 303
    assert agent.get(f"/learning/paths/{path_id}").status_code == 200

    copy = send(trainer, f"/trainer/paths/{path_id}/duplicate", {})
    assert copy.status_code == 303 and copy.headers["Location"].endswith("/edit")
    assert "Copy of Printers, then VPN" in trainer.get(copy.headers["Location"]).get_data(as_text=True)


def test_a_trainer_follows_one_person_across_paths_from_the_team_page(starter_app):
    trainer, agent = client_for(starter_app, "trainer"), client_for(starter_app, "agent")
    path_id = make_path(trainer)
    send(trainer, "/trainer/teams", {"name": "Night shift", "members": "agent-user"})
    send(trainer, f"/trainer/paths/{path_id}/assign", {"teams": "Night shift"})
    agent.get(f"/learning/paths/{path_id}/steps/1")
    send(agent, f"/learning/paths/{path_id}/steps/1/read", {"answer": "Because the spooler stalls."})
    teams = trainer.get("/trainer/teams").get_data(as_text=True)
    team_url = re.search(r'href="(/trainer/teams/\d+)"', teams).group(1)
    assert "/trainer/people/agent-user" in trainer.get(team_url).get_data(as_text=True)
    page = trainer.get("/trainer/people/agent-user").get_data(as_text=True)
    assert "Printers, then VPN" in page and "1/2 read" in page and "Because the spooler stalls." in page
    assert trainer.get("/trainer/people/nobody-here").status_code == 404
    assert agent.get("/trainer/people/agent-user").status_code == 403


def list_row(trainer, title: str) -> list[str]:
    """The cells of a path's row in the trainer's list of paths."""
    html = trainer.get("/trainer/paths").get_data(as_text=True)
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", html, re.S) if f">{title}</a>" in r)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r'<td class="num">(.*?)</td>', row, re.S)]


def test_the_list_of_paths_counts_assignees_done_and_overdue_by_the_same_rule_as_the_path(starter_app):
    trainer, agent = client_for(starter_app, "trainer"), client_for(starter_app, "agent")
    add_user(starter_app, "late-lou", "agent")
    path_id = make_path(trainer, "Counted")
    send(trainer, f"/trainer/paths/{path_id}/assign", {"users": "agent-user late-lou", "due": "2020-01-31"})
    assert list_row(trainer, "Counted") == ["2", "2", "0", "2"]  # steps, assignees, done, overdue
    for number in (1, 2):
        agent.get(f"/learning/paths/{path_id}/steps/{number}")
        send(agent, f"/learning/paths/{path_id}/steps/{number}/read", {"answer": "x"})
    assert list_row(trainer, "Counted") == ["2", "2", "1", "1"]

    with starter_app.app_context():  # the first step's article is published again, changed
        session = get_session()
        article = store.find_by_slug(session, PRINTER)
        tags_only = replace(store.ArticleFields.of(article), tags=[*article.tags, "spooler"])
        store.update_article(session, article, tags_only, user=None, based_on=article.version)
        session.commit()
    assert list_row(trainer, "Counted") == ["2", "2", "1", "1"]  # a change of tags is not a change to re-read
    with starter_app.app_context():
        session = get_session()
        article = store.find_by_slug(session, PRINTER)
        changed = replace(store.ArticleFields.of(article), body=article.body + "\n\nA new check.\n")
        store.update_article(session, article, changed, user=None, based_on=article.version)
        session.commit()
    assert list_row(trainer, "Counted") == ["2", "2", "0", "2"]
    overview = trainer.get(f"/trainer/paths/{path_id}").get_data(as_text=True)
    assert "updated since read" in overview
