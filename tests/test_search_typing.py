"""Searching while typing: "did you mean" leaves known words alone, half-typed codes find their
family, and a single letter finds nothing yet."""

from __future__ import annotations

import pytest
from conftest import indexed
from test_search import api, slugs

ARTICLES = {
    # Stored as the stem "blur" only: the article says "blurs", never "blur".
    "blur": ("Webcam blurs the picture", "The webcam blurs the picture on every video call.\n"),
    # "back" is in most starter articles: 20 times more common than this word.
    "black": ("Printouts have black streaks", "Every page comes out with black streaks down one side.\n"),
    # Stored as the stem "scanner" only; the starter articles hold "scanned".
    "scanner": ("Scanners do not send to email", "The floor scanners stopped sending scans to email.\n"),
}


def create(client, title: str, body: str, status: str = "published") -> None:
    token = client.csrf_token("/")
    fields = {"title": title, "body": body, "status": status}
    response = client.post("/api/v1/articles", json=fields, headers={"X-CSRFToken": token})
    assert response.status_code == 201, response.get_json()
    indexed(client.application)


@pytest.mark.parametrize("word", sorted(ARTICLES))
def test_a_word_the_articles_hold_is_never_corrected(admin, agent, word):
    assert api(agent, word)["suggestion"] is not None  # a close word is known, this one not yet
    create(admin, *ARTICLES[word])
    found = api(agent, word)
    assert found["suggestion"] is None
    assert found["results"] and found["results"][0]["title"] == ARTICLES[word][0]
    assert api(agent, f"printer {word}")["suggestion"] is None


def test_a_real_typo_is_still_corrected(admin, agent):
    for word in ARTICLES:
        create(admin, *ARTICLES[word])
    assert api(agent, "pritner")["suggestion"] == "printer"
    assert api(agent, "pritner black")["suggestion"] == "printer black"


def test_a_typo_of_a_word_only_the_newest_save_holds_is_corrected(admin, agent):
    """Corrections come from every segment's words, the small one a save just added included."""
    assert api(agent, "ketle")["suggestion"] != "kettle"
    create(admin, "Kettle trips the breaker", "Switching the kettle on trips the kitchen breaker.\n")
    assert api(agent, "ketle breaker")["suggestion"] == "kettle breaker"
    assert slugs(agent, "ketle")[0] == "kettle-trips-the-breaker"


def test_a_word_only_an_earlier_version_held_is_unknown_again(admin, agent):
    """An edit leaves the old version in its segment, deleted: its words no longer count as known."""
    create(admin, *ARTICLES["blur"])
    assert api(agent, "blur")["suggestion"] is None
    token = admin.csrf_token("/")
    fields = {"title": "Webcam picture is soft", "body": "The webcam shows a soft picture.\n", "version": 1}
    response = admin.put("/api/v1/articles/webcam-blurs-the-picture", json=fields, headers={"X-CSRFToken": token})
    assert response.status_code == 200, response.get_json()
    indexed(admin.application)
    assert api(agent, "blur")["suggestion"] == "blue"


def test_a_word_only_a_draft_holds_is_unknown_to_agents(admin, agent):
    create(admin, *ARTICLES["blur"], status="draft")
    assert api(agent, "blur")["suggestion"] == "blue"
    assert api(admin, "blur")["suggestion"] == "blue"  # searching published articles only
    assert api(admin, "blur", drafts="1")["suggestion"] is None


@pytest.mark.parametrize("typing", ["", "1"])
def test_a_partial_error_code_finds_the_articles_citing_its_family(admin, agent, typing):
    create(admin, "Store app error", "The Store shows 0x80070006 when it updates Minecraft.\n")
    create(admin, "Activation error", "Activation fails with 0x800f0001.\n")
    found = slugs(agent, "0x8007", typing=typing)
    assert found[0] == "windows-update-fails"  # cites 0x80070005, 0x80070643, 0x80070070
    assert "store-app-error" in found
    assert "activation-error" not in found
    # The code typed last, after words, is completed too.
    assert slugs(agent, "minecraft 0x8007", typing=typing)[:2] == ["store-app-error", "windows-update-fails"]


def test_a_partial_error_code_marks_the_whole_codes(agent):
    snippet = api(agent, "0x8007", typing="1")["results"][0]["snippet"]
    assert "<mark>0x8007" in snippet


@pytest.mark.parametrize("typing", ["", "1"])
def test_the_whole_code_still_ranks_its_own_article_first(admin, agent, typing):
    # The exact article lists many codes (a long codes field), the other cites one longer code
    # that starts with the typed one, several times in a short article.
    create(admin, "Office versions", "Office 16.0 activation; see also 0x8004fc12, KB5002111, KB5002222.\n")
    create(admin, "Office build errors", "Build 16.0.17328.20124 crashes. Build 16.0.17328.20124 again.\n")
    assert slugs(agent, "16.0", typing=typing)[0] == "office-versions"
    assert slugs(agent, "0x80070005", typing=typing)[0] == "windows-update-fails"
    create(admin, "Store app error", "The Store shows 0x80070006 when it updates.\n")
    assert slugs(agent, "0x80070006", typing=typing)[0] == "store-app-error"


@pytest.mark.parametrize("letter", ["p", "o", "0", "é"])
def test_one_typed_letter_finds_nothing_yet(agent, letter):
    found = api(agent, letter, typing="1")
    assert found["results"] == [] and found["total"] == 0 and found["suggestion"] is None
    assert slugs(agent, "pr", typing="1")  # two letters complete as before
