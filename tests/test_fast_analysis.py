"""The index's direct analysis gives exactly the rows Whoosh's own analyzers give.

`kb.search.schema` computes the rows of the text, title, body and spelling fields without
Whoosh's token stream, to make rebuilds cheaper. Every row must equal Whoosh's (term, frequency,
weight, encoded positions), in the same order, or searches would score a rebuilt index
differently from one written article by article. Checked on the starter articles, on real
support articles when ../shared has them, and on text built to reach every branch.
"""

from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest
from conftest import SHARED, starter_articles

from kb.articlefiles import read_article_file
from kb.search import indexer, schema

FIELDS = ("text", "title", "body", schema.PUBLISHED_SPELLING, schema.UNPUBLISHED_SPELLING)
REAL = SHARED / "data" / "real-articles" / "articles"


def document_of(path) -> dict:
    parsed = read_article_file(path).fields
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    return indexer.document_for(
        indexer.Source(
            1,
            parsed.slug,
            parsed.title,
            parsed.summary,
            parsed.body,
            tuple(parsed.tags),
            parsed.product,
            parsed.audience.value,
            parsed.status.value,
            now,
            None,
            1,
        )  # fmt: skip
    )


def assert_same_rows(name: str, value: str) -> None:
    field = schema.build_schema()[name]
    direct = schema.analyzed({name: value})[name].rows
    assert direct == schema.whoosh_rows(field, value), (name, value[:80])
    assert direct, "a check on no rows at all would prove nothing"


def test_starter_and_real_articles_analyze_as_whoosh_does():
    paths = starter_articles() + (sorted(REAL.glob("*.md"))[:60] if REAL.is_dir() else [])
    for path in paths:
        document = document_of(path)
        # One spelling field per article (by its status): both analyze the same way.
        document.setdefault(schema.PUBLISHED_SPELLING, document.get(schema.UNPUBLISHED_SPELLING))
        document.setdefault(schema.UNPUBLISHED_SPELLING, document[schema.PUBLISHED_SPELLING])
        for name in FIELDS:
            if document[name].strip():
                assert_same_rows(name, document[name])


def test_weights_stop_words_accents_and_dotted_words_analyze_as_whoosh_does():
    parts = {
        "title": "Outlook keeps asking for the password",
        "phrasings": "\"It's not what I asked\" — the café's Wi-Fi drops; I can't log in",
        "summary": "Re-enter credentials v1.2.3 after KB5034441 and 0x80070005",
        "headings": "What the customer notices\nWhy it happens",
        "body": "The ÉCOLE server (ÅSA) uses TLS_1.2 and a a a of the; kbpartweight kbpartweight7x under_score",
    }
    value = schema.weighted_text(parts)
    for name in FIELDS:
        assert_same_rows(name, value)


def test_random_text_analyzes_as_whoosh_does():
    pieces = [
        "the", "a", "I", "of", "Wi-Fi", "café", "ÉTÉ", "naïve", "v1.2", "..", ".5", "x.y.z", "kbpartweight15",
        "kbpartweight", "running", "runs", "ran", "ß", "İstanbul", "日本語", "١٢٣", "_", "__init__", "0x8007",
        "don't", "e-mail", "\n", "  ", ",", "CONNECTION", "connections", "ﬁle", "Ⅻ",
    ]  # fmt: skip
    rng = random.Random(13)
    for _ in range(300):
        value = " ".join(rng.choice(pieces) for _ in range(rng.randint(1, 40)))
        for name in FIELDS:
            field = schema.build_schema()[name]
            assert schema.analyzed({name: value})[name].rows == schema.whoosh_rows(field, value), (name, value)


@pytest.mark.parametrize("name", ["text", "body", schema.PUBLISHED_SPELLING])
def test_past_the_word_limits_the_same_words_are_left_out(name):
    """More words than MAX_TOKENS, and more distinct ones than MAX_TERMS, as a pasted log has."""
    # "late words" come first too, so they are among the distinct words kept: their count at the
    # end shows where the token limit cut.
    distinct = ["late", "words"] + [f"w{n}x" for n in range(schema.MAX_TERMS + 500)]
    words = distinct + ["repeated"] * (schema.MAX_TOKENS - len(distinct) - 11) + ["late", "words"] * 50
    assert len(words) > schema.MAX_TOKENS
    assert_same_rows(name, " ".join(words))
