"""The knowledge loop through the JSON API: calls linked to articles, the gap queue (draft, attach,
dismiss, reopening), root fixes and the recurring-problems board, the insights figures and CSV.

Every test goes through the Flask test client against a real database holding the starter
articles; the figures asserted are computed by hand from the data the test made.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from conftest import indexed, token_client
from sqlalchemy import select

from kb import background
from kb.db import get_session, utcnow
from kb.models import Article, Call, Gap, Outcome, RootFix, SearchLog

PRINTER, VPN = "printer-shows-offline", "vpn-will-not-connect"


@pytest.fixture
def agent(starter_app):
    return token_client(starter_app, "alex", "agent")


@pytest.fixture
def author(starter_app):
    return token_client(starter_app, "wen", "author")


def call(client, article, outcome, words="", case="") -> dict:
    answer = client.post("/api/v1/calls", json={"article": article, "outcome": outcome, "words": words, "case": case})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def search(app, client, query: str, sid: str | None = None) -> int:
    """Search as an agent's tool does, and write the search log at once; the number of results."""
    answer = client.get("/api/v1/search", query_string={"q": query, **({"sid": sid} if sid else {})})
    assert answer.status_code == 200, answer.get_json()
    background.flush_search_log(app)
    return answer.get_json()["total"]


def open_gaps(author, state: str = "open") -> list[dict]:
    answer = author.get("/api/v1/gaps", query_string={"state": state})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["gaps"]


def gap_of(author, words: str, state: str = "open") -> dict:
    return next(g for g in open_gaps(author, state) if words in g["examples"])


def insights(author, **params):
    today = utcnow().date()  # a range around today: a test running across midnight still counts
    span = {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}
    return author.get("/api/v1/insights", query_string={**span, **params})


# --- calls ---------------------------------------------------------------------------------------


def test_calls_of_each_outcome_show_in_the_insights_figures(starter_app, agent, author):
    first = call(agent, PRINTER, "solved", case="INC-1")
    assert first["article"] == PRINTER and first["outcome"] == "solved" and first["case"] == "INC-1"
    assert set(first) >= {"id", "article", "outcome", "case", "words", "created_at"}
    call(agent, PRINTER, "solved")
    call(agent, PRINTER, "not_solved", words="still offline after the restart")
    call(agent, VPN, "partly")
    lost = call(agent, None, "no_article", words="zorbulator hums at night, mail jo@example.com")
    assert lost["article"] is None and lost["words"] == "zorbulator hums at night, mail [email]"
    assert search(starter_app, agent, "printer offline") > 0
    assert search(starter_app, agent, "vpn") > 0
    assert search(starter_app, agent, "quibbletron flux") == 0
    assert search(starter_app, agent, "outlook password") > 0

    figures = insights(author).get_json()
    assert (figures["searches"], figures["zero_result_searches"], figures["zero_result_rate"]) == (4, 1, 0.25)
    assert figures["calls"] == 5 and figures["link_rate"] == 0.8
    assert figures["outcomes"] == {"solved": 2, "partly": 1, "not_solved": 1, "no_article": 1}
    assert figures["most_used"][0] == {
        "slug": PRINTER,
        "title": figures["most_used"][0]["title"],
        "calls": 3,
        "solved": 2,
        "not_solved": 1,
    }
    assert figures["most_used"][1]["slug"] == VPN and figures["most_used"][1]["calls"] == 1
    for key in ("top_queries", "top_gaps", "helpful", "not_helpful", "overdue", "review_backlog"):
        assert key in figures


def test_an_article_shows_its_use_on_calls_and_its_root_fix(agent):
    call(agent, PRINTER, "solved")
    call(agent, PRINTER, "not_solved")
    shown = agent.get(f"/api/v1/articles/{PRINTER}").get_json()
    assert (shown["calls"]["calls_30d"], shown["calls"]["not_solved_30d"]) == (2, 1)
    assert shown["calls"]["last_used"] is not None and shown["root_fix"] is None
    unused = agent.get(f"/api/v1/articles/{VPN}").get_json()
    assert unused["calls"] == {"last_used": None, "calls_30d": 0, "not_solved_30d": 0}


@pytest.mark.parametrize(
    "body, field",
    [
        ({"article": PRINTER, "outcome": "fixed"}, "outcome"),
        ({"article": PRINTER}, "outcome"),
        ({"article": "no-such-article", "outcome": "solved"}, "article"),
        ({"article": PRINTER, "outcome": "no_article", "words": "printer offline"}, "article"),
        ({"article": None, "outcome": "solved"}, "article"),
        ({"article": None, "outcome": "no_article"}, "words"),
        ({"article": None, "outcome": "no_article", "words": ["printer"]}, "words"),
        ({"article": 12, "outcome": "solved"}, "article"),
        ({"article": PRINTER, "outcome": "solved", "case": "x" * 121}, "case"),
    ],
)
def test_a_call_that_cannot_be_recorded_is_a_400_naming_the_field(agent, body, field):
    answer = agent.post("/api/v1/calls", json=body)
    assert answer.status_code == 400, answer.get_json()
    assert (answer.get_json()["error"], answer.get_json()["field"]) == ("invalid", field)


def test_agents_cannot_record_calls_on_drafts_and_renamed_slugs_are_followed(agent, author):
    draft = author.post("/api/v1/articles", json={"title": "Zorbulator basics", "body": "## What is going on\n"})
    assert draft.status_code == 201, draft.get_json()
    refused = agent.post("/api/v1/calls", json={"article": "zorbulator-basics", "outcome": "solved"})
    assert refused.status_code == 400 and refused.get_json()["field"] == "article"
    version = author.get(f"/api/v1/articles/{VPN}").get_json()["version"]
    moved = author.put(f"/api/v1/articles/{VPN}", json={"slug": "vpn-wont-connect", "version": version})
    assert moved.status_code == 200, moved.get_json()
    assert call(agent, VPN, "solved")["article"] == "vpn-wont-connect"


def test_a_not_helpful_vote_with_a_comment_becomes_a_gap(agent, author):
    vote = agent.post(f"/api/v1/articles/{PRINTER}/feedback", json={"helpful": False, "comment": "zorbulator sleep"})
    assert vote.status_code == 200 and vote.get_json() == {"slug": PRINTER, "helpful": False}
    gap = gap_of(author, "zorbulator sleep")
    assert gap["sources"]["not_helpful"] == 1 and gap["count"] == 1
    wrong = agent.post(f"/api/v1/articles/{PRINTER}/feedback", json={"helpful": False, "comment": 3})
    assert wrong.status_code == 400 and wrong.get_json()["field"] == "comment"


# --- gaps ----------------------------------------------------------------------------------------


def test_zero_result_searches_are_grouped_by_wording_and_ranked(starter_app, agent, author):
    for query in ("zorbulator wobbles", "quibbletron humming", "zorbulator is wobbling"):
        assert search(starter_app, agent, query) == 0
    listed = open_gaps(author)
    zorbulator, quibbletron = listed[0], listed[1]
    assert zorbulator["count"] == 2 and set(zorbulator["examples"]) == {"zorbulator wobbles", "zorbulator is wobbling"}
    assert zorbulator["sources"] == {
        "zero_result": 2,
        "no_click": 0,
        "not_solved": 0,
        "no_article": 0,
        "not_helpful": 0,
    }
    assert (zorbulator["state"], zorbulator["reopened"], zorbulator["article"]) == ("open", False, None)
    assert quibbletron["count"] == 1 and quibbletron["examples"] == ["quibbletron humming"]
    assert author.get("/api/v1/gaps", query_string={"state": "stale"}).get_json()["field"] == "state"
    assert author.get("/api/v1/gaps", query_string={"limit": "1"}).get_json()["gaps"] == [zorbulator]


def test_a_gap_becomes_a_draft_with_the_customers_words_once(agent, author):
    call(agent, None, "no_article", words="label printer prints blank labels")
    call(agent, None, "no_article", words="label printer prints blank labels")
    gap = gap_of(author, "label printer prints blank labels")
    made = author.post(f"/api/v1/gaps/{gap['id']}/draft")
    assert made.status_code == 201, made.get_json()
    draft, closed = made.get_json()["article"], made.get_json()["gap"]
    assert draft["status"] == "draft"
    body = draft["markdown"]
    notices = body.index("## What the customer notices")
    quoted = body.index('- "label printer prints blank labels"')
    following = body.find("\n## ", notices + 1)
    assert notices < quoted and (following == -1 or quoted < following)
    assert (closed["state"], closed["action"], closed["article"], closed["closed_by"]) == (
        "closed",
        "draft",
        draft["slug"],
        "wen",
    )
    again = author.post(f"/api/v1/gaps/{gap['id']}/draft")
    assert again.status_code == 409 and again.get_json()["field"] == "gap"
    assert "wen" in again.get_json()["message"]
    assert author.post("/api/v1/gaps/999999/draft").status_code == 404


def test_attaching_a_gap_adds_its_words_to_the_article_as_a_new_revision(agent, author):
    call(agent, None, "no_article", words="printer blinks orange at night")
    gap = gap_of(author, "printer blinks orange at night")
    before = author.get(f"/api/v1/articles/{PRINTER}").get_json()
    unknown = author.post(f"/api/v1/gaps/{gap['id']}/attach", json={"article": "no-such-article"})
    assert unknown.status_code == 400 and unknown.get_json()["field"] == "article"
    assert author.post(f"/api/v1/gaps/{gap['id']}/attach", json={}).get_json()["field"] == "article"
    done = author.post(f"/api/v1/gaps/{gap['id']}/attach", json={"article": PRINTER})
    assert done.status_code == 200, done.get_json()
    article, closed = done.get_json()["article"], done.get_json()["gap"]
    assert article["version"] == before["version"] + 1
    assert '"printer blinks orange at night"' in article["markdown"]
    assert (closed["state"], closed["action"], closed["article"]) == ("closed", "attach", PRINTER)
    [latest, *_] = author.get(f"/api/v1/articles/{PRINTER}/revisions").get_json()["revisions"]
    assert latest["message"] == f"Customer words from knowledge gap #{gap['id']}"
    assert author.post(f"/api/v1/gaps/{gap['id']}/attach", json={"article": PRINTER}).status_code == 409
    assert author.post("/api/v1/gaps/999999/attach", json={"article": PRINTER}).status_code == 404


def test_dismissing_a_gap_needs_a_reason(agent, author):
    call(agent, None, "no_article", words="my cat walked on the keyboard")
    gap = gap_of(author, "my cat walked on the keyboard")
    for reason in ("", "   ", None):
        refused = author.post(f"/api/v1/gaps/{gap['id']}/dismiss", json={"reason": reason})
        assert refused.status_code == 400 and refused.get_json()["field"] == "reason"
    done = author.post(f"/api/v1/gaps/{gap['id']}/dismiss", json={"reason": "A one-off"})
    assert done.status_code == 200, done.get_json()
    assert (done.get_json()["gap"]["state"], done.get_json()["gap"]["reason"]) == ("dismissed", "A one-off")
    assert gap["id"] not in [g["id"] for g in open_gaps(author)]
    assert gap["id"] in [g["id"] for g in open_gaps(author, "dismissed")]


def _age(app, model, ids, minutes: int) -> None:
    """Move rows' times back: test setup of the past (the searches nobody clicked counted later)."""
    with app.app_context():
        session = get_session()
        for row in session.scalars(select(model).where(model.id.in_(ids))):
            if model is Gap:
                row.closed_at = utcnow() - timedelta(minutes=minutes)
            else:
                row.created_at = utcnow() - timedelta(minutes=minutes)
        session.commit()


def _search_ids(app, query: str) -> list[int]:
    with app.app_context():
        return list(get_session().scalars(select(SearchLog.id).where(SearchLog.query == query)))


def test_a_closed_gap_reopens_when_its_searches_keep_failing(starter_app, agent, author):
    for _ in range(2):
        assert search(starter_app, agent, "quibbletron jitters") == 0
    gap = gap_of(author, "quibbletron jitters")
    assert author.post(f"/api/v1/gaps/{gap['id']}/attach", json={"article": PRINTER}).status_code == 200
    earlier = set(_search_ids(starter_app, "quibbletron jitters"))
    _age(starter_app, SearchLog, earlier, minutes=60)  # searched an hour ago,
    _age(starter_app, Gap, [gap["id"]], minutes=30)  # closed half an hour ago
    indexed(starter_app)  # the searches now find the article: they fail when nobody opens it
    for n in range(3):
        search(starter_app, agent, "quibbletron jitters", sid=f"episode-{n:04d}")
        _age(starter_app, SearchLog, set(_search_ids(starter_app, "quibbletron jitters")) - earlier, minutes=10)
        if n == 1:  # two failures since it was closed: still closed
            closed = next(g for g in open_gaps(author, "closed") if g["id"] == gap["id"])
            assert (closed["state"], closed["reopened"], closed["since_closed"]) == ("closed", False, 2)
    reopened = next(g for g in open_gaps(author) if g["id"] == gap["id"])
    assert (reopened["state"], reopened["reopened"], reopened["since_closed"]) == ("open", True, 3)
    assert reopened["action"] == "attach" and reopened["article"] == PRINTER


# --- root fixes and recurring problems ---------------------------------------------------------


ROOT_FIX = {
    "cause": "product defect",
    "fix": "Firmware 2.1 keeps the printer on the network after sleep.",
    "owner": "Printer team",
    "status": "accepted",
    "link": "https://tracker.example.com/PRN-42",
}


def test_a_root_fix_is_recorded_fixed_then_resolved_and_its_history_kept(agent, author):
    blank = agent.get(f"/api/v1/articles/{PRINTER}/root-fix").get_json()
    assert (blank["version"], blank["status"], blank["cause"]) == (0, "proposed", "")
    assert agent.put(f"/api/v1/articles/{PRINTER}/root-fix", json=ROOT_FIX).status_code == 403
    saved = author.put(f"/api/v1/articles/{PRINTER}/root-fix", json={**ROOT_FIX, "version": 0})
    assert saved.status_code == 200, saved.get_json()
    assert {k: saved.get_json()[k] for k in ROOT_FIX} == ROOT_FIX and saved.get_json()["version"] == 1
    stale = author.put(f"/api/v1/articles/{PRINTER}/root-fix", json={**ROOT_FIX, "owner": "Me", "version": 0})
    assert stale.status_code == 409 and stale.get_json()["current_version"] == 1
    fixed = author.put(f"/api/v1/articles/{PRINTER}/root-fix", json={**ROOT_FIX, "status": "fixed", "version": 1})
    assert fixed.get_json()["fixed_at"] is not None and fixed.get_json()["resolved_at"] is None
    resolved = author.put(
        f"/api/v1/articles/{PRINTER}/root-fix", json={**ROOT_FIX, "status": "fixed", "resolved": True, "version": 2}
    )
    assert resolved.get_json()["resolved_at"] is not None and resolved.get_json()["version"] == 3
    assert agent.get(f"/api/v1/articles/{PRINTER}/root-fix").get_json() == resolved.get_json()
    assert agent.get(f"/api/v1/articles/{PRINTER}").get_json()["root_fix"] == resolved.get_json()
    history = author.get(f"/api/v1/articles/{PRINTER}/root-fix/history").get_json()["changes"]
    assert [c["root_fix"]["status"] for c in history] == ["fixed", "fixed", "accepted"]
    assert agent.get(f"/api/v1/articles/{PRINTER}/root-fix/history").status_code == 403


@pytest.mark.parametrize(
    "change, field",
    [
        ({"cause": "bad luck"}, "cause"),
        ({"status": "done"}, "status"),
        ({"link": "javascript:alert(1)"}, "link"),
        ({"resolved": True}, "resolved"),
        ({"resolved": "yes"}, "resolved"),
        ({"owner": ["a"]}, "owner"),
        ({"version": "one"}, "version"),
    ],
)
def test_a_bad_root_fix_is_a_400_naming_the_field(author, change, field):
    answer = author.put(f"/api/v1/articles/{PRINTER}/root-fix", json={**ROOT_FIX, **change})
    assert answer.status_code == 400 and answer.get_json()["field"] == field, answer.get_json()


def test_admins_edit_the_cause_categories_through_the_settings(starter_app, author):
    admin = token_client(starter_app, "ada", "admin")
    assert "product defect" in author.get("/api/v1/cause-categories").get_json()["causes"]
    changed = admin.put("/api/v1/settings/cause_categories", json={"value": ["supplier", "other"], "version": 0})
    assert changed.status_code == 200, changed.get_json()
    assert author.get("/api/v1/cause-categories").get_json() == {"causes": ["supplier", "other"]}
    assert admin.get("/api/v1/settings").get_json()["settings"]["cause_categories"]["value"] == ["supplier", "other"]
    answer = author.put(f"/api/v1/articles/{PRINTER}/root-fix", json={**ROOT_FIX, "cause": "supplier"})
    assert answer.status_code == 200
    assert author.put(f"/api/v1/articles/{PRINTER}/root-fix", json=ROOT_FIX).get_json()["field"] == "cause"


def _calls_at(app, slug: str, *ages_in_days: float) -> None:
    """Calls that used `slug`, made that many days ago: test setup of the past, written directly."""
    with app.app_context():
        session = get_session()
        article = session.scalar(select(Article).where(Article.slug == slug))
        now = utcnow()
        for age in ages_in_days:
            session.add(Call(article=article, outcome=Outcome.SOLVED, created_at=now - timedelta(days=age)))
        session.commit()


def test_the_recurring_board_shows_calls_per_week_before_and_after_the_fix(starter_app, author):
    # 16 calls before the fix (15.5 to 60.5 days ago, every 3 days) and 2 in the 14 days since.
    _calls_at(starter_app, PRINTER, *(15.5 + 3 * k for k in range(16)), 13, 6)
    _calls_at(starter_app, VPN, 2)
    author.put(f"/api/v1/articles/{PRINTER}/root-fix", json={**ROOT_FIX, "status": "fixed"})
    with starter_app.app_context():
        session = get_session()
        article_id = session.scalar(select(Article.id).where(Article.slug == PRINTER))
        session.get(RootFix, article_id).fixed_at = utcnow() - timedelta(days=14)  # fixed two weeks ago
        session.commit()
    board = author.get("/api/v1/insights/recurring").get_json()["articles"]
    printer, vpn = board
    assert (printer["slug"], vpn["slug"]) == (PRINTER, VPN)
    # By week from 8 weeks ago: the calls 54.5, 51.5, ... 15.5 days ago, then 13 and 6 days ago.
    assert printer["calls_per_week"] == [2, 3, 2, 2, 3, 2, 1, 1] and printer["trend"] == "falling"
    assert (printer["before"], printer["after"]) == (2.0, 1.0)  # 16 calls in 8 weeks; 2 in 2 weeks
    assert printer["root_fix"]["status"] == "fixed"
    assert (vpn["calls_per_week"][-1], vpn["root_fix"], vpn["before"], vpn["after"]) == (1, None, None, None)
    download = author.get("/api/v1/insights/recurring?format=csv")
    assert download.mimetype == "text/csv" and "attachment" in download.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    weekly = " ".join(rows[0][f"week_{n}"] for n in range(1, 9))
    assert (rows[0]["slug"], rows[0]["calls"], weekly) == (PRINTER, "16", "2 3 2 2 3 2 1 1")


# --- insights ------------------------------------------------------------------------------------


def test_each_insights_table_downloads_as_csv(agent, author):
    call(agent, PRINTER, "solved")
    call(agent, PRINTER, "not_solved")
    call(agent, None, "no_article", words="zorbulator hums")
    download = insights(author, format="csv", table="most_used")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    today = utcnow().date()
    name = f"insights-most_used-{today - timedelta(days=1)}-to-{today + timedelta(days=1)}.csv"
    assert download.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    [row] = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert (row["slug"], row["calls"], row["solved"], row["not_solved"]) == (PRINTER, "2", "1", "1")
    outcomes = insights(author, format="csv", table="outcomes").get_data(as_text=True)
    assert list(csv.reader(io.StringIO(outcomes))) == [
        ["outcome", "calls"],
        ["solved", "1"],
        ["partly", "0"],
        ["not_solved", "1"],
        ["no_article", "1"],
    ]
    empty = insights(author, format="csv", table="review_backlog").get_data(as_text=True)
    assert empty.splitlines()[0] == "slug,title,owner,review_by,updated_at"


@pytest.mark.parametrize(
    "params, field",
    [
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "from"),
        ({"format": "csv"}, "table"),
        ({"format": "csv", "table": "secrets"}, "table"),
        ({"format": "xml"}, "format"),
    ],
)
def test_bad_insights_requests_are_400s_naming_the_parameter(author, params, field):
    answer = author.get("/api/v1/insights", query_string=params)
    assert answer.status_code == 400 and answer.get_json()["field"] == field, answer.get_json()


def test_agents_may_record_calls_but_not_work_the_loop(starter_app, agent):
    for method, url in (
        ("get", "/api/v1/gaps"),
        ("post", "/api/v1/gaps/1/draft"),
        ("post", "/api/v1/gaps/1/dismiss"),
        ("get", "/api/v1/insights"),
        ("get", "/api/v1/insights/recurring"),
        ("put", f"/api/v1/articles/{PRINTER}/root-fix"),
    ):
        answer = agent.open(url, method=method.upper(), json={})
        assert answer.status_code == 403 and answer.get_json()["error"] == "forbidden", url
    assert agent.get("/api/v1/cause-categories").status_code == 200
    anonymous = starter_app.test_client()
    assert anonymous.post("/api/v1/calls", json={"article": None, "outcome": "no_article"}).status_code == 401
    assert anonymous.get("/api/v1/gaps").status_code == 401


def test_a_single_word_longer_than_a_gap_signature_is_recorded(agent, author):
    """A pasted hash or log line as the customer's words: its gap signature is cut, not looped over."""
    said = "0x" + "8004010f" * 40
    recorded = call(agent, None, "no_article", words=said)
    assert recorded["gap"] is not None and gap_of(author, said)["count"] == 1
