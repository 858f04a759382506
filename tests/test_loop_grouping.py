"""How the gap queue groups what customers said: by meaning to kb's search (stems, the authors'
synonyms, one-letter typos), not by exact text; and what feeds it besides searches."""

from __future__ import annotations

import itertools
import random

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


def test_a_typod_wording_finds_its_gap_among_many_that_share_its_words(starter_app):
    """The similar-wording search skips candidates that cannot reach the threshold before it
    compares their letters: among many newer wordings sharing a stem, the one that only a typo
    makes similar enough still wins."""
    sessions = starter_app.extensions["kb.sessionmaker"]
    with sessions() as session:
        begin_write(session)
        target = gaps.gap_for(session, "scanner freezes", Vocabulary())
        for n in range(120):  # newer, each sharing "freezes" but not similar enough
            gaps.gap_for(session, f"warehouse freezes {n} beeps code{n}x", Vocabulary())
        session.commit()
        read = gaps.wording(session, "scaner freezes", Vocabulary())  # 1 of 3 stems without the typo
        assert read is not None and read.gap_id == target.id
        unrelated = gaps.wording(session, "printer freezes", Vocabulary())
        assert unrelated is not None and unrelated.gap_id is None


def test_wording_similarity_counts_shared_stems_and_one_letter_typos_once():
    assert gaps.similarity(["dock", "freez", "scanner"], ["dock", "freez", "scanner"]) == 1.0
    assert gaps.similarity(["dock", "freez", "scanner"], ["dock", "freez", "scaner"]) == 1.0  # a typo
    assert gaps.similarity(["dock", "scanner"], ["dok", "scanner"]) == 1 / 3  # short words: no typos
    assert gaps.similarity(["scanner"], ["xcanner"]) == 0.0  # the first two letters must agree
    assert gaps.similarity(["scaner", "scanner"], ["scanner"]) == 0.5  # each word is shared once
    assert gaps.similarity([], ["scanner"]) == 0.0
    rnd = random.Random(7)
    pool = ["printer", "printr", "priner", "scanner", "scaner", "dock", "docks", "freez", "frezz", "wifi", "wify"]
    for _ in range(2000):
        a, b = sorted(set(rnd.sample(pool, rnd.randint(1, 5)))), sorted(set(rnd.sample(pool, rnd.randint(1, 5))))
        exact = len(set(a) & set(b))
        assert exact / (len(a) + len(b) - exact) <= gaps.similarity(a, b) <= _best_matching_jaccard(a, b)


def _best_matching_jaccard(a: list[str], b: list[str]) -> float:
    """The Jaccard similarity with the most words paired (equal, or one typo apart), by brute force."""

    def close(x: str, y: str) -> bool:
        if x == y:
            return True
        if min(len(x), len(y)) < 5 or x[:2] != y[:2]:
            return False
        return any(
            x[:i] + x[i + 1 :] == y
            or y[:i] + y[i + 1 :] == x
            or (len(x) == len(y) and x[:i] + x[i + 1 :] == y[:i] + y[i + 1 :])
            for i in range(max(len(x), len(y)))
        ) or any(x[:i] + x[i + 1] + x[i] + x[i + 2 :] == y for i in range(len(x) - 1))

    short, long = sorted((a, b), key=len)
    pairings = itertools.permutations(long, len(short))
    best = max(sum(close(x, y) for x, y in zip(short, order, strict=True)) for order in pairings)
    return best / (len(a) + len(b) - best) if best else 0.0
