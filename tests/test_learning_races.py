"""Trainers and readers at the same moment, on two machines sharing one database, each machine
with two worker processes: no lost update, no duplicate row, no 500."""

from __future__ import annotations

import databases
from kbserver import KbServer, admin_token, all_at_once, call, token_for

PASSWORD = "learning-races-pw"
AT_ONCE = 8


def test_trainers_and_readers_racing_on_two_machines_lose_nothing_and_get_no_500(tmp_path):
    env = {"KB_ADMIN_PASSWORD": PASSWORD, "KB_DATABASE_URL": databases.database_url(tmp_path / "shared")}
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    serve = ["--workers", "2", "--threads", "4"]
    with KbServer(tmp_path / "one", env, args=serve) as one, KbServer(tmp_path / "two", env, args=serve) as two:
        admin = admin_token(tmp_path / "one", env)
        for username, role in (("tia", "trainer"), ("tom", "trainer"), ("ana", "agent")):
            assert call(one.url, admin, "users", {"username": username, "role": role, "password": PASSWORD})[0] == 201
        tia, tom = token_for(tmp_path / "one", env, "tia"), token_for(tmp_path / "two", env, "tom")
        ana = token_for(tmp_path / "one", env, "ana")
        bases = [(one.url, tia), (two.url, tom)] * (AT_ONCE // 2)

        path = call(one.url, tia, "paths")[1]["paths"][0]
        before = len(call(two.url, tom, f"paths/{path['id']}/revisions")[1]["revisions"])
        body = {"title": path["title"], "purpose": "Rewritten", "version": path["version"]}
        body["steps"] = [{"article": s["article"], "note": s["note"]} for s in path["steps"]]
        saves = all_at_once(
            [(b, t, f"paths/{path['id']}", body | {"purpose": f"by {n}"}, "PUT") for n, (b, t) in enumerate(bases)]
        )
        assert sorted(s for s, _ in saves) == [200] + [409] * (AT_ONCE - 1), saves
        revisions = call(two.url, tom, f"paths/{path['id']}/revisions")[1]["revisions"]
        assert len(revisions) == before + 1  # the one save that won

        teams = all_at_once([(b, t, "teams", {"name": "Tier 1", "members": []}) for b, t in bases])
        assert sorted(s for s, _ in teams) == [201] + [409] * (AT_ONCE - 1), teams
        team_id = next(body["id"] for s, body in teams if s == 201)
        joins = all_at_once([(b, t, f"teams/{team_id}/members", {"username": "ana"}) for b, t in bases])
        assert {s for s, _ in joins} == {200}, joins
        assert call(one.url, tia, f"teams/{team_id}")[1]["members"] == ["ana"]

        assigns = all_at_once(
            [(b, t, f"paths/{path['id']}/assign", {"teams": ["Tier 1"], "due": "2030-01-31"}) for b, t in bases]
        )
        assert {s for s, _ in assigns} == {200}, assigns
        rows = call(two.url, tom, f"paths/{path['id']}/assignments")[1]["assignments"]
        assert [(a["team"], a["due"]) for a in rows if a["team"]] == [("Tier 1", "2030-01-31")]

        readers = [(one.url, ana), (two.url, ana)] * (AT_ONCE // 2)
        call(one.url, ana, f"paths/{path['id']}/steps/1")
        reads = all_at_once(
            [(b, t, f"paths/{path['id']}/steps/1/read", {"answer": f"mine {n}"}) for n, (b, t) in enumerate(readers)]
        )
        assert {s for s, _ in reads} == {200}, reads
        [mine] = [p for p in call(two.url, ana, "me/paths")[1] if p["id"] == path["id"]]
        assert (mine["done_steps"], mine["due"]) == (1, "2030-01-31")
        [progress] = call(one.url, tia, f"paths/{path['id']}/progress")[1]["assignees"]
        assert progress["username"] == "ana" and progress["done"] == 1
        assert progress["seconds"][0] <= 30 * 60
