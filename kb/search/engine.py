"""The search engine: this process's readers of one index folder, and ranking.

A Whoosh searcher is not safe to share between threads (its files keep a read position), and
one lock around a shared searcher made every search wait for the slowest. So each search borrows
a `Snapshot` (a searcher, its scorer and their caches) from a small pool, refreshes it if the
index changed, and gives it back: searches run side by side and never wait for one another or
for the index writer. Opening a snapshot costs a few milliseconds (see kb.search.storage), and
the pool never holds more than one per concurrent search.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from whoosh.reading import ReaderClosed
from whoosh.searching import Searcher

from kb.models import Status
from kb.search import fusion, pairs, semantic, suggest
from kb.search.helpfulness import Helpfulness
from kb.search.indexer import IndexDamaged, is_index_error
from kb.search.query import QueryPlan, Vocabulary, build, spelled_out
from kb.search.results import FacetValue, Filters, SearchHit, SearchPage
from kb.search.schema import code_tokens, spelling_fields
from kb.search.scorer import Scorer
from kb.search.segments import SegmentCache
from kb.search.snippets import Highlighter, best_snippet
from kb.search.storage import MappedStorage, reopened

# Ranking and facet counts look at this many best text matches.
CANDIDATES = 100
# Bounds of the quality prior (helpful, verified, fresh): gentle enough never to bury a much
# better text match.
PRIOR_MIN, PRIOR_MAX = 0.85, 1.0
FRESH_DAYS = 90
# Score factor for articles holding the query's words in the typed order (a pasted message),
# checked on at most PHRASE_DEPTH of the articles holding all those words.
PHRASE_BONUS, PHRASE_DEPTH = 2.5, 100
# The passage shown for the best results weighs the sections' meaning as well as their words.
SECTION_RANKED = 3
# BM25 saturation and length normalization. Measured on the relevance dev set (benchmarks/).
BM25_K1, BM25_B = 2.0, 0.9


class Snapshot:
    """A searcher and its scorer, used by one thread at a time and refreshed when the index changes."""

    def __init__(self, index_dir: Path, *, term_cache_bytes: int, segments: SegmentCache):
        try:
            self._index = MappedStorage(str(index_dir)).open_index()
            self.searcher = self._index.searcher()
        except Exception as exc:  # whoosh raises many types for a missing or damaged index
            raise IndexDamaged(index_dir, f"{type(exc).__name__}: {exc}") from exc
        self._term_cache_bytes = term_cache_bytes
        self._segments = segments  # what was read of each segment, shared by every snapshot
        self._scorer: Scorer | None = None

    def refresh(self) -> None:
        """Follow the index to its latest commit (cheap when nothing changed).

        Not with Whoosh's `Searcher.refresh`: it closes the old readers, and when a merge deletes
        a segment file while it opens the new ones, it retries and closes them a second time
        ("Reader already closed": a 500 under load). So: a new searcher that takes over the old
        one's readers of the segments still listed (kb.search.storage.reopened) and closes the
        rest; what is worth keeping of a segment beyond its open files lives in the SegmentCache.
        """
        if self._index.latest_generation() == self.searcher.reader().generation():
            return
        old, self._scorer = self.searcher, None
        try:
            self.searcher = Searcher(reopened(self._index, old.reader()), fromindex=self._index)
        except OSError:  # a merge removed a file as it was opened: open afresh (Whoosh retries that)
            self.searcher = self._index.searcher()
            _close(old)

    @property
    def scorer(self) -> Scorer:
        if self._scorer is None:
            self._scorer = Scorer(
                self.searcher,
                k1=BM25_K1,
                b=BM25_B,
                segments=self._segments,
                term_cache_bytes=self._term_cache_bytes,
            )
            # A merge replaced what is not listed (or a newer snapshot is ahead: read again then).
            self._segments.keep_only(reader.segment().segment_id() for reader, _ in self._scorer.leaves)
        return self._scorer

    def close(self) -> None:
        _close(self.searcher)


def _close(searcher) -> None:
    try:
        searcher.close()
    except ReaderClosed:  # closed already, by a refresh that failed half-way
        pass


class SearchService:
    """Owns this process's view of one index folder: a pool of snapshots, one per running search."""

    def __init__(
        self,
        index_dir: Path,
        *,
        term_cache_mb: int,
        pool_size: int = 4,
        meaning: bool = True,
        helpfulness: Helpfulness | None = None,
    ):
        self.index_dir = index_dir
        self.meaning = meaning
        self.helpfulness = helpfulness or Helpfulness()
        self.pool_size = max(1, pool_size)
        # The budget is per process: half keeps decoded postings and a quarter the stored text of
        # recently read articles, per segment (they survive writes); each pooled snapshot keeps a
        # share of the last quarter for BM25 scores, cheap to recompute.
        budget = term_cache_mb << 20
        self._segments = SegmentCache(postings_bytes=budget // 2, documents_bytes=budget // 4)
        self._term_cache_bytes = budget // 4 // self.pool_size
        self._idle: list[Snapshot] = []
        self._lock = threading.Lock()  # guards _idle only, held for microseconds

    @contextmanager
    def reading(self) -> Iterator[Snapshot]:
        """Borrow an up-to-date snapshot; errors from damaged index files become IndexDamaged."""
        snapshot = self._borrow()
        try:
            snapshot.refresh()
            yield snapshot
        except IndexDamaged:
            snapshot.close()
            raise
        except Exception as exc:
            if not is_index_error(exc):
                self._give_back(snapshot)
                raise
            snapshot.close()
            raise IndexDamaged(self.index_dir, f"{type(exc).__name__}: {exc}") from exc
        self._give_back(snapshot)

    def _borrow(self) -> Snapshot:
        with self._lock:
            if self._idle:
                return self._idle.pop()  # the most recently used: its caches are warmest
        return Snapshot(self.index_dir, term_cache_bytes=self._term_cache_bytes, segments=self._segments)

    def _give_back(self, snapshot: Snapshot) -> None:
        with self._lock:
            if len(self._idle) < self.pool_size:
                self._idle.append(snapshot)
                return
        snapshot.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for snapshot in idle:
            snapshot.close()

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
        statuses = list(statuses)
        with self.reading() as snapshot:
            searcher = snapshot.searcher
            spelling = spelling_fields(s.value for s in statuses)
            plan = build(text, searcher.reader(), snapshot.scorer, vocabulary, typing=typing, spelling=spelling)
            page = SearchPage(query=text, total=0, took_ms=0.0, filters=filters)
            if not plan.is_empty:
                stored: dict[int, dict] = {}
                with self._meaning_time(page):
                    meaning, similarity = self._meaning(snapshot.scorer, text, plan, typing)
                ranked = _ranked(snapshot.scorer, plan, statuses, filters, stored, similarity, self.helpfulness)
                page.total, page.total_exact = len(ranked), len(ranked) < CANDIDATES
                page.confident = fusion.confident(ranked)
                page.facets = _facets(snapshot.scorer, [f.docnum for _, f in ranked])
                highlighter = Highlighter(plan.highlight)
                shown = ranked[:limit]
                with self._meaning_time(page):
                    passages = [_similar_sections(snapshot, f, meaning, at) for at, (_, f) in enumerate(shown)]
                page.hits = [
                    _hit(_stored(snapshot.scorer, f.docnum, stored), score, f, highlighter, similar)
                    for (score, f), similar in zip(shown, passages, strict=True)
                ]
                for hit in page.hits[page.confident :]:
                    hit.weak = True
                if plan.corrections:
                    page.suggestion = spelled_out(text, plan.corrections)
        page.took_ms = round((time.perf_counter() - started) * 1000, 1)
        page.meaning_ms = round(page.meaning_ms, 1)
        return page

    def suggest(
        self,
        text: str,
        *,
        statuses: Iterable[Status],
        limit: int = 5,
        vocabulary: Vocabulary | None = None,
    ) -> SearchPage:
        """The articles a customer's whole message needs (see kb.search.suggest), with why."""
        started = time.perf_counter()
        statuses = list(statuses)
        page = SearchPage(query=text[:200], total=0, took_ms=0.0)
        with self.reading() as snapshot:
            searcher, scorer = snapshot.searcher, snapshot.scorer
            with self._meaning_time(page):
                reading = suggest.read(text, meaning=self.meaning)
                similarity = scorer.similarities(reading.vectors)  # (documents, windows)
            spelling = spelling_fields(s.value for s in statuses)
            mask = _filter_mask(scorer, statuses, Filters()) & scorer.live()
            stored: dict[int, dict] = {}
            plans = {
                window: build(
                    reading.windows[window], searcher.reader(), scorer, vocabulary, spelling=spelling, correct=False
                )
                for window in suggest.to_score(reading, similarity, mask)
            }
            best = _best_windows(scorer, plans, mask, stored, similarity)
            ranked = _rerank(scorer, [found for found, _ in best.values()], self.helpfulness)
            page.total, page.confident = len(ranked), fusion.confident(ranked)
            for position, (score, found) in enumerate(ranked[:limit]):
                window = best[found.docnum][1]
                fields = _stored(scorer, found.docnum, stored)
                highlighter = Highlighter(plans[window].highlight)
                with self._meaning_time(page):
                    meant = reading.vectors[window] if self.meaning else None
                    similar = _similar_sections(snapshot, found, meant, position)
                hit = _hit(fields, score, found, highlighter, similar)
                hit.matched = _matched(scorer, found.docnum, suggest.words_of(reading.windows[window]))
                hit.weak = position >= page.confident
                page.hits.append(hit)
        page.took_ms = round((time.perf_counter() - started) * 1000, 1)
        page.meaning_ms = round(page.meaning_ms, 1)
        return page

    def ranked_slugs(self, text: str, *, limit: int, vocabulary: Vocabulary | None = None) -> list[str]:
        """The slugs an agent would see for `text`, best first: ranking only, no snippets or facets."""
        with self.reading() as snapshot:
            plan = build(text, snapshot.searcher.reader(), snapshot.scorer, vocabulary)
            if plan.is_empty:
                return []
            stored: dict[int, dict] = {}
            similarity = self._meaning(snapshot.scorer, text, plan, False)[1]
            ranked = _ranked(snapshot.scorer, plan, [Status.PUBLISHED], Filters(), stored, similarity, self.helpfulness)
            ranked = ranked[:limit]
            return [_stored(snapshot.scorer, f.docnum, stored)["slug"] for _, f in ranked]

    def _meaning(
        self, scorer: Scorer, text: str, plan: QueryPlan, typing: bool
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        """The query's vector and every document's cosine with it (both None: words only)."""
        meaning = _meaning_of(text, plan, typing) if self.meaning else None
        return meaning, (scorer.similarity(meaning) if meaning is not None else None)

    @contextmanager
    def _meaning_time(self, page: SearchPage) -> Iterator[None]:
        """Count the time of the enclosed work as the meaning ranker's (`SearchPage.meaning_ms`).

        With meaning off nothing is counted: what is left of the enclosed work then (a None check,
        cutting a message into windows) is not meaning's, and a busy machine would round it up to
        0.1 ms.
        """
        if not self.meaning:
            yield
            return
        started = time.perf_counter()
        try:
            yield
        finally:
            page.meaning_ms += (time.perf_counter() - started) * 1000

    def query_terms(self, text: str, vocabulary: Vocabulary | None = None) -> set[str]:
        """Every term a search for `text` would look for: stems, corrections, synonyms, codes."""
        with self.reading() as snapshot:
            return build(text, snapshot.searcher.reader(), snapshot.scorer, vocabulary).highlight

    def indexed_versions(self) -> dict[int, int]:
        """Article id -> version of every document in the index (for `kb doctor`)."""
        with self.reading() as snapshot:
            return {
                int(fields["article_id"]): int(fields.get("version") or 0)
                for fields in snapshot.searcher.all_stored_fields()
            }


def _best_windows(
    scorer: Scorer, plans: dict[int, QueryPlan], mask: np.ndarray, stored: dict, similarity: np.ndarray
) -> dict[int, tuple[fusion.Fused, int]]:
    """Each candidate article's best-scoring window of a message: docnum -> (candidate, window)."""
    best: dict[int, tuple[fusion.Fused, int]] = {}
    for window, plan in plans.items():
        for found in _candidates(scorer, plan, mask, stored, similarity[:, window]):
            if found.docnum not in best or found.score > best[found.docnum][0].score:
                best[found.docnum] = (found, window)
    return best


def _meaning_of(text: str, plan: QueryPlan, typing: bool) -> np.ndarray | None:
    """The query's vector: the typed text with its corrections, the word being typed completed.

    A half-typed word ("passw") has no meaning of its own; its most frequent completion in the
    index (found while planning) stands in for it. Error codes are left out: word vectors tell
    such strings apart at random, and the codes field ranks them exactly.
    """
    words = spelled_out(text, plan.corrections).split()
    last = plan.concepts[-1] if plan.concepts else None
    if typing and words and last is not None and last.completions and last.surface == words[-1].lower():
        words[-1] = last.completions[0]
    meant = [word for word in words if not code_tokens(word)]
    if not meant:
        return None
    vector = semantic.embed([" ".join(meant)])[0]
    return vector if vector.any() else None


def _ranked(
    scorer: Scorer,
    plan: QueryPlan,
    statuses: Iterable[Status],
    filters: Filters,
    stored: dict,
    similarity: np.ndarray | None,
    helpful: Helpfulness,
) -> list[tuple[float, fusion.Fused]]:
    """The candidates, best first, as (score after the prior, how it was found).

    Text matches beyond CANDIDATES are not counted: counting every article that shares one word
    with a long query would cost more than it tells an agent. `stored` caches the stored fields read;
    `similarity` is each document's cosine with the query's meaning (None: words only).
    """
    mask = _filter_mask(scorer, statuses, filters) & scorer.live()
    return _rerank(scorer, _candidates(scorer, plan, mask, stored, similarity), helpful)


def _candidates(
    scorer: Scorer, plan: QueryPlan, mask: np.ndarray, stored: dict, similarity: np.ndarray | None
) -> list[fusion.Fused]:
    """The text matches of `plan` and the articles closest in meaning, fused (before the prior)."""
    scores = scorer.scores(plan.clauses)
    verbatim = _reward_typed_order(scorer, plan, scores, mask, stored) if plan.in_order is not None else frozenset()
    top = scorer.top(scores, mask, CANDIDATES)
    return fusion.fuse(scores, top, similarity, mask, _exact(scorer, plan), verbatim)


def _matched(scorer: Scorer, docnum: int, wanted: dict[str, tuple[str, str]]) -> list[str]:
    """The message's words (`wanted`: word -> (field, term)) that the document holds."""
    return [
        word for word, (fieldname, term) in wanted.items() if np.any(scorer.term_scores(fieldname, term)[0] == docnum)
    ]


def _exact(scorer: Scorer, plan: QueryPlan) -> np.ndarray | None:
    """The documents holding every error code and quoted phrase of the query (None: it has none).

    A code no article holds (a partial one, a typo) asks for nothing exact.
    """
    held: np.ndarray | None = None
    for concept in plan.concepts:
        if concept.code:
            ids = scorer.term_scores("codes", concept.code)[0]
            if not len(ids):
                continue
            found = np.zeros(scorer.size, dtype=bool)
            found[ids] = True
        elif concept.quoted and concept.phrase is not None:
            found = np.zeros(scorer.size, dtype=bool)
            found[list(scorer.searcher.docs_for_query(concept.phrase))] = True
        else:
            continue
        held = found if held is None else held & found
    return held


def _reward_typed_order(scorer: Scorer, plan: QueryPlan, scores, mask, stored: dict) -> frozenset[int]:
    """Multiply the scores of articles holding the typed words in the typed order; return them.

    Only articles holding all those words can: the best-scoring PHRASE_DEPTH of them at most,
    less those whose word pairs rule it out (kb.search.pairs), are checked against the stored text.
    """
    holding = scorer.holding_all("text", plan.in_order_terms)
    holding = holding[mask[holding]]
    if len(holding) > PHRASE_DEPTH:
        holding = holding[np.argsort(-scores[holding], kind="stable")[:PHRASE_DEPTH]]
    probe = pairs.Probe(plan.in_order_words)
    likely = [d for d in holding.tolist() if probe.may_hold(scorer.value("pairs", d))]
    found = frozenset(d for d in likely if _holds(plan.in_order, _stored(scorer, d, stored)))
    for docnum in found:
        scores[docnum] *= PHRASE_BONUS
    return found


def _stored(scorer: Scorer, docnum: int, cache: dict) -> dict:
    if docnum not in cache:
        cache[docnum] = scorer.stored(docnum)
    return cache[docnum]


def _holds(pattern: re.Pattern[str], fields: dict) -> bool:
    """Whether the article's title or text holds the typed words in the typed order."""
    return bool(pattern.search(fields["title"]) or any(pattern.search(text) for _, _, text in _sections(fields)))


def _sections(fields: dict) -> list[list[str]]:
    """The stored (heading, anchor, text) sections (decoded by Scorer.stored)."""
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


def _rerank(scorer: Scorer, candidates: list[fusion.Fused], helpful: Helpfulness) -> list[tuple[float, fusion.Fused]]:
    """Scale each score by the article's quality prior (bounded, see PRIOR_MIN/MAX), best first."""
    if not candidates:
        return []
    docnums = np.fromiter((f.docnum for f in candidates), dtype=np.int64, count=len(candidates))
    age = time.time() / 86400 - scorer.numbers("fresh_day")[docnums]
    priors = priors_of(helpful.of(scorer.numbers("article_number")[docnums].astype(np.int64)), age)
    return fusion.ordered([(f.score * float(p), f) for f, p in zip(candidates, priors, strict=True)])


def prior(helpfulness: float, age_days: float) -> float:
    """Half helpfulness, half freshness, mapped onto [PRIOR_MIN, PRIOR_MAX].

    Freshness is full for 90 days after an update or verification, then fades over about a
    year; an article nobody voted on sits in the middle.
    """
    return float(priors_of(np.array([helpfulness]), np.array([age_days]))[0])


def priors_of(helpfulness: np.ndarray, age_days: np.ndarray) -> np.ndarray:
    """`prior` of many articles at once."""
    freshness = 1.0 / (1.0 + np.maximum(age_days - FRESH_DAYS, 0.0) / 365.0)
    quality = 0.5 * np.clip(helpfulness, 0.0, 1.0) + 0.5 * freshness
    return PRIOR_MIN + (PRIOR_MAX - PRIOR_MIN) * quality


def _facets(scorer: Scorer, docnums: list[int]) -> dict[str, list[FacetValue]]:
    counts: dict[str, Counter[str]] = {"product": Counter(), "tag": Counter(), "audience": Counter()}
    for docnum in docnums:
        product, audience, tags = scorer.facets(docnum)
        if product:
            counts["product"][product] += 1
        counts["audience"][audience] += 1
        counts["tag"].update(tags)
    return {
        name: [FacetValue(value, n) for value, n in sorted(counter.items(), key=lambda item: (-item[1], item[0]))]
        for name, counter in counts.items()
    }


def _similar_sections(
    snapshot: Snapshot, found: fusion.Fused, meaning: np.ndarray | None, position: int
) -> list[float] | None:
    """Each section's cosine with the query, for choosing the passage (None: by words alone)."""
    if meaning is not None and (found.by_meaning or position < SECTION_RANKED):
        return snapshot.scorer.section_similarity(found.docnum, meaning)
    return None


def _hit(
    stored: dict, score: float, found: fusion.Fused, highlighter: Highlighter, similar: list[float] | None
) -> SearchHit:
    snippet = best_snippet(_sections(stored), highlighter, stored["summary"], similar)
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
        by_meaning=found.by_meaning,
    )
