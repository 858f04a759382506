"""The Whoosh schema: declared once, versioned, and the only place analyzers are defined.

Bump SCHEMA_VERSION whenever a field or analyzer changes: an index built with another version
is rebuilt from the database on open, since the index is only a projection of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import islice
from typing import Any, Callable, Iterable, Sequence

from whoosh import columns, fields
from whoosh.analysis import (
    Analyzer,
    CharsetFilter,
    Filter,
    LowercaseFilter,
    RegexTokenizer,
    StopFilter,
)
from whoosh.analysis.filters import STOP_WORDS
from whoosh.lang.porter import stem
from whoosh.support.charset import accent_map
from whoosh.system import pack_uint

from kb.search.semantic import VECTOR_BYTES

SCHEMA_VERSION = 11

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
# A code has a digit and a letter, or a mark of its own. Searched as separate expressions: a
# look-ahead like (?=.*\d) reads the rest of the token again from every position it is tried at.
_DIGIT = re.compile(r"\d")
_LETTER = re.compile(r"[a-z]", re.IGNORECASE)
_CODE_MARK = re.compile(r"_|\\|::|\d[.\-]\d|^[a-z]:/|^/[a-z]", re.IGNORECASE)
_HEX_CODE = re.compile(r"^0x([0-9a-f]{4,})$")
_CODE_CANDIDATE = re.compile(r"[^\s,;()\[\]{}<>\"'`|]{3,}")  # a CODE_TOKEN long enough to be a code


# Words, and distinct words, indexed per field of one article. Whoosh spends 1-2 µs on a word and
# about 10 µs more on each new one (stemming, postings): a 500 KB body of one-letter lines holds
# 250,000 words, a pasted list of hashes 50,000 distinct ones. All 197 real support articles kb was
# tried on, 660 KB together, hold 100,000 words and 6,300 distinct ones.
MAX_TOKENS = 100_000
MAX_TERMS = 20_000


class TokenLimitFilter(Filter):
    """Pass on the first `limit` tokens only (the rest of a pasted log is not searchable)."""

    def __init__(self, limit: int = MAX_TOKENS):
        self.limit = limit

    def __call__(self, tokens):
        return islice(tokens, self.limit)


class TermLimitFilter(Filter):
    """Pass on the tokens of the first `limit` distinct words only."""

    def __init__(self, limit: int = MAX_TERMS):
        self.limit = limit

    def __call__(self, tokens):
        seen: set[str] = set()
        limit = self.limit
        for token in tokens:
            text = token.text
            if text not in seen:
                if len(seen) >= limit:
                    continue
                seen.add(text)
            yield token


def _words() -> Analyzer:
    """Words, bounded: the limits come before lowercasing and stemming, which cost most."""
    return RegexTokenizer() | TokenLimitFilter() | TermLimitFilter()


@lru_cache(maxsize=200_000)
def _indexed_form(word: str, stop: bool) -> str | None:
    """`word` as the index holds it (lowercased, stemmed, accents folded), None for a stop word."""
    lowered = word.lower()
    if stop and (len(lowered) < 2 or lowered in STOP_WORDS):
        return None
    return stem(lowered).translate(accent_map)


class IndexFormFilter(Filter):
    """Whoosh's LowercaseFilter, StopFilter (when `stop`), StemFilter and CharsetFilter(accent_map)
    in one step, with the same output, and the part weights of PartWeightFilter (when `weights`).

    The text and body fields analyse every word of an article, so the per-token work of five
    chained generators and Whoosh's Python-level stem cache was a third of indexing a 500 KB
    article; here each word is one lookup in a C-level cache shared by the whole process.
    """

    def __init__(self, *, stop: bool, weights: bool = False):
        self.stop, self.weights = stop, weights

    def __eq__(self, other):
        return (
            other is not None
            and self.__class__ is other.__class__
            and (self.stop, self.weights) == (other.stop, other.weights)
        )

    def __call__(self, tokens):
        stop, weights, weight, pos = self.stop, self.weights, 1.0, None
        for token in tokens:
            if weights:
                weight_mark = _part_weight(token.text)
                if weight_mark is not None:
                    weight = weight_mark
                    continue
                token.boost = weight
            form = _indexed_form(token.text, stop)
            if form is None:  # a stop word: kept, marked, only when the caller keeps stop words
                if not token.removestops:
                    token.text, token.stopped = token.text.lower().translate(accent_map), True
                    yield token
                continue
            if stop and token.positions:  # renumbered without the stop words, as StopFilter does
                pos = token.pos if pos is None else pos + 1
                token.pos = pos
            token.text, token.stopped = form, False
            yield token


def text_analyzer() -> Analyzer:
    """Words, lowercased, stop words removed, stemmed, accents folded."""
    return _words() | IndexFormFilter(stop=True)


def phrase_analyzer() -> Analyzer:
    """Stemmed words with the stop words kept, for phrases.

    Customers' phrasings are full of stop words ("that's not what I asked"); a phrase can only
    match them word for word when the positions keep those words.
    """
    return _words() | IndexFormFilter(stop=False)


def weighted_text(parts: dict[str, str]) -> str:
    """Join an article's parts into the `text` field's value, each preceded by its weight mark."""
    return "\n".join(f"{_WEIGHT_MARK}{round(FIELD_WEIGHTS[name] * 10)} {text}" for name, text in parts.items() if text)


def _part_weight(word: str) -> float | None:
    """The weight a weight mark gives the words after it (see weighted_text); None for a word."""
    if word.startswith(_WEIGHT_MARK) and word[len(_WEIGHT_MARK) :].isdigit():
        return int(word[len(_WEIGHT_MARK) :]) / 10
    return None


def weighted_analyzer() -> Analyzer:
    """The text analyzer, with each token weighted by its part (see weighted_text)."""
    return _words() | IndexFormFilter(stop=True, weights=True)


PUBLISHED_SPELLING, UNPUBLISHED_SPELLING = "spelling", "spelling_unpublished"


def spelling_fields(statuses: Iterable[str]) -> tuple[str, ...]:
    """The spelling fields holding the words of articles in `statuses` (status values)."""
    statuses = set(statuses)
    unpublished = bool(statuses - {"published"})
    return (PUBLISHED_SPELLING, UNPUBLISHED_SPELLING) if unpublished else (PUBLISHED_SPELLING,)


def spelling_analyzer() -> Analyzer:
    """Unstemmed words: the vocabulary for prefixes, typos and "did you mean".

    Stemmed terms make poor suggestions ("connect" for "connection"), so this field keeps the
    words as written, only lowercased and accent-folded.
    """
    return _words() | LowercaseFilter() | CharsetFilter(accent_map) | StopFilter(minsize=2)


def code_tokens(text: str) -> list[str]:
    """Return the code-like tokens of `text`, lowercased, each code also without its `0x`.

    Codes are short: a longer token (a pasted base64 image, a minified script) is skipped. Past
    MAX_TERMS distinct codes (a pasted list of hashes), only those already found are kept.
    """
    found: list[str] = []
    distinct: set[str] = set()
    for raw in _CODE_CANDIDATE.findall(text):
        token = raw.strip(".:!?-").lower()
        if not 3 <= len(token) <= MAX_CODE_LENGTH or not _looks_like_code(token):
            continue
        if token not in distinct:
            if len(distinct) >= MAX_TERMS:
                continue
            distinct.add(token)
        found.append(token)
        hex_code = _HEX_CODE.match(token)
        if hex_code:
            found.append(hex_code.group(1))
    return found


def _looks_like_code(token: str) -> bool:
    return bool(_DIGIT.search(token) and _LETTER.search(token) or _CODE_MARK.search(token))


@dataclass(frozen=True, slots=True)
class Analyzed:
    """A field's value analyzed ahead of the index writer: the rows Whoosh's `FieldType.index`
    yields (term, frequency, weight, encoded positions).

    Analysis is per-word Python work, a third of what the single writer process did in a
    `kb reindex`; done in the processes that render the articles, it runs on the other cores.
    """

    rows: list[tuple[bytes, int, float, bytes | None]]


class _TakesAnalyzed:
    """A field that files an Analyzed value as it is and analyzes anything else itself."""

    def index(self, value, **kwargs):
        if isinstance(value, Analyzed):
            return iter(value.rows)
        return super().index(value, **kwargs)


class Text(_TakesAnalyzed, fields.TEXT):
    pass


class Keyword(_TakesAnalyzed, fields.KEYWORD):
    pass


# --- the same analysis without Whoosh's token stream ------------------------------------------
# Whoosh passes one Token object through a generator per filter for every word, and a rebuild
# analyzes each article's words three times (text, body, spelling): that was a quarter of the CPU
# of `kb reindex`. For the analyzers above, these functions compute the same rows (same terms,
# frequencies, weights summed in the same order, same encoded positions) from one list of words.
# tests/test_fast_analysis.py holds them to Whoosh's own output on real and hostile text.

_TOKEN = re.compile(r"\w+(?:\.?\w+)*")  # RegexTokenizer's default expression, without its group


def _bounded(value: str) -> tuple[list[str], Sequence[int]]:
    """The words `_words()` yields and their positions: the first MAX_TOKENS words, and of those
    only the ones among the first MAX_TERMS distinct words (the others still take a position)."""
    words = _TOKEN.findall(value)[:MAX_TOKENS]
    if len(set(words)) <= MAX_TERMS:
        return words, range(len(words))
    seen: set[str] = set()
    kept, positions = [], []
    for pos, word in enumerate(words):
        if word not in seen:
            if len(seen) >= MAX_TERMS:
                continue
            seen.add(word)
        kept.append(word)
        positions.append(pos)
    return kept, positions


def _frequency_rows(counts: dict[str, int], weights: dict[str, float], boost: float) -> list[tuple]:
    return [(term.encode("utf-8"), n, weights[term] * boost, pack_uint(n)) for term, n in counts.items()]


def _weighted_rows(value: str, boost: float) -> list[tuple]:
    """weighted_analyzer() into a Frequency field (`text`)."""
    counts: dict[str, int] = {}
    weights: dict[str, float] = {}
    weight = 1.0
    for word in _bounded(value)[0]:
        if word.startswith(_WEIGHT_MARK):
            mark = _part_weight(word)
            if mark is not None:
                weight = mark
                continue
        form = _indexed_form(word, True)
        if form is not None:
            counts[form] = counts.get(form, 0) + 1
            weights[form] = weights.get(form, 0.0) + weight
    return _frequency_rows(counts, weights, boost)


def _phrase_rows(value: str, boost: float, encode: Callable[[list[int]], bytes]) -> list[tuple]:
    """phrase_analyzer() into a Positions field (`title`, `body`)."""
    positions: dict[str, list[int]] = {}
    for word, pos in zip(*_bounded(value), strict=True):
        positions.setdefault(_indexed_form(word, False), []).append(pos)
    return [(term.encode("utf-8"), len(at), len(at) * 1.0 * boost, encode(at)) for term, at in positions.items()]


def _spelling_rows(value: str, boost: float) -> list[tuple]:
    """spelling_analyzer() into a Frequency field (`spelling`, `spelling_unpublished`)."""
    counts: dict[str, int] = {}
    for word in _bounded(value)[0]:
        folded = word.lower().translate(accent_map)
        if len(folded) >= 2 and folded not in STOP_WORDS:
            counts[folded] = counts.get(folded, 0) + 1
    return _frequency_rows(counts, {term: float(n) for term, n in counts.items()}, boost)


def _direct_rows(name: str, field: Any, value: str) -> list[tuple] | None:
    """The field's rows computed directly, or None where only Whoosh's own analysis will do."""
    boost = field.format.field_boost
    if name == "text":
        return _weighted_rows(value, boost)
    if name in ("title", "body"):
        return _phrase_rows(value, boost, field.format.encode)
    if name in (PUBLISHED_SPELLING, UNPUBLISHED_SPELLING):
        return _spelling_rows(value, boost)
    return None


def whoosh_rows(field: Any, value: str) -> list[tuple]:
    """The rows Whoosh's own analysis gives (what the direct ones must equal)."""
    return list(field.index(value))


def analyzed(document: dict[str, Any]) -> dict[str, Any]:
    """`document` with the value of every text and keyword field analyzed (see Analyzed).

    A stored field keeps its text to store beside its analyzed value (Whoosh's `_stored_` name).
    """
    schema = build_schema()
    result: dict[str, Any] = {}
    for name, value in document.items():
        field = schema[name]
        if isinstance(field, _TakesAnalyzed) and isinstance(value, str):
            rows = _direct_rows(name, field, value)
            result[name] = Analyzed(whoosh_rows(field, value) if rows is None else rows)
            if field.stored:
                result[f"_stored_{name}"] = value
        else:
            result[name] = value
    return result


@cache
def build_schema() -> fields.Schema:
    return fields.Schema(
        article_id=fields.ID(unique=True, stored=True),
        # The article's version when indexed: `kb doctor` compares it with the database.
        version=fields.STORED(),
        slug=fields.ID(stored=True),
        # The searched text: every part of the article, weighted (see FIELD_WEIGHTS).
        text=Text(analyzer=weighted_analyzer(), phrase=False),
        # Positions for phrases ("quoted words", a pasted error message) in the title and body.
        title=Text(analyzer=phrase_analyzer(), stored=True),
        body=Text(analyzer=phrase_analyzer()),
        codes=Keyword(lowercase=True, scorable=True),
        # The words of published articles, and those of the others (drafts, in review, archived):
        # completions and "did you mean" read only what the searcher may read (kb.search.query).
        spelling=Text(analyzer=spelling_analyzer(), phrase=False),
        spelling_unpublished=Text(analyzer=spelling_analyzer(), phrase=False),
        summary=fields.STORED(),
        tags=Keyword(stored=True, commas=True, lowercase=True),
        product=fields.ID(stored=True),
        audience=fields.ID(stored=True),
        status=fields.ID(stored=True),
        updated=fields.STORED(),
        verified=fields.STORED(),
        sections=fields.STORED(),
        # Per-document values read while ranking and counting facets, without loading stored fields:
        # the article's id (its helpfulness is kept beside the index, see kb.search.helpfulness)
        # and freshness (days since 1970 of the last update or verification).
        facets=fields.COLUMN(columns.VarBytesColumn()),
        article_number=fields.COLUMN(columns.NumericColumn("i", default=0)),
        fresh_day=fields.COLUMN(columns.NumericColumn("f", default=0.0)),
        # Meaning (kb.search.semantic): the article's unit vector, and one per section, float16.
        vector=fields.COLUMN(columns.FixedBytesColumn(VECTOR_BYTES, default=bytes(VECTOR_BYTES))),
        section_vectors=fields.COLUMN(columns.VarBytesColumn()),
        # The pairs of neighbouring words in the title and in each section (kb.search.pairs).
        pairs=fields.COLUMN(columns.VarBytesColumn()),
    )
