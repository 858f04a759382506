"""What a short query's typed words say about the article it was written for.

Three typed words can only find an article they point at. This sorts the short queries by how
much their words point at the judged article and counts kb's misses in each group, so that the
distance to a Recall@3 target can be read against what the queries carry. No ranker of words
can find an article none of the typed words occur in; one that names only the product leaves a
guess among that product's articles. Counted on the articles' own text, so it holds for any
ranker, kb or baseline.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

# A word held by at most this share of the articles tells them apart.
DISTINCTIVE_SHARE = 0.1

GROUPS = (
    "no typed word (nor the half-typed one) occurs in the article",
    "only words common across the articles, none in the title",
    "one title word, nothing distinctive",
    "a distinctive word, or two title words",
)

_WORD = re.compile(r"[a-z0-9]+")


class Article(Protocol):
    id: str
    title: str
    body: str


@dataclass(frozen=True)
class Group:
    name: str
    queries: int
    misses: int


class Evidence:
    """The articles' words and titles' words, and how many articles hold each word."""

    def __init__(self, articles: Iterable[Article]):
        self.words: dict[str, frozenset[str]] = {}
        self.title_words: dict[str, frozenset[str]] = {}
        for article in articles:
            self.title_words[article.id] = frozenset(_WORD.findall(article.title.lower()))
            self.words[article.id] = self.title_words[article.id] | set(_WORD.findall(article.body.lower()))
        self.held_by = Counter(word for words in self.words.values() for word in words)
        self.distinctive = DISTINCTIVE_SHARE * len(self.words)

    def group(self, typed: str, article_id: str) -> int:
        """The index in GROUPS of what `typed` (its last word half-typed) says about the article.

        The half-typed word counts where it starts a word of the article or title; only whole
        words count as distinctive (a start of words is shared by many).
        """
        *whole, started = _WORD.findall(typed.lower()) or [""]
        words, title = self.words[article_id], self.title_words[article_id]
        in_article = [w for w in whole if w in words] + [started] * _starts_any(started, words)
        in_title = [w for w in whole if w in title] + [started] * _starts_any(started, title)
        distinctive = [w for w in whole if w in words and self.held_by[w] <= self.distinctive]
        if not in_article:
            return 0
        if not in_title and not distinctive:
            return 1
        if not distinctive and len(in_title) <= 1:
            return 2
        return 3


def _starts_any(prefix: str, words: frozenset[str]) -> bool:
    return bool(prefix) and any(word.startswith(prefix) for word in words)


def groups(
    evidence: Evidence, texts: Mapping[str, str], qrels: Mapping[str, set[str]], found: Mapping[str, bool]
) -> list[Group]:
    """Queries and misses per group. A query judged against several articles counts under the
    one its words point at most; `found`: whether the ranker had a relevant article in its top 3."""
    queries, misses = Counter(), Counter()
    for query_id, text in texts.items():
        index = max(evidence.group(text, article) for article in qrels[query_id])
        queries[index] += 1
        misses[index] += not found[query_id]
    return [Group(name, queries[i], misses[i]) for i, name in enumerate(GROUPS)]
