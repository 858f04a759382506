"""Search: the public face of kb's Whoosh index.

Views and the CLI call `search()` and `sync()`; they never see a Whoosh object. Results are plain
dataclasses. One searcher per process is kept open and refreshed when the index changed, since
opening one per query costs more than the query itself.
"""

from __future__ import annotations

import json
import pickle
import re
import struct
import threading
import time
import zlib
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
from flask import Flask, current_app
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from whoosh.index import IndexError as WhooshIndexError

from kb.models import IndexEvent, Status
from kb.search import indexer
from kb.search.indexer import IndexDamaged
from kb.search.query import QueryPlan, Vocabulary, build, spelled_out
from kb.search.scorer import Scorer
from kb.search.snippets import Highlighter, best_snippet

__all__ = ["IndexDamaged", "SearchHit", "SearchPage", "Filters", "Vocabulary", "search", "sync", "init_app"]

# What reading a damaged index file raises (besides whoosh's own errors).
READ_ERRORS = (WhooshIndexError, EOFError, OSError, struct.error, zlib.error, pickle.UnpicklingError)
# Ranking and facet counts look at this many best text matches.
CANDIDATES = 100
# Bounds of the quality prior (helpful, verified, fresh): gentle enough never to bury a much
# better text match.
PRIOR_MIN, PRIOR_MAX = 0.85, 1.0
FRESH_DAYS = 90
# Score factor for articles holding the query's words in the typed order (a pasted message),
# checked on at most PHRASE_DEPTH of the articles holding all those words.
PHRASE_BONUS, PHRASE_DEPTH = 2.5, 100
# BM25 saturation and length normalization. Measured on the relevance dev set (benchmarks/).
BM25_K1, BM25_B = 2.0, 0.9


@dataclass(frozen=True)
class Filters:
    product: str | None = None
    tag: str | None = None
    audience: str | None = None

    def items(self) -> list[tuple[str, str]]:
        return [(k, v) for k, v in (("product", self.product), ("tag", self.tag), ("audience", self.audience)) if v]


@dataclass
class SearchHit:
    slug: str
    title: str
    title_html: Markup
    summary: str
    snippet: Markup
    section: str
    anchor: str
    tags: list[str]
    product: str
    audience: str
    status: str
    updated: str
    verified: str
    score: float


@dataclass
class FacetValue:
    value: str
    count: int


@dataclass
class SearchPage:
    query: str
    total: int  # exact below CANDIDATES; at CANDIDATES, "at least" (see total_exact)
    took_ms: float
    hits: list[SearchHit] = field(default_factory=list)
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    suggestion: str | None = None
    filters: Filters = field(default_factory=Filters)
    total_exact: bool = True


class SearchService:
    """Owns this process's view of one index folder: the open index and a reused searcher."""

    def __init__(self, index_dir: Path, *, term_cache_mb: int):
        self.index_dir = index_dir
        self.term_cache_mb = term_cache_mb
        self._lock = threading.RLock()
        self._searcher = None
        self._scorer: Scorer | None = None
        self._lengths_cache: dict = {}  # per-segment field lengths, kept across refreshes

    def searcher(self):
        """The shared searcher, refreshed if the index changed since it was opened."""
        if self._searcher is None:
            self._searcher = indexer.open_index(self.index_dir).searcher()
            self._scorer = None
        elif not self._searcher.up_to_date():
            self._searcher = self._searcher.refresh()
            self._scorer = None
        return self._searcher

    def scorer(self) -> Scorer:
        """The scorer of the current searcher (call searcher() first in the same lock)."""
        if self._scorer is None:
            self._scorer = Scorer(
                self._searcher,
                k1=BM25_K1,
                b=BM25_B,
                lengths_cache=self._lengths_cache,
                term_cache_bytes=self.term_cache_mb << 20,
            )
            current = {reader.segment().segment_id() for reader, _ in self._scorer.leaves}
            for key in [k for k in self._lengths_cache if k[0] not in current]:
                del self._lengths_cache[key]  # a merge replaced that segment
        return self._scorer

    @contextmanager
    def _reading(self):
        """Hold the searcher; turn errors from damaged index files into IndexDamaged."""
        with self._lock:
            try:
                yield self.searcher()
            except IndexDamaged:
                self._searcher = None
                raise
            except READ_ERRORS as exc:
                self._searcher = None
                raise IndexDamaged(self.index_dir, f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None

    def search(
        self,
        text: str,
        *,
        statuses: Iterable[Status],
        limit: int = 10,
        filters: Filters = Filters(),
        vocabulary: Vocabulary | None = None,
        typing: bool = False,
    ) -> SearchPage:
        started = time.perf_counter()
        with self._reading() as searcher:
            plan = build(text, searcher.reader(), vocabulary, typing=typing)
            page = SearchPage(query=text, total=0, took_ms=0.0, filters=filters)
            if not plan.is_empty:
                stored: dict[int, dict] = {}
                ranked = _ranked(self.scorer(), plan, statuses, filters, stored)
                page.total, page.total_exact = len(ranked), len(ranked) < CANDIDATES
                page.facets = _facets(searcher, [docnum for _, docnum in ranked])
                highlighter = Highlighter(plan.highlight)
                page.hits = [
                    _hit(_stored(searcher, docnum, stored), score, highlighter) for score, docnum in ranked[:limit]
                ]
                if plan.corrections:
                    page.suggestion = spelled_out(text, plan.corrections)
        page.took_ms = round((time.perf_counter() - started) * 1000, 1)
        return page

    def ranked_slugs(self, text: str, *, limit: int, vocabulary: Vocabulary | None = None) -> list[str]:
        """The slugs an agent would see for `text`, best first: ranking only, no snippets or facets."""
        with self._reading() as searcher:
            plan = build(text, searcher.reader(), vocabulary)
            if plan.is_empty:
                return []
            stored: dict[int, dict] = {}
            ranked = _ranked(self.scorer(), plan, [Status.PUBLISHED], Filters(), stored)[:limit]
            return [_stored(searcher, docnum, stored)["slug"] for _, docnum in ranked]

    def query_terms(self, text: str, vocabulary: Vocabulary | None = None) -> set[str]:
        """Every term a search for `text` would look for: stems, corrections, synonyms, codes."""
        with self._reading() as searcher:
            return build(text, searcher.reader(), vocabulary).highlight


def _ranked(
    scorer: Scorer, plan: QueryPlan, statuses: Iterable[Status], filters: Filters, stored: dict
) -> list[tuple[float, int]]:
    """The best CANDIDATES matches as (score, docnum), best first, after the phrase bonus and prior.

    Matches beyond CANDIDATES are not counted: counting every article that shares one word with
    a long query would cost more than it tells an agent. `stored` caches the stored fields read.
    """
    scores = scorer.scores(plan.clauses)
    mask = _filter_mask(scorer, statuses, filters)
    if plan.in_order is not None:
        _reward_typed_order(scorer, plan, scores, mask, stored)
    return _rerank(scorer.searcher, scorer.top(scores, mask, CANDIDATES))


def _reward_typed_order(scorer: Scorer, plan: QueryPlan, scores, mask, stored: dict) -> None:
    """Multiply the scores of articles holding the typed words in the typed order.

    Only articles holding all those words can, so the (short) list of those is checked against
    the stored text, the best-scoring PHRASE_DEPTH of them at most.
    """
    holding = scorer.holding_all("text", plan.in_order_terms)
    holding = holding[mask[holding]]
    if len(holding) > PHRASE_DEPTH:
        holding = holding[np.argsort(-scores[holding], kind="stable")[:PHRASE_DEPTH]]
    for docnum in holding.tolist():
        if _holds(plan.in_order, _stored(scorer.searcher, docnum, stored)):
            scores[docnum] *= PHRASE_BONUS


def _stored(searcher, docnum: int, cache: dict) -> dict:
    if docnum not in cache:
        cache[docnum] = searcher.stored_fields(docnum)
    return cache[docnum]


def _holds(pattern: re.Pattern[str], fields: dict) -> bool:
    """Whether the article's title or text holds the typed words in the typed order."""
    return bool(pattern.search(fields["title"]) or any(pattern.search(text) for _, _, text in _sections(fields)))


def _sections(fields: dict) -> list[list[str]]:
    """The stored (heading, anchor, text) sections, decoded once per request."""
    if "_sections" not in fields:
        fields["_sections"] = json.loads(fields["sections"])
    return fields["_sections"]


def _filter_mask(scorer: Scorer, statuses: Iterable[Status], filters: Filters):
    mask = scorer.documents_with("status", [s.value for s in statuses])
    for fieldname, value in (
        ("product", filters.product),
        ("tags", (filters.tag or "").lower()),
        ("audience", filters.audience),
    ):
        if value:
            mask &= scorer.documents_with(fieldname, [value])
    return mask


def _rerank(searcher, scored: list[tuple[float, int]]) -> list[tuple[float, int]]:
    """Scale each text score by the article's quality prior (bounded, see PRIOR_MIN/MAX)."""
    reader = searcher.reader()
    helpful, fresh_day = reader.column_reader("helpful"), reader.column_reader("fresh_day")
    today = time.time() / 86400
    rescored = [(score * prior(helpful[docnum], today - fresh_day[docnum]), docnum) for score, docnum in scored]
    return sorted(rescored, key=lambda pair: (-pair[0], pair[1]))


def prior(helpfulness: float, age_days: float) -> float:
    """Half helpfulness, half freshness, mapped onto [PRIOR_MIN, PRIOR_MAX].

    Freshness is full for 90 days after an update or verification, then fades over about a
    year; an article nobody voted on sits in the middle.
    """
    freshness = 1.0 if age_days <= FRESH_DAYS else 1.0 / (1.0 + (age_days - FRESH_DAYS) / 365.0)
    quality = 0.5 * min(1.0, max(0.0, helpfulness)) + 0.5 * freshness
    return PRIOR_MIN + (PRIOR_MAX - PRIOR_MIN) * quality


def _facets(searcher, docnums: list[int]) -> dict[str, list[FacetValue]]:
    column = searcher.reader().column_reader("facets")
    counts: dict[str, Counter[str]] = {"product": Counter(), "tag": Counter(), "audience": Counter()}
    for docnum in docnums:
        product, audience, tags = json.loads(column[docnum])
        if product:
            counts["product"][product] += 1
        counts["audience"][audience] += 1
        counts["tag"].update(tags)
    return {
        name: [FacetValue(value, n) for value, n in sorted(counter.items(), key=lambda item: (-item[1], item[0]))]
        for name, counter in counts.items()
    }


def _hit(stored: dict, score: float, highlighter: Highlighter) -> SearchHit:
    snippet = best_snippet(_sections(stored), highlighter, stored["summary"])
    tags = [t for t in stored["tags"].split(",") if t]
    return SearchHit(
        slug=stored["slug"],
        title=stored["title"],
        title_html=highlighter.mark(stored["title"]),
        summary=stored["summary"].split("\n")[0],
        snippet=snippet.html,
        section=snippet.heading,
        anchor=snippet.anchor,
        tags=tags,
        product=stored["product"],
        audience=stored["audience"],
        status=stored["status"],
        updated=stored["updated"],
        verified=stored["verified"],
        score=round(score, 4),
    )


# --- the application's search service ------------------------------------------------------------


def init_app(app: Flask) -> None:
    app.extensions["kb.search"] = SearchService(
        Path(app.config["INDEX_DIR"]), term_cache_mb=int(app.config["SEARCH_TERM_CACHE_MB"])
    )


def service() -> SearchService:
    return current_app.extensions["kb.search"]


def search(text: str, **options) -> SearchPage:
    return service().search(text, **options)


def ranked_slugs(text: str, **options) -> list[str]:
    return service().ranked_slugs(text, **options)


def query_terms(text: str, vocabulary: Vocabulary | None = None) -> set[str]:
    return service().query_terms(text, vocabulary)


def sync(session: Session, *, progress: indexer.Progress | None = None) -> int:
    """Bring the index up to date with the database (rebuilding it if missing); return docs written."""
    svc = service()
    with svc._lock:
        written = indexer.apply_pending(session, svc.index_dir, progress=progress)
    return written


def is_behind(session: Session) -> bool:
    """Whether the database holds changes this index has not applied (cheap: one query, one file)."""
    index_dir = service().index_dir
    if indexer.needs_rebuild(index_dir):
        return True
    latest = session.scalar(select(func.max(IndexEvent.id))) or 0
    return latest > indexer.read_state(index_dir).last_event_id


def rebuild(session: Session, *, progress: indexer.Progress | None = None) -> int:
    svc = service()
    with svc._lock:
        svc.close()
        return indexer.rebuild(session, svc.index_dir, progress=progress)


def check() -> str | None:
    return indexer.check(service().index_dir)
