"""Benchmark queries, derived deterministically from a generated corpus.

Why derived from the corpus: a query about words the corpus never uses measures an empty lookup,
not search. Every class below starts from what the corpus actually contains (its word counts,
its products' customer phrasings, the error codes its articles cite), the way agents type what
the customer in front of them says. No query text repeats, so no cache can flatter a figure.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, replace
from typing import Callable, Sequence

from corpus import PRODUCTS, SEED, STOP_WORDS, Article, customer_phrasing, word_counts

CLASSES = ("prefix", "short", "sentence", "typo", "code")
# Sent with `typing=1`, as the search page sends what an agent types: the last word is matched as
# a prefix. Sentences are pasted, typos and codes checked as they are: sent without it.
TYPED_CLASSES = ("prefix", "short")
WARMUP_PER_CLASS = 4  # 5 classes x 4 = 20 warm-up queries, none of them measured
FREQUENT = 800  # "frequent word": among this many most common non-stop words
# QWERTY neighbours: substitution typos hit an adjacent key, as fingers do.
KEYBOARD_NEIGHBOURS = {
    "q": "wa",
    "w": "qes",
    "e": "wrd",
    "r": "etf",
    "t": "ryg",
    "y": "tuh",
    "u": "yij",
    "i": "uok",
    "o": "ipl",
    "p": "ol",
    "a": "qsz",
    "s": "adw",
    "d": "sfe",
    "f": "dgr",
    "g": "fht",
    "h": "gjy",
    "j": "hku",
    "k": "jli",
    "l": "ko",
    "z": "ax",
    "x": "zc",
    "c": "xv",
    "v": "cb",
    "b": "vn",
    "n": "bm",
    "m": "n",
}
SENTENCE_OPENERS = ("", "", "", "customer says ", "user reports ", "hi ", "she says ", "he says ")


@dataclass(frozen=True)
class Query:
    """One query as an agent would send it; `typing` means the last word is unfinished."""

    kind: str
    text: str
    typing: bool = False


@dataclass
class QuerySet:
    warmup: list[Query]
    measured: dict[str, list[Query]]


def build_queries(articles: Sequence[Article], per_class: int, seed: int = SEED) -> QuerySet:
    """`per_class` measured queries of each class plus the warm-up ones, all distinct."""
    counts = word_counts(articles)
    frequent = [w for w, _ in counts.most_common() if w.isalpha() and w not in STOP_WORDS and len(w) >= 3][:FREQUENT]
    long_words = [w for w in frequent if 5 <= len(w) <= 12]
    makers: dict[str, Callable[[random.Random], Query | None]] = {
        "prefix": lambda rng: _prefix(rng, long_words),
        "short": lambda rng: _short(rng, frequent),
        "sentence": _sentence,
        "typo": lambda rng: _typo(rng, long_words, frequent, counts),
        "code": _code_maker(articles),
    }
    warmup: list[Query] = []
    measured: dict[str, list[Query]] = {}
    for kind in CLASSES:
        made = _distinct(makers[kind], random.Random(f"{seed}:queries:{kind}"), per_class + WARMUP_PER_CLASS)
        queries = [replace(query, typing=kind in TYPED_CLASSES) for query in made]
        warmup += queries[:WARMUP_PER_CLASS]
        measured[kind] = queries[WARMUP_PER_CLASS:]
    return QuerySet(warmup, measured)


def _distinct(make: Callable[[random.Random], Query | None], rng: random.Random, count: int) -> list[Query]:
    """Draw until `count` different query texts are found (bounded, so a bad maker cannot hang)."""
    found: dict[str, Query] = {}
    for _ in range(count * 200):
        query = make(rng)
        if query is not None and query.text not in found:
            found[query.text] = query
            if len(found) == count:
                return list(found.values())
    raise ValueError(f"only {len(found)} distinct queries found, {count} needed")


def _zipf_pick(rng: random.Random, words: Sequence[str]) -> str:
    """Frequent words are typed more often: pick by rank with a 1/rank-like skew."""
    return words[min(len(words) - 1, int(len(words) ** rng.random()) - 1)]


def _prefix(rng: random.Random, long_words: Sequence[str]) -> Query | None:
    """ "outl", "passw": 3-5 letters of a frequent word still being typed."""
    word = _zipf_pick(rng, long_words)
    length = rng.randint(3, 5)
    return Query("prefix", word[:length]) if length < len(word) else None


def _short(rng: random.Random, frequent: Sequence[str]) -> Query:
    """One or two words as typed in the search box: "vpn", "printer offline", "outlook calendar"."""
    first = _zipf_pick(rng, frequent)
    roll = rng.random()
    if roll < 0.4:
        return Query("short", first)
    if roll < 0.7:
        product = rng.choice(PRODUCTS)
        return Query("short", f"{product.name.lower()} {rng.choice(product.terms).lower().split()[0]}")
    return Query("short", f"{first} {_zipf_pick(rng, frequent)}")


def _sentence(rng: random.Random) -> Query | None:
    """6-10 words in the customer's own words: "my outlook keeps asking for my password again"."""
    product = rng.choices(PRODUCTS, weights=[p.weight for p in PRODUCTS])[0]
    text = (rng.choice(SENTENCE_OPENERS) + customer_phrasing(rng, product)).lower()
    return Query("sentence", text) if 6 <= len(text.split()) <= 10 else None


def _typo(rng: random.Random, long_words: Sequence[str], frequent: Sequence[str], counts: Counter[str]) -> Query | None:
    """A real word with one edit (never the first letter), sometimes beside a correct word."""
    word = _zipf_pick(rng, long_words)
    typo = _one_edit(rng, word)
    if typo in counts or typo == word:
        return None  # the "typo" is itself a word of the corpus: not a typo
    if rng.random() < 0.5:
        other = _zipf_pick(rng, frequent)
        typo = f"{other} {typo}" if rng.random() < 0.5 else f"{typo} {other}"
    return Query("typo", typo)


def _one_edit(rng: random.Random, word: str) -> str:
    position = rng.randrange(1, len(word) - 1)
    kind = rng.choice(("deletion", "transposition", "substitution"))
    if kind == "deletion":
        return word[:position] + word[position + 1 :]
    if kind == "transposition":
        return word[:position] + word[position + 1] + word[position] + word[position + 2 :]
    letter = word[position]
    replacement = rng.choice(KEYBOARD_NEIGHBOURS.get(letter, "e"))
    return word[:position] + replacement + word[position + 1 :]


def _code_maker(articles: Sequence[Article]) -> Callable[[random.Random], Query | None]:
    """Error codes the corpus cites: half as often as they are cited, half any cited code."""
    cited = sorted({code for article in articles for code in article.codes})

    def make(rng: random.Random) -> Query | None:
        if rng.random() < 0.5:
            codes = rng.choice(articles).codes
            # An article whose text cites no code yields no query; _distinct draws again.
            return Query("code", rng.choice(codes)) if codes else None
        return Query("code", rng.choice(cited))

    return make
