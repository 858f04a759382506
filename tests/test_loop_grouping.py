"""How the gap queue groups what customers said: by meaning to kb's search (stems, the authors'
synonyms, one-letter typos), not by exact text; and what feeds it besides searches."""

from __future__ import annotations

from conftest import token_client
from sqlalchemy import func, select

from kb.db import begin_write
from kb.loop import gaps
from kb.models import Gap
from kb.search.query import Vocabulary


def _no_article(agent, *words: str) -> None:
    for said in words:
        answer = agent.post("/api/v1/calls", json={"article": None, "outcome": "no_article", "words": said})
        assert answer.status_code == 201, answer.get_json()


def _gaps(author, state: str = "open") -> list[dict]:
    return author.get("/api/v1/gaps", query_string={"state": state}).get_json()["gaps"]


def test_wordings_that_mean_the_same_are_one_gap(starter_app):
    agent, author = token_client(starter_app, "sam", "agent"), token_client(starter_app, "wen", "author")
    _no_article(
        agent,
        "wifi keeps dropping in the warehouse",
        "wireless keeps dropping in the warehouse",  # a synonym of wifi (articles/synonyms.yaml)
        "wifi keeps droping in the warehouse",  # a typo
        "Wi-Fi keeps dropping in the warehouse!",
        "badge reader beeps twice",  # something else entirely
    )
    listed = _gaps(author)
    assert [g["count"] for g in listed] == [4, 1]
    assert set(listed[0]["examples"]) == {
        "wifi keeps dropping in the warehouse",
        "wireless keeps dropping in the warehouse",
        "wifi keeps droping in the warehouse",
        "Wi-Fi keeps dropping in the warehouse!",
    }
    assert listed[1]["examples"] == ["badge reader beeps twice"]


def test_the_commonest_and_latest_come_first(starter_app):
    agent, author = token_client(starter_app, "sam", "agent"), token_client(starter_app, "wen", "author")
    _no_article(agent, "scanner streaks", "docking station flickers", "docking station flickers", "scanner streaks")
    _no_article(agent, "docking station flickers")
    assert [g["label"] for g in _gaps(author)] == ["docking station flickers", "scanner streaks"]


def test_an_article_that_keeps_not_solving_calls_is_flagged_to_its_owner(starter_app):
    agent, author = token_client(starter_app, "sam", "agent"), token_client(starter_app, "wen", "author")
    slug = "printer-shows-offline"
    for outcome in ("solved", "not_solved", "not_solved"):
        assert agent.post("/api/v1/calls", json={"article": slug, "outcome": outcome}).status_code == 201
    assert author.get("/api/v1/flags").get_json()["flags"] == []  # 2 of 3: not yet
    assert agent.post("/api/v1/calls", json={"article": slug, "outcome": "not_solved"}).status_code == 201
    [flag] = author.get("/api/v1/flags").get_json()["flags"]
    assert flag["article"] == slug and flag["raised_by"] is None
    assert flag["comment"].startswith("3 of the 4 calls that used this article in the last 30 days were not solved")
    assert agent.post("/api/v1/calls", json={"article": slug, "outcome": "not_solved"}).status_code == 201
    assert len(author.get("/api/v1/flags").get_json()["flags"]) == 1  # one open flag at a time
    [gap] = _gaps(author)
    assert gap["sources"]["not_solved"] == 4


def test_a_not_helpful_vote_with_what_was_needed_is_a_gap(starter_app):
    agent, author = token_client(starter_app, "sam", "agent"), token_client(starter_app, "wen", "author")
    voted = agent.post(
        "/api/v1/articles/printer-shows-offline/feedback",
        json={"helpful": False, "comment": "needed the steps for the label printer"},
    )
    assert voted.status_code == 200
    [gap] = _gaps(author)
    assert gap["sources"]["not_helpful"] == 1 and gap["examples"] == ["needed the steps for the label printer"]
    assert agent.post("/api/v1/articles/printer-shows-offline/feedback", json={"helpful": True}).status_code == 200
    assert _gaps(author) == []  # the agent changed their mind: the vote no longer says it failed


def test_a_wording_read_before_another_process_wrote_it_joins_that_processs_gap(starter_app):
    """The search-log flush reads which gap a search joins before it takes the write lock; when
    another process writes the same new wording in between, the search joins that gap, and no
    second gap is made for it."""
    sessions = starter_app.extensions["kb.sessionmaker"]
    text = "stapler jams halfway through the stack"
    with sessions() as mine, sessions() as theirs:
        read = gaps.wording(mine, text, Vocabulary())
        assert read is not None and read.gap_id is None  # new words to kb
        mine.commit()  # the read ends before the write lock is asked for
        begin_write(theirs)
        their_gap = gaps.gap_for(theirs, text, Vocabulary())
        theirs.commit()
        begin_write(mine)
        my_gap = gaps.gap_for(mine, text, Vocabulary(), read=read)
        mine.commit()
        assert my_gap is not None and their_gap is not None and my_gap.id == their_gap.id
        assert mine.scalar(select(func.count()).select_from(Gap).where(Gap.label == text)) == 1
