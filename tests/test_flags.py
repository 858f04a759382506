"""Flag it or fix it: agents flag what is wrong, authors resolve it with the fixing revision or a
reason, and the agent sees the outcome."""

from __future__ import annotations

import threading

from conftest import client_for, token_client

SLUG = "printer-shows-offline"


def test_an_agent_flags_an_author_fixes_and_the_agent_sees_the_outcome(starter_app):
    agent, author = token_client(starter_app, "sam", "agent"), token_client(starter_app, "writer", "author")
    flagged = agent.post(
        f"/api/v1/articles/{SLUG}/flags", json={"reason": "outdated", "comment": "Port 9100 is blocked now; use IPP."}
    )
    assert flagged.status_code == 201
    flag = flagged.get_json()["flag"]
    assert flag["state"] == "open" and flag["raised_by"] == "sam" and flag["article"] == SLUG

    queue = author.get("/api/v1/flags", query_string={"state": "open"}).get_json()["flags"]
    assert [f["id"] for f in queue] == [flag["id"]]
    current = author.get(f"/api/v1/articles/{SLUG}").get_json()
    fixed = author.put(
        f"/api/v1/articles/{SLUG}",
        json={"body": current["markdown"] + "\nUse IPP on port 631.\n", "version": current["version"]},
    ).get_json()["article"]
    resolved = author.post(f"/api/v1/flags/{flag['id']}/resolve", json={"revision": fixed["version"]})
    assert resolved.status_code == 200
    assert resolved.get_json()["flag"]["revision"] == fixed["version"]
    assert author.get("/api/v1/flags").get_json()["flags"] == []

    mine = agent.get("/api/v1/flags", query_string={"mine": "1", "state": "all"}).get_json()["flags"]
    assert [(f["state"], f["revision"], f["resolved_by"]) for f in mine] == [("resolved", fixed["version"], "writer")]
    page = client_for(starter_app, "agent").get("/flags").get_data(as_text=True)
    assert "You have not flagged" in page  # a different agent: sam's flags are sam's


def test_flags_are_checked_and_resolved_once(starter_app):
    agent, author = token_client(starter_app, "sam", "agent"), token_client(starter_app, "writer", "author")
    for bad in ("bad", {}, ["wrong"], None, 3):
        assert agent.post(f"/api/v1/articles/{SLUG}/flags", json={"reason": bad}).get_json()["field"] == "reason", bad
    assert (
        agent.post(f"/api/v1/articles/{SLUG}/flags", json={"reason": "wrong", "comment": "x" * 2001}).status_code == 400
    )
    assert agent.post("/api/v1/articles/no-such/flags", json={"reason": "wrong"}).status_code == 404
    flag = agent.post(f"/api/v1/articles/{SLUG}/flags", json={"reason": "unclear"}).get_json()["flag"]
    assert agent.post(f"/api/v1/flags/{flag['id']}/resolve", json={"reason": "fine"}).status_code == 403
    assert agent.get("/api/v1/flags").get_json()["flags"][0]["id"] == flag["id"]  # an agent lists only its own
    assert author.post(f"/api/v1/flags/{flag['id']}/resolve", json={}).get_json()["field"] == "revision"
    assert author.post(f"/api/v1/flags/{flag['id']}/resolve", json={"revision": 99}).status_code == 400
    assert author.post("/api/v1/flags/99999/resolve", json={"reason": "x"}).status_code == 404

    first, second = token_client(starter_app, "a1", "author"), token_client(starter_app, "a2", "author")
    start, answers = threading.Barrier(2), []

    def resolve(client):
        start.wait()
        answers.append(client.post(f"/api/v1/flags/{flag['id']}/resolve", json={"reason": "It reads fine"}).status_code)

    threads = [threading.Thread(target=resolve, args=(c,)) for c in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200, 409]


def test_not_helpful_leads_to_the_flag_form_and_authors_see_and_resolve_flags_on_the_article(starter_app):
    agent = client_for(starter_app, "agent")
    voted = agent.submit(f"/articles/{SLUG}/helpful", {"helpful": "no"}, token_page=f"/articles/{SLUG}")
    assert voted.status_code == 302 and "flag=1" in voted.headers["Location"]
    form = agent.get(voted.headers["Location"]).get_data(as_text=True)
    assert '<details id="flag" class="flag" open>' in form
    sent = agent.submit(
        f"/articles/{SLUG}/flags",
        {"reason": "missing", "comment": "Nothing about Macs"},
        token_page=f"/articles/{SLUG}",
    )
    assert sent.status_code == 303
    assert "Nothing about Macs" in agent.get("/flags").get_data(as_text=True)
    assert "Open flags" not in agent.get(f"/articles/{SLUG}").get_data(as_text=True)  # authors only

    author = client_for(starter_app, "author")
    page = author.get(f"/articles/{SLUG}").get_data(as_text=True)
    assert "Open flags (1)" in page and "Nothing about Macs" in page
    assert "Nothing about Macs" in author.get("/author/flags").get_data(as_text=True)
    flag_id = token_client(starter_app, "w", "author").get("/api/v1/flags").get_json()["flags"][0]["id"]
    done = author.submit(
        f"/author/flags/{flag_id}/resolve",
        {"reason": "Macs are covered in another article"},
        token_page=f"/articles/{SLUG}",
    )
    assert done.status_code == 303
    assert "Macs are covered in another article" in agent.get("/flags").get_data(as_text=True)
