"""Search by meaning: the model loads offline, the fusion keeps exact asks first, suggest reads a
whole message, and what a search learned of the index survives a small write."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from conftest import client_for, indexed, make_app
from test_search import api, create, slugs

from kb import search as kb_search

CHATTY_EMAIL = (
    "Hi there, hope your week is going well. We had the quarterly review on Monday and the slides "
    "looked great, thanks again to your team for the help with the projector last month. "
    "Anyway, small thing: since this morning my laptop sees the office wireless and says connected, "
    "but no web page opens at all and Teams says it is offline. My colleague next to me is fine. "
    "Also, could you tell me whether the canteen card top-up moved to the new portal? "
    "Our team lunch is on Friday and we are planning a cake for Maria's birthday. Thanks a lot, Sam"
)


def suggest(client, text: str, **fields):
    return client.post("/api/v1/suggest", json={"text": text, **fields}, headers={"X-CSRFToken": _token(client)})


def _token(client) -> str:
    return client.csrf_token("/")


def test_the_model_loads_from_the_installed_package_without_opening_a_socket():
    """In a fresh interpreter where every socket connection fails, the model still loads and embeds."""
    script = textwrap.dedent(
        """
        import socket
        def refuse(*args, **kwargs):
            raise AssertionError("a socket was opened while loading the model")
        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse
        from kb.search import semantic
        vectors = semantic.embed(["printer offline", "the printer shows offline", "password expired"])
        close, far = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])
        assert close > far, (close, far)
        print("ok", round(close, 3), round(far, 3))
        """
    )
    env = {"HF_HUB_OFFLINE": "0", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok")


def test_a_kb_process_multiplies_vectors_on_one_blas_thread():
    """In a fresh interpreter, as a `kb serve` or `kb reindex` process starts: BLAS's own threads
    would spin on the cores the other requests and index builders need."""
    script = textwrap.dedent(
        """
        import numpy  # loaded first, as any other module may
        from threadpoolctl import threadpool_info
        from kb.search import semantic
        blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
        assert blas, "numpy loaded no BLAS"
        print("threads", sorted({pool["num_threads"] for pool in blas}))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "threads [1]"


def test_a_long_text_embeds_in_bounded_memory_and_case_does_not_matter():
    from kb.search import semantic

    long = "printer " * 200_000  # far past MAX_CHARS: cut, not padded into a huge batch
    vectors = semantic.embed([long, "PRINTER", "printer", ""])
    assert vectors.shape == (4, semantic.DIMENSIONS)
    assert abs(float(vectors[1] @ vectors[2]) - 1.0) < 1e-5
    assert not vectors[3].any()  # no tokens, no direction


def test_meaning_finds_an_article_that_shares_no_word_with_the_query(app):
    admin = client_for(app, "admin")
    create(
        admin,
        title="WiFi drops every few minutes",
        body="## What the customer notices\n\nThe laptop loses its network link, then rejoins.\n",
    )
    create(admin, title="Paper jam in the tray", body="Pages crumple inside the printer.\n")
    create(admin, title="Second screen stays black", body="The monitor shows no signal.\n")
    # No article holds any of these words (nor a stem of one): words alone find nothing.
    body = api(admin, "wireless keeps disconnecting")
    assert body["results"][0]["slug"] == "wifi-drops-every-few-minutes", body
    assert body["results"][0]["snippet"], "a passage is shown for an article found by meaning"
    assert all(r["weak"] for r in body["results"][1:]), "the unrelated ones are weak matches at best"


def server_timing(response) -> dict[str, float]:
    """The Server-Timing header's durations by name ("search;dur=4.2, meaning;dur=1.1")."""
    parts = (entry.strip().split(";dur=") for entry in response.headers["Server-Timing"].split(","))
    return {name: float(duration) for name, duration in parts}


def test_every_search_says_what_meaning_cost_of_its_time(app):
    """benchmarks/latency.py reads this to measure the semantic part directly, per query."""
    admin = client_for(app, "admin")
    create(admin, title="WiFi drops every few minutes", body="The laptop loses its network link.\n")
    response = admin.get("/api/v1/search", query_string={"q": "wireless keeps disconnecting"})
    timing = server_timing(response)
    assert 0 < timing["meaning"] <= timing["search"] == response.get_json()["took_ms"]
    page = admin.get("/", query_string={"q": "wifi"})
    assert set(server_timing(page)) == {"search", "meaning"}, "the search page says it too"
    message = "Hi, hope you are well. Since Monday the wireless keeps disconnecting on my laptop. Thanks!"
    suggested = suggest(admin, message)
    timing = server_timing(suggested)
    assert 0 < timing["meaning"] <= timing["search"] == suggested.get_json()["took_ms"], "and so does suggest"


def test_error_codes_and_quoted_phrases_keep_winning_over_meaning(app):
    admin = client_for(app, "admin")
    create(admin, title="Update error 0x8024a0ff", body="Windows Update stops with 0x8024a0ff.\n")
    create(
        admin,
        title="Windows Update fails to install",
        body="Updates keep failing, the update history shows errors, the install never finishes.\n",
    )
    assert slugs(admin, "windows update fails to install 0x8024a0ff")[0] == "update-error-0x8024a0ff"
    body = api(admin, 'windows update fails to install "stops with"')
    assert body["results"][0]["slug"] == "update-error-0x8024a0ff"
    assert [r["weak"] for r in body["results"]] == [False, True], "without the phrase asked for: a weak match"


def test_an_article_quoting_a_pasted_error_message_outranks_closer_meanings(app):
    admin = client_for(app, "admin")
    create(
        admin,
        title="You don't have access to this file",
        body="Teams says you don't have access to this file when you open a file shared in a chat.\n\n"
        "Ask the file's owner to share the file with you again; access to a shared file follows the owner.\n",
    )
    create(
        admin,
        title="Intranet site treated as an internet site",
        body="Opening a database from the intranet share shows:\n\n"
        "Microsoft Access cannot open this file.\n\n"
        "The share's zone is wrong. Add the server to the Local intranet zone.\n\n"
        "The connection to Microsoft Exchange is unavailable. Outlook must be online or connected "
        "to complete this action.\n",
    )
    create(
        admin,
        title="Outlook cannot connect to Exchange",
        body="Outlook is offline: the connection to Exchange is unavailable and the mailbox cannot sync. "
        "Check that Outlook is online and connected, then complete the action again.\n",
    )
    assert slugs(admin, "Microsoft Access cannot open this file.")[0] == "intranet-site-treated-as-an-internet-site"
    # A message longer than a sentence, as a customer reads it out.
    long_message = (
        "The connection to Microsoft Exchange is unavailable. Outlook must be online or connected to "
        "complete this action."
    )
    assert slugs(admin, long_message)[0] == "intranet-site-treated-as-an-internet-site"


def test_weak_matches_are_marked_below_the_confident_ones(agent):
    body = api(agent, "printer offline")
    flags = [r["weak"] for r in body["results"]]
    assert flags[0] is False
    assert flags == sorted(flags), "weak results come after every confident one"
    assert True in flags, "a two-word query over the starter articles has weaker matches too"


def test_suggest_finds_the_problem_mentioned_in_passing(agent):
    response = suggest(agent, CHATTY_EMAIL)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    top3 = [r["slug"] for r in body["results"][:3]]
    assert "wifi-connected-no-internet" in top3, top3
    best = next(r for r in body["results"] if r["slug"] == "wifi-connected-no-internet")
    assert best["passage"]["html"] and "/articles/wifi-connected-no-internet" in best["url"]
    assert best["why"]["matched"] or best["why"]["similar_meaning"]


def test_suggest_reads_a_long_transcript(agent):
    filler = "Agent: okay, let me note that down. Customer: sure, no problem, take your time. " * 120
    transcript = filler + "Customer: my Outlook keeps asking for my password every few minutes. " + filler
    assert len(transcript) < kb_search.SUGGEST_MAX_CHARS
    response = suggest(agent, transcript, limit=3)
    assert response.status_code == 200
    assert "outlook-keeps-asking-for-password" in [r["slug"] for r in response.get_json()["results"]]


def test_suggest_refuses_empty_too_long_and_bad_limits_clearly(agent):
    for payload, field in (
        ({"text": "   "}, "text"),
        ({"text": "x" * (kb_search.SUGGEST_MAX_CHARS + 1)}, "text"),
        ({"text": "printer", "limit": 0}, "limit"),
        ({"text": "printer", "limit": "5"}, "limit"),
        ({"text": ["printer"]}, "text"),
    ):
        response = agent.post("/api/v1/suggest", json=payload, headers={"X-CSRFToken": _token(agent)})
        assert response.status_code == 400, payload
        assert field in response.get_data(as_text=True), payload


def test_suggest_with_a_session_cookie_needs_the_csrf_token(agent):
    assert agent.post("/api/v1/suggest", json={"text": "printer offline"}).status_code == 400


def test_what_a_search_read_of_the_big_segment_survives_a_small_write(admin):
    """A save adds a small segment; the postings, vectors and articles read from the others are kept."""
    slugs(admin, "printer offline queue")
    segments = admin.application.extensions["kb.search"]._segments
    before = segments.keys()
    assert all(before.values()), before  # postings, shown articles and per-document arrays
    create(admin, title="A brand new article about scanners", body="The scanner is not found.\n")
    indexed(admin.application)
    slugs(admin, "printer offline queue")
    after = segments.keys()
    for kind, keys in before.items():
        assert keys <= after[kind], f"{kind} of segments the write did not replace were thrown away"
    new = {key[0] for keys in after.values() for key in keys} - {key[0] for keys in before.values() for key in keys}
    assert new, "the new segment was read as well"


def test_articles_kept_for_searches_stay_within_their_memory_budget():
    from kb.search.segments import SegmentCache

    cache, reads = SegmentCache(postings_bytes=0, documents_bytes=20_000), []

    def article(n: int, size: int = 3_000):
        reads.append(n)
        return {"title": f"Article {n}", "_sections": [["Heading", "heading", "x" * size]]}, size

    for n in range(20):
        assert cache.document("segment", n, lambda n=n: article(n))["title"] == f"Article {n}"
    kept = cache.keys()["documents"]
    assert 0 < len(kept) < 20 and ("segment", 19) in kept and ("segment", 0) not in kept
    cache.document("segment", 19, lambda: article(19))
    assert reads.count(19) == 1, "a kept article was read again"
    huge = cache.document("segment", 99, lambda: article(99, 50_000))
    assert huge["title"] == "Article 99" and ("segment", 99) not in cache.keys()["documents"]
    cache.keep_only(["another segment"])
    assert cache.keys()["documents"] == set()


def test_meaning_can_be_turned_off_without_a_reindex(tmp_path):
    """KB_SEARCH_MEANING=false ranks by words alone (the vectors stay in the index)."""
    app = make_app(tmp_path, SEARCH_MEANING=False)
    admin = client_for(app, "admin")
    create(admin, title="WiFi drops every few minutes", body="The laptop loses its network link.\n")
    assert api(admin, "wireless keeps disconnecting")["results"] == []
    assert slugs(admin, "wifi drops")[0] == "wifi-drops-every-few-minutes"
    response = suggest(admin, "Hello! Since Monday my wifi drops every few minutes. Thanks, Sam")
    assert [r["slug"] for r in response.get_json()["results"]][:1] == ["wifi-drops-every-few-minutes"]
    assert server_timing(admin.get("/api/v1/search", query_string={"q": "wifi drops"}))["meaning"] == 0
    transcript = " ".join(f"Customer: line {n} of the call, my wifi drops again." for n in range(300))
    assert server_timing(suggest(admin, transcript))["meaning"] == 0, "cutting a message into windows is not meaning"
