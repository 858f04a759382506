"""Privacy and retention: searches and call records are kept for a configured number of days,
then `kb prune` (and every serving process, once a day) deletes them; customer data never gets in."""

from __future__ import annotations

import time
from datetime import timedelta

from conftest import add_user, make_app, token_client
from sqlalchemy import func, select

from kb.db import get_session, utcnow
from kb.loop import gaps
from kb.models import Call, Gap, SearchLog
from kb.search.query import Vocabulary


def _counts(app) -> tuple[int, int, int]:
    with app.app_context():
        session = get_session()
        return tuple(session.scalar(select(func.count()).select_from(t)) for t in (SearchLog, Call, Gap))


def _age(app, days: int, table, **where) -> None:
    """Make the matching rows `days` old (as if written then): test setup of the past."""
    with app.app_context():
        session = get_session()
        for row in session.scalars(select(table).filter_by(**where)):
            row.created_at = utcnow() - timedelta(days=days)
        session.commit()


def _history(app, *, aged: bool = True) -> None:
    """Two calls and two searches through the API, one of each then made old enough to expire."""
    agent = token_client(app, "sam", "agent")
    for words in ("scanner jams at page two", "scanner streaks on every copy"):
        answer = agent.post("/api/v1/calls", json={"article": None, "outcome": "no_article", "words": words})
        assert answer.status_code == 201, answer.get_json()
    with app.app_context():
        session = get_session()
        for query in ("plotter smudges", "plotter ink"):
            gap = gaps.gap_for(session, query, Vocabulary())
            session.add(SearchLog(query=query, role="agent", source="ui", results=0, gap_id=gap.id))
        session.commit()
    if aged:
        _expire(app)


def _expire(app) -> None:
    _age(app, 400, Call, words="scanner jams at page two")
    _age(app, 200, SearchLog, query="plotter smudges")


def test_kb_prune_deletes_what_is_past_its_retention_and_keeps_the_rest(app, runner):
    _history(app)
    assert _counts(app) == (2, 2, 4)
    _age(app, 3, Gap)  # past the grace a brand-new gap gets
    result = runner.invoke(args=["prune"])
    assert result.exit_code == 0, result.output
    assert "Keeping searches 180 days and call records 365 days." in result.output
    assert "Pruned 1 searches, 1 call records and 2 unused gaps." in result.output
    assert _counts(app) == (1, 1, 2)
    with app.app_context():
        session = get_session()
        assert session.scalars(select(Call.words)).all() == ["scanner streaks on every copy"]
        assert session.scalars(select(SearchLog.query)).all() == ["plotter ink"]
    again = runner.invoke(args=["prune", "--search-days", "1", "--call-days", "1"])
    assert "Pruned 0 searches, 0 call records and 0 unused gaps." in again.output


def test_a_gap_an_author_acted_on_outlives_its_records(app, runner):
    _history(app, aged=False)
    author = token_client(app, "writer", "author")
    open_gaps = author.get("/api/v1/gaps").get_json()["gaps"]
    jams = next(g for g in open_gaps if "jams" in g["label"])
    assert (
        author.post(f"/api/v1/gaps/{jams['id']}/dismiss", json={"reason": "The scanner is not ours"}).status_code == 200
    )
    _expire(app)
    _age(app, 3, Gap)
    runner.invoke(args=["prune", "--search-days", "1", "--call-days", "1"])
    dismissed = author.get("/api/v1/gaps", query_string={"state": "dismissed"}).get_json()["gaps"]
    with app.app_context():
        kept = get_session().get(Gap, jams["id"])
        assert kept is not None and kept.reason == "The scanner is not ours"
    assert [(g["id"], g["count"], g["state"]) for g in dismissed] == [(jams["id"], 0, "dismissed")]


def test_customer_data_is_blanked_in_the_words_kept(app):
    agent = token_client(app, "sam", "agent")
    said = "printer offline, call me on +44 20 7946 0958 or jo@example.com"
    answer = agent.post(
        "/api/v1/calls", json={"article": None, "outcome": "no_article", "words": said, "case": "INC-42"}
    )
    assert answer.status_code == 201
    with app.app_context():
        call = get_session().scalars(select(Call)).one()
        assert call.words == "printer offline, call me on [number] or [email]"
        assert call.case_ref == "INC-42"


def test_a_serving_process_prunes_by_itself(tmp_path):
    app = make_app(tmp_path, PRUNE_INTERVAL_SECONDS=0.5, SEARCH_RETENTION_DAYS=30)
    add_user(app, "sam", "agent")
    with app.app_context():
        session = get_session()
        session.add(SearchLog(query="old search", role="agent", source="ui", results=3))
        session.commit()
    _age(app, 31, SearchLog)
    deadline = time.monotonic() + 10
    while _counts(app)[0] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _counts(app)[0] == 0


def test_the_dashboard_reuses_a_ranges_figures_for_a_while_then_counts_again(tmp_path):
    app = make_app(tmp_path, serving=False, INSIGHTS_CACHE_SECONDS=60)
    clock = [1000.0]
    app.extensions["kb.insights"].now = lambda: clock[0]  # the dashboard's clock, moved by hand
    author, agent = token_client(app, "wen", "author"), token_client(app, "sam", "agent")

    def calls() -> int:
        return author.get("/api/v1/insights").get_json()["calls"]

    assert calls() == 0
    assert (
        agent.post("/api/v1/calls", json={"article": None, "outcome": "no_article", "words": "fax"}).status_code == 201
    )
    clock[0] += 59
    assert calls() == 0  # the same range within the minute: the figures computed before
    clock[0] += 2
    assert calls() == 1
