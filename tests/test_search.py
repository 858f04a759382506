"""Live-call search: customer words, half-words, typos and codes find the right article."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from conftest import KbClient, add_user, indexed, make_app, make_token
from sqlalchemy import event, func, select

from kb import background
from kb.db import get_session
from kb.models import IndexEvent, Role, SearchLog


def api(client, query: str, **params) -> dict:
    response = client.get("/api/v1/search", query_string={"q": query, **params})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def slugs(client, query: str, **params) -> list[str]:
    return [r["slug"] for r in api(client, query, **params)["results"]]


def create(client, **fields) -> None:
    """Save an article through the API (published by default: give an admin's client, since an
    author's articles go through review; see test_lifecycle.py)."""
    token = client.csrf_token("/")
    fields.setdefault("status", "published")
    response = client.post("/api/v1/articles", json=fields, headers={"X-CSRFToken": token})
    assert response.status_code == 201, response.get_json()
    indexed(client.application)


def test_a_just_saved_article_is_found_at_once(admin):
    create(admin, title="Smart card reader not detected", body="The reader's light stays off.\n")
    assert slugs(admin, "smart card reader")[0] == "smart-card-reader-not-detected"


def test_stemming_matches_other_forms_of_a_word(agent):
    assert "wifi-keeps-dropping" in slugs(agent, "wifi disconnecting")[:3]
    assert "print-jobs-stuck-in-queue" in slugs(agent, "printing stuck")[:3]


def test_case_does_not_matter(agent):
    assert slugs(agent, "VPN WILL NOT CONNECT")[:3] == slugs(agent, "vpn will not connect")[:3]


def test_typo_still_finds_the_article(agent):
    assert slugs(agent, "pasword expired")[0] == "password-expired-cannot-sign-in"
    assert "printer-shows-offline" in slugs(agent, "printr offline")[:3]
    # two edits are allowed for long words
    assert "bitlocker-recovery-key-prompt" in slugs(agent, "bitlocker recvoery")[:3]
    # two swapped letters are one slip
    assert slugs(agent, "accuont locked")[0] == "account-locked-out"
    assert api(agent, "accuont locked")["suggestion"] == "account locked"


def test_exact_match_outranks_typo_tolerance(admin):
    # "outlok" is a typo of a common word, but this article really contains it: it must come first.
    create(admin, title="Legacy mail client named outlok", body="The outlok client is a different program.\n")
    assert slugs(admin, "outlok")[0] == "legacy-mail-client-named-outlok"


def test_did_you_mean_offers_the_close_spelling(agent):
    page = agent.get("/?q=printr").get_data(as_text=True)
    assert "Did you mean" in page and ">printer</a>" in page
    assert api(agent, "bluetoth headset")["suggestion"] == "bluetooth headset"
    assert api(agent, "bluetooth headset")["suggestion"] is None


def test_last_word_is_matched_as_a_prefix_while_typing(agent):
    assert "outlook-keeps-asking-for-password" in slugs(agent, "outlook passw", typing="1")[:3]
    assert slugs(agent, "outl", typing="1")[0].startswith("outlook")
    assert "bitlocker-recovery-key-prompt" in slugs(agent, "bitlo", typing="1")[:3]


def test_error_codes_are_kept_whole_and_found_first(admin, agent):
    assert slugs(agent, "0x80070005")[0] == "windows-update-fails"
    assert slugs(agent, "error 0x80070643 KB5034441")[0] == "windows-update-fails"
    assert slugs(agent, "NET::ERR_CERT_DATE_INVALID")[0] == "certificate-warning-in-browser"
    # A code is not a bag of digits: a different code in the same family is no match.
    create(admin, title="Store app error", body="The Store shows 0x80070006 when it updates.\n")
    assert "store-app-error" not in slugs(agent, "0x80070005")
    assert slugs(agent, "0x80070006")[0] == "store-app-error"


def test_quoted_phrases_match_as_phrases(admin):
    create(admin, title="Phrase one", body="The screen goes black after login.\n")
    create(admin, title="Phrase two", body="After the black cat walked past, the screen goes dim.\n")
    found = slugs(admin, '"screen goes black"')
    assert "phrase-one" in found and "phrase-two" not in found


def test_facets_count_products_and_tags_and_filters_narrow(agent):
    data = api(agent, "password")
    products = {f["value"]: f["count"] for f in data["facets"]["product"]}
    assert products.get("Outlook", 0) >= 1 and products.get("Windows", 0) >= 1
    narrowed = api(agent, "password", product="Outlook")
    assert narrowed["results"] and all(r["product"] == "Outlook" for r in narrowed["results"])
    assert {f["value"] for f in narrowed["facets"]["product"]} == {"Outlook"}
    tag = data["facets"]["tag"][0]["value"]
    tagged = api(agent, "password", tag=tag)["results"]
    assert tagged and all(tag in r["tags"] for r in tagged)


def test_each_result_shows_why_it_matched(agent):
    result = api(agent, "outlook keeps asking for password")["results"][0]
    assert "<mark>" in result["snippet"]
    assert result["section"]
    assert result["anchor"] and result["url"].endswith("#" + result["anchor"])
    assert result["product"] == "Outlook" and result["tags"] and result["updated"]
    page = agent.get("/?q=outlook+keeps+asking").get_data(as_text=True)
    assert '<span class="section">' in page and "<mark>" in page and 'class="product"' in page


def test_drafts_and_archived_articles_never_reach_agents(admin, agent):
    create(admin, title="Quokka draft", body="quokka\n", status="draft")
    create(admin, title="Quokka archived", body="quokka\n")
    archived = admin.post(
        "/api/v1/articles/quokka-archived/transition",
        json={"to": "archived", "version": 1},
        headers={"X-CSRFToken": admin.csrf_token("/")},
    )
    assert archived.status_code == 200
    indexed(admin.application)
    create(admin, title="Quokka review", body="quokka\n", status="review")
    assert slugs(agent, "quokka") == []
    assert slugs(agent, "quokka", drafts="1", archived="1") == []
    assert sorted(slugs(admin, "quokka", drafts="1")) == ["quokka-draft", "quokka-review"]
    assert slugs(admin, "quokka", archived="1") == ["quokka-archived"]
    assert len(slugs(admin, "quokka", drafts="1", archived="1")) == 3
    assert slugs(admin, "quokka") == []


def test_synonyms_apply_at_once_without_reindexing(author, agent, starter_app):
    assert slugs(agent, "zorbix") == []
    index = Path(starter_app.config["INDEX_DIR"])
    before = {p.name: p.stat().st_mtime_ns for p in index.iterdir()}
    token = author.csrf_token("/")
    response = author.post("/api/v1/synonyms", json={"terms": ["zorbix", "printer"]}, headers={"X-CSRFToken": token})
    assert response.status_code == 201
    assert "printer-shows-offline" in slugs(agent, "zorbix offline")[:3]
    assert {p.name: p.stat().st_mtime_ns for p in index.iterdir()} == before


def test_multi_word_synonyms_match_customer_phrasings(agent):
    # starter vocabulary: "can't hear me" = "nobody can hear me" = ...
    assert slugs(agent, "nobody can hear me")[0] == "teams-microphone-not-working"


def helpful_votes(app, slug: str, prefix: str, count: int) -> None:
    """`count` new agents each vote `slug` helpful through the API."""
    for number in range(1, count + 1):
        add_user(app, f"{prefix}{number}", "agent")
        vote = app.test_client().post(
            f"/api/v1/articles/{slug}/feedback",
            json={"helpful": True},
            headers={"Authorization": f"Bearer {make_token(app, f'{prefix}{number}')}"},
        )
        assert vote.status_code == 200, vote.get_json()  # else the votes never weighed in at all


def test_helpful_votes_gently_reorder_close_matches(admin, starter_app):
    create(admin, title="Gizmo pairing guide A", body="Pair the gizmo with the dock.\n")
    create(admin, title="Gizmo pairing guide B", body="Pair the gizmo with the dock.\n")
    first = slugs(admin, "gizmo pairing")[:2]
    loser = first[1]
    helpful_votes(starter_app, loser, "v", 6)
    indexed(starter_app)
    assert slugs(admin, "gizmo pairing")[0] == loser


def test_helpful_votes_never_bury_a_much_better_match(admin, starter_app):
    create(admin, title="Gizmo firmware update fails", body="The gizmo firmware update fails at 40%.\n")
    create(admin, title="Unrelated dock article", body="Mentions a gizmo once.\n")
    helpful_votes(starter_app, "unrelated-dock-article", "w", 8)
    indexed(starter_app)
    assert slugs(admin, "gizmo firmware update fails")[0] == "gizmo-firmware-update-fails"


def test_a_vote_never_writes_the_index_and_other_processes_rank_with_it(admin, starter_app, tmp_path):
    """Votes stay in the database: another process on the same database and index ranks with them
    from its first search (and from a reload after that), and the index is not rewritten."""
    create(admin, title="Gizmo pairing guide A", body="Pair the gizmo with the dock.\n")
    create(admin, title="Gizmo pairing guide B", body="Pair the gizmo with the dock.\n")
    loser = slugs(admin, "gizmo pairing")[1]
    with starter_app.app_context():
        events_before = get_session().scalar(select(func.count()).select_from(IndexEvent))
    helpful_votes(starter_app, loser, "u", 6)
    with starter_app.app_context():
        assert get_session().scalar(select(func.count()).select_from(IndexEvent)) == events_before
    other = make_app(tmp_path / "other", serving=False, **_same_stores(starter_app))
    other.test_client_class = KbClient
    reader = other.test_client()
    reader.login("admin-user")
    assert slugs(reader, "gizmo pairing")[0] == loser


def _same_stores(app) -> dict:
    return {key: app.config[key] for key in ("DATABASE_URL", "INDEX_DIR", "SECRET_KEY")}


def logs(app) -> list[SearchLog]:
    background.flush_search_log(app)
    with app.app_context():
        return list(get_session().scalars(select(SearchLog).order_by(SearchLog.id)))


def test_zero_result_searches_are_logged_with_query_time_and_role(agent, starter_app):
    agent.get("/?q=flux+capacitor+quasar")
    log = logs(starter_app)[-1]
    assert (log.query, log.results, log.role.value, log.opened_slug) == ("flux capacitor quasar", 0, "agent", None)
    assert log.created_at is not None
    assert not hasattr(log, "user_id")


def test_logged_queries_keep_no_customer_contact_data(agent, starter_app):
    agent.get("/", query_string={"q": "outlook jane.doe@example.com +44 20 7946 0958 0x8004010F"})
    log = logs(starter_app)[-1]
    assert "jane.doe" not in log.query and "7946" not in log.query
    assert log.query == "outlook [email] [number] 0x8004010F"


REDACTED_QUERIES = [
    ("card 4111 1111 1111 1111 declined", "card [card] declined"),
    ("refund to 5500-0055-5555-5559", "refund to [card]"),
    ("iban GB82 WEST 1234 5698 7654 32 rejected", "iban [iban] rejected"),
    ("transfer DE89370400440532013000 failed", "transfer [iban] failed"),
    ("customer says password Hunter2! does not work", "customer says password [redacted]"),
    ("Passcode: 0000 voicemail", "Passcode [redacted]"),
    ("SIM PIN 1234 blocked", "SIM PIN [redacted]"),
    # What agents search for stays: error codes, KB numbers, versions of words like "pinned".
    ("error 0x80070005 after KB5034441", "error 0x80070005 after KB5034441"),
    ("pinned tabs gone after update KB 5034441", "pinned tabs gone after update KB 5034441"),
]


def test_logged_queries_keep_no_card_account_or_password(agent, starter_app):
    for query, logged in REDACTED_QUERIES:
        agent.get("/", query_string={"q": query})
        assert logs(starter_app)[-1].query == logged, query


def test_a_flush_asked_for_returns_only_once_the_batch_before_it_is_written(starter_app):
    """The flush thread may have taken the buffer and be waiting for the database: a flush asked
    for then (on the way out, by a test reading the log) waits for it instead of returning."""
    buffer, engine = starter_app.extensions["kb.searchlog"], starter_app.extensions["kb.engine"]

    def flush(done: threading.Event | None = None) -> None:
        with starter_app.extensions["kb.sessionmaker"]() as session:
            buffer.flush(session)
        if done is not None:
            done.set()

    with engine.connect() as blocker:
        blocker.execution_options(kb_write=True)  # SQLite: BEGIN IMMEDIATE, the write lock
        with blocker.begin():
            if blocker.dialect.name == "postgresql":
                blocker.exec_driver_sql("LOCK TABLE search_logs IN EXCLUSIVE MODE")
            buffer.search(query="fax machine hums", role=Role.AGENT, results=0, episode=None, source="ui")
            first = threading.Thread(target=flush)
            first.start()
            deadline = time.monotonic() + 10
            while len(buffer) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert not len(buffer), "the first flush took the entry"
            returned = threading.Event()
            second = threading.Thread(target=flush, args=(returned,))
            second.start()
            assert not returned.wait(0.5), "a flush returned while the batch before it was not written"
    second.join(10)
    first.join(10)
    assert returned.is_set()
    assert logs(starter_app)[-1].query == "fax machine hums"


def test_a_busy_seconds_searches_are_written_in_short_transactions(starter_app):
    """Each transaction of a flush holds the write lock (on SQLite): a vote or a save waits for
    at most CHUNK searches to be written, not for a busy second's worth."""
    buffer, engine = starter_app.extensions["kb.searchlog"], starter_app.extensions["kb.engine"]
    before = len(logs(starter_app))
    count = 3 * buffer.CHUNK + 1
    for n in range(count):
        buffer.search(query=f"scanner jams on page {n}", role=Role.AGENT, results=0, episode=None, source="ui")
    commits: list[object] = []

    def committed(connection) -> None:
        commits.append(connection)

    event.listen(engine, "commit", committed)
    try:
        with starter_app.extensions["kb.sessionmaker"]() as session:
            assert buffer.flush(session) == count
    finally:
        event.remove(engine, "commit", committed)
    assert len(commits) >= 4
    assert len(logs(starter_app)) == before + count


def test_typing_updates_one_log_row_and_opening_a_result_is_recorded(agent, starter_app):
    episode = "ep-123456789"
    for partial in ("pri", "print", "printer off"):
        agent.get("/search/results", query_string={"q": partial, "typing": "1", "sid": episode})
    rows = [log for log in logs(starter_app) if log.episode == episode]
    assert len(rows) == 1 and rows[0].query == "printer off" and rows[0].opened_slug is None
    page = agent.get("/search/results", query_string={"q": "printer off", "sid": episode}).get_data(as_text=True)
    assert f"from={episode}" in page
    agent.get(f"/articles/printer-shows-offline?from={episode}")
    assert [log.opened_slug for log in logs(starter_app) if log.episode == episode] == ["printer-shows-offline"]


def test_search_page_is_keyboard_first_and_works_without_javascript(agent):
    page = agent.get("/").get_data(as_text=True)
    assert 'id="kb-q"' in page and "autofocus" in page and 'role="search"' in page
    assert "search.js" in page and "<kbd>/</kbd>" in page
    # The plain form: a GET to / with q renders the results server-side.
    results = agent.get("/?q=vpn+connected+nothing+loads").get_data(as_text=True)
    assert 'class="result-link"' in results and "vpn-connected-but-nothing-loads" in results
    fragment = agent.get("/search/results?q=vpn").get_data(as_text=True)
    assert "<html" not in fragment and 'class="result-link"' in fragment


@pytest.mark.parametrize("query", ["", "   ", '"', "((", "*", "AND OR NOT", "ü", "0x", "a" * 600, "<script>"])
def test_odd_queries_never_fail(agent, query):
    response = agent.get("/search/results", query_string={"q": query, "typing": "1"})
    assert response.status_code == 200
    assert "<script>" not in response.get_data(as_text=True)


def test_vectorized_scores_equal_whoosh_bm25f(author, starter_app):
    """kb.search.scorer re-implements Whoosh's BM25F loop in numpy: the scores must not drift."""
    from whoosh import query as wq
    from whoosh import scoring
    from whoosh.searching import Searcher

    import kb.search.engine as engine
    from kb import search as kb_search
    from kb.search.scorer import Alternative, Clause

    # An edit leaves a deleted copy of the old document in the index: it must not count.
    token = author.csrf_token("/")
    response = author.put(
        "/api/v1/articles/printer-shows-offline",
        json={"summary": "Printer offline again.", "version": 1},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200, response.get_json()
    indexed(starter_app)
    with starter_app.app_context():
        with kb_search.service().reading() as snapshot:
            searcher, scorer = snapshot.searcher, snapshot.scorer
            assert not scorer.live().all(), "the edit should have left a deleted document behind"
            weighting = scoring.BM25F(B=engine.BM25_B, K1=engine.BM25_K1)
            for fieldname, term in (
                ("text", "printer"),
                ("text", "password"),
                ("title", "offlin"),
                ("codes", "0x80070005"),
            ):
                ours = scorer.scores([Clause([Alternative((((fieldname, term, 1.0),),))])])
                plain = Searcher(searcher.reader(), weighting=weighting, closereader=False)
                theirs = {hit.docnum: hit.score for hit in plain.search(wq.Term(fieldname, term), limit=None)}
                live = scorer.live()
                assert theirs, term
                for docnum, score in theirs.items():
                    assert abs(ours[docnum] - score) < 1e-4 * max(1.0, score), (term, docnum)
                assert {d for d in range(len(ours)) if ours[d] > 0 and live[d]} == set(theirs), term


def test_the_fused_analyzers_give_the_tokens_of_whooshs_own_filters():
    """kb.search.schema folds five Whoosh filters into one for speed: the index must not change."""
    from whoosh.analysis import CharsetFilter, Filter, LowercaseFilter, StemFilter, StopFilter
    from whoosh.support.charset import accent_map

    from kb.search import schema

    class PartWeights(Filter):
        def __call__(self, tokens):
            weight = 1.0
            for token in tokens:
                mark = schema._part_weight(token.text)
                if mark is None:
                    token.boost = weight
                    yield token
                else:
                    weight = mark

    stem_fold = (StemFilter(), CharsetFilter(accent_map))
    whooshs = {
        "text": [schema._words(), LowercaseFilter(), StopFilter(), *stem_fold],
        "phrase": [schema._words(), LowercaseFilter(), *stem_fold],
        "weighted": [schema._words(), PartWeights(), LowercaseFilter(), StopFilter(), *stem_fold],
    }
    ours = {"text": schema.text_analyzer(), "phrase": schema.phrase_analyzer(), "weighted": schema.weighted_analyzer()}
    parts = {"title": "Printer OFFLINE", "phrasings": "it's a b c offline", "body": "Ärger über Wi-Fi résumé"}
    texts = [path.read_text(encoding="utf-8") for path in sorted(Path("articles").glob("*.md"))]
    texts.append(schema.weighted_text(parts))
    for name, filters in whooshs.items():
        theirs = filters[0]
        for each in filters[1:]:
            theirs = theirs | each
        for options in ({}, {"positions": True}, {"positions": True, "removestops": False, "mode": "query"}):
            for text in texts:
                expected = [
                    (t.text, getattr(t, "pos", None), t.boost, t.stopped, t.endchar)
                    for t in theirs(text, chars=True, **options)
                ]
                got = [
                    (t.text, getattr(t, "pos", None), t.boost, t.stopped, t.endchar)
                    for t in ours[name](text, chars=True, **options)
                ]
                assert got == expected, (name, options, text[:60])
