"""The word-pair filters that spare the verbatim check most stored-text reads: never a false "no"."""

from __future__ import annotations

import random

from kb.search.pairs import Probe, pair_filter
from kb.search.query import verbatim, words

VOCABULARY = "printer offline Wi-Fi écran noir VPN can't connect the to a of 0x80070005 Outlook MFA code".split()


def _text(rng: random.Random) -> str:
    separators = [" ", " ", ", ", ". ", " - ", "\n", " (", ") "]
    picked = [rng.choice(VOCABULARY) for _ in range(rng.randint(0, 40))]
    cased = [w.upper() if rng.random() < 0.1 else w.title() if rng.random() < 0.2 else w for w in picked]
    return "".join(w + rng.choice(separators) for w in cased)


def test_every_typed_run_the_expression_finds_passes_the_filter():
    rng = random.Random(7)
    checked = 0
    for _ in range(400):
        texts = [_text(rng) for _ in range(rng.randint(1, 4))]
        article = pair_filter(texts)
        for text in texts:
            tokens = words(text)
            for _ in range(5):
                if len(tokens) < 3:
                    break
                start = rng.randrange(len(tokens) - 2)
                typed = tokens[start : start + rng.randint(3, 6)]
                if any(verbatim(typed).search(t) for t in texts):
                    checked += 1
                    assert Probe(typed).may_hold(article), (typed, texts)
    assert checked > 1000


def test_words_typed_in_another_order_or_across_two_sections_are_ruled_out():
    title = "Printer shows offline"
    section = "Restart the spooler service and print a test page."
    article = pair_filter([title, section])
    assert Probe(words("printer shows offline")).may_hold(article)
    assert Probe(words("PRINTER, shows: offline!")).may_hold(article)
    assert Probe(words("restart the spooler")).may_hold(article)
    assert not Probe(words("offline restart the")).may_hold(article)  # the title's end, the section's start
    assert not Probe(words("the spooler restart")).may_hold(article)


def test_few_absent_pairs_pass_and_an_article_without_a_filter_is_always_checked():
    rng = random.Random(11)
    article = pair_filter([" ".join(f"w{rng.randrange(10**6)}" for _ in range(2000))])
    passed = sum(Probe([f"x{n}", f"y{n}", f"z{n}"]).may_hold(article) for n in range(2000))
    assert passed < 20  # two pairs, each about 2% likely to pass: about one in 2,500
    assert Probe(["any", "words", "here"]).may_hold(b"")
    assert pair_filter(["one"]) == b""
