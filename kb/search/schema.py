"""The Whoosh schema: declared once, versioned, and the only place analyzers are defined.

Bump SCHEMA_VERSION whenever a field or analyzer changes: an index built with another version
is rebuilt from the database on open, since the index is only a projection of it.
"""

from __future__ import annotations

import re
from functools import cache

from whoosh import columns, fields
from whoosh.analysis import (
    Analyzer,
    CharsetFilter,
    Filter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
)
from whoosh.support.charset import accent_map

SCHEMA_VERSION = 6

# Weights of an article's parts in the searched `text` field. Customers describe symptoms, so
# the title and their own phrasings ("what the customer notices") count more than a passing
# mention in the body. This is BM25F proper: the parts are weighted before term-frequency
# saturation, and a query word costs one posting list instead of one per part.
FIELD_WEIGHTS: dict[str, float] = {
    "title": 2.0,
    "phrasings": 2.0,
    "summary": 2.0,
    "headings": 1.5,
    "body": 1.0,
}
_WEIGHT_MARK = "kbpartweight"  # followed by the weight x 10: a token no article contains

# Tokens that look like this are kept whole in the `codes` field: error codes (0x80070005,
# ERR_CERT_DATE_INVALID, AADSTS50076), KB numbers, versions, paths and command switches.
CODE_TOKEN = re.compile(r"[^\s,;()\[\]{}<>\"'`|]+")
MAX_CODE_LENGTH = 100
_LOOKS_LIKE_CODE = re.compile(r"(?=.*\d)(?=.*[a-z])|_|\\|::|\d[.\-]\d|^[a-z]:/|^/[a-z]", re.IGNORECASE)
_HEX_CODE = re.compile(r"^0x([0-9a-f]{4,})$")


def text_analyzer() -> Analyzer:
    """Words, lowercased, stop words removed, stemmed, accents folded."""
    return RegexTokenizer() | LowercaseFilter() | StopFilter() | StemFilter() | CharsetFilter(accent_map)


def phrase_analyzer() -> Analyzer:
    """Stemmed words with the stop words kept, for phrases.

    Customers' phrasings are full of stop words ("that's not what I asked"); a phrase can only
    match them word for word when the positions keep those words.
    """
    return RegexTokenizer() | LowercaseFilter() | StemFilter() | CharsetFilter(accent_map)


def weighted_text(parts: dict[str, str]) -> str:
    """Join an article's parts into the `text` field's value, each preceded by its weight mark."""
    return "\n".join(f"{_WEIGHT_MARK}{round(FIELD_WEIGHTS[name] * 10)} {text}" for name, text in parts.items() if text)


class PartWeightFilter(Filter):
    """Give each token the weight of the article part it is in, and drop the weight marks."""

    def __call__(self, tokens):
        weight = 1.0
        for token in tokens:
            if token.text.startswith(_WEIGHT_MARK) and token.text[len(_WEIGHT_MARK) :].isdigit():
                weight = int(token.text[len(_WEIGHT_MARK) :]) / 10
                continue
            token.boost = weight
            yield token


def weighted_analyzer() -> Analyzer:
    """The text analyzer, with each token weighted by its part (see weighted_text)."""
    return (
        RegexTokenizer()
        | PartWeightFilter()
        | LowercaseFilter()
        | StopFilter()
        | StemFilter()
        | CharsetFilter(accent_map)
    )


def spelling_analyzer() -> Analyzer:
    """Unstemmed words: the vocabulary for prefixes, typos and "did you mean".

    Stemmed terms make poor suggestions ("connect" for "connection"), so this field keeps the
    words as written, only lowercased and accent-folded.
    """
    return RegexTokenizer() | LowercaseFilter() | CharsetFilter(accent_map) | StopFilter(minsize=2)


def code_tokens(text: str) -> list[str]:
    """Return the code-like tokens of `text`, lowercased, each code also without its `0x`.

    Codes are short: a longer token (a pasted base64 image, a minified script) is skipped, which
    also keeps the look-ahead test below from taking time that grows with the square of its length.
    """
    found: list[str] = []
    for raw in CODE_TOKEN.findall(text):
        token = raw.strip(".:!?-").lower()
        if not 3 <= len(token) <= MAX_CODE_LENGTH or not _LOOKS_LIKE_CODE.search(token):
            continue
        found.append(token)
        hex_code = _HEX_CODE.match(token)
        if hex_code:
            found.append(hex_code.group(1))
    return found


@cache
def build_schema() -> fields.Schema:
    return fields.Schema(
        article_id=fields.ID(unique=True, stored=True),
        # The article's version when indexed: `kb doctor` compares it with the database.
        version=fields.STORED(),
        slug=fields.ID(stored=True),
        # The searched text: every part of the article, weighted (see FIELD_WEIGHTS).
        text=fields.TEXT(analyzer=weighted_analyzer(), phrase=False),
        # Positions for phrases ("quoted words", a pasted error message) in the title and body.
        title=fields.TEXT(analyzer=phrase_analyzer(), stored=True),
        body=fields.TEXT(analyzer=phrase_analyzer()),
        codes=fields.KEYWORD(lowercase=True, scorable=True),
        spelling=fields.TEXT(analyzer=spelling_analyzer(), phrase=False),
        summary=fields.STORED(),
        tags=fields.KEYWORD(stored=True, commas=True, lowercase=True),
        product=fields.ID(stored=True),
        audience=fields.ID(stored=True),
        status=fields.ID(stored=True),
        updated=fields.STORED(),
        verified=fields.STORED(),
        sections=fields.STORED(),
        # Per-document values read while ranking and counting facets, without loading stored fields:
        # helpfulness (0..1, 0.5 = no evidence) and freshness (days since 1970 of the last update
        # or verification).
        facets=fields.COLUMN(columns.VarBytesColumn()),
        helpful=fields.COLUMN(columns.NumericColumn("f", default=0.5)),
        fresh_day=fields.COLUMN(columns.NumericColumn("f", default=0.0)),
    )
