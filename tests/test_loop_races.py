"""Agents and authors working the knowledge loop at the same moment, on two machines sharing one
database, each machine with two worker processes: no lost update, no duplicate, no 500."""

from __future__ import annotations

import databases
from kbserver import KbServer, admin_token, all_at_once, call, token_for

PASSWORD = "loop-races-pw"
AT_ONCE = 8
SLUG = "printer-shows-offline"


def test_calls_gaps_and_root_fixes_racing_on_two_machines_lose_nothing(tmp_path):
    env = {"KB_ADMIN_PASSWORD": PASSWORD, "KB_DATABASE_URL": databases.database_url(tmp_path / "shared")}
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
    serve = ["--workers", "2", "--threads", "4"]
    with KbServer(tmp_path / "one", env, args=serve) as one, KbServer(tmp_path / "two", env, args=serve) as two:
        admin = admin_token(tmp_path / "one", env)
        for username, role in (("ana", "agent"), ("bo", "agent"), ("wen", "author"), ("kai", "author")):
            assert call(one.url, admin, "users", {"username": username, "role": role, "password": PASSWORD})[0] == 201
        ana, bo = token_for(tmp_path / "one", env, "ana"), token_for(tmp_path / "two", env, "bo")
        wen, kai = token_for(tmp_path / "one", env, "wen"), token_for(tmp_path / "two", env, "kai")
        agents = [(one.url, ana), (two.url, bo)] * (AT_ONCE // 2)
        authors = [(one.url, wen), (two.url, kai)] * (AT_ONCE // 2)

        # The same new words from 8 calls at once: 8 records, one gap (its wording seen first 8 times).
        said = {"article": None, "outcome": "no_article", "words": "label maker prints blank strips"}
        recorded = all_at_once([(b, t, "calls", said) for b, t in agents])
        assert [s for s, _ in recorded] == [201] * AT_ONCE, recorded
        [gap] = [g for g in call(one.url, wen, "gaps")[1]["gaps"] if "label maker" in g["label"]]
        assert gap["count"] == AT_ONCE and gap["sources"]["no_article"] == AT_ONCE

        # 8 authors turn that gap into a draft at once: one draft, seven told someone was first.
        drafts = all_at_once([(b, t, f"gaps/{gap['id']}/draft", {}) for b, t in authors])
        assert sorted(s for s, _ in drafts) == [201] + [409] * (AT_ONCE - 1), drafts
        made = [body["article"]["slug"] for s, body in drafts if s == 201]
        listing = call(two.url, kai, "articles?status=draft")[1]["articles"]
        assert [a["slug"] for a in listing if a["slug"].startswith("label-maker")] == made

        # 8 root-fix saves based on the same version: one wins, the others are told.
        first = call(one.url, wen, f"articles/{SLUG}/root-fix", {"fix": "Ship the driver", "status": "proposed"}, "PUT")
        assert first[0] == 200, first
        version = first[1]["version"]
        saves = all_at_once(
            [
                (
                    b,
                    t,
                    f"articles/{SLUG}/root-fix",
                    {"fix": f"fix {n}", "status": "accepted", "version": version},
                    "PUT",
                )
                for n, (b, t) in enumerate(authors)
            ]
        )
        assert sorted(s for s, _ in saves) == [200] + [409] * (AT_ONCE - 1), saves
        winner = next(body["fix"] for s, body in saves if s == 200)
        assert call(two.url, kai, f"articles/{SLUG}/root-fix")[1]["fix"] == winner

        # Calls on one article from both machines: every one counted.
        calls = all_at_once([(b, t, "calls", {"article": SLUG, "outcome": "solved"}) for b, t in agents])
        assert [s for s, _ in calls] == [201] * AT_ONCE, calls
        used = call(one.url, ana, f"articles/{SLUG}")[1]["calls"]
        assert used["calls_30d"] == AT_ONCE
