"""Exact BM25F top-k over Whoosh's postings, vectorized with numpy.

Whoosh walks a tree of matchers one posting at a time in Python. A sentence of common words
touches most of the index that way: 10k articles took 0.4 s per query, 50k several seconds.
Here each query term's postings are read a block at a time (Whoosh stores them as pickled
arrays), scored with BM25F in numpy, and summed into one score per article; the top k then
comes from a partial sort. Whoosh remains the index (storage, analysis, segments, statistics);
only the per-posting loop moves to numpy. The scores equal those of Whoosh's BM25F with the
same parameters (see tests/test_search.py).

Per-segment data (each term's decoded postings, field lengths) is kept by segment id in
kb.search.segments, because segments never change once written: a save adds a small segment
without throwing away what was read of the big ones. Per-searcher data (live documents, filters,
and the BM25 scores, which depend on the whole index's statistics) lives as long as the searcher.
"""

from __future__ import annotations

import bisect
import json
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import partial
from typing import Iterable, Sequence

import numpy as np
from whoosh.matching import wrappers
from whoosh.reading import TermNotFound

from kb.search import semantic
from kb.search.segments import SegmentCache

# Filter masks kept per searcher: the status masks every search uses, plus recent product/tag filters.
MASK_CACHE_ENTRIES = 64

# A word, scored in one or more fields: ((field, term, boost), ...). It is present in a document
# when its first field holds it.
Word = tuple[tuple[str, str, float], ...]


@dataclass(frozen=True)
class Alternative:
    """One way to satisfy a clause: all its words present; their scores add up, times `weight`.

    `only` (a Whoosh query, e.g. a phrase) restricts it to the documents matching that query.
    """

    words: tuple[Word, ...]
    weight: float = 1.0
    only: object | None = None


@dataclass
class Clause:
    """One concept of the query; its matching alternatives' scores add up."""

    alternatives: list[Alternative] = field(default_factory=list)


class Scorer:
    """Scores queries against one searcher's view of the index."""

    def __init__(self, searcher, *, k1: float, b: float, segments: SegmentCache, term_cache_bytes: int):
        self.searcher = searcher
        self.k1, self.b = k1, b
        self.size = searcher.doc_count_all()
        # The index's segments. An index without any (no article yet, or for a moment while a
        # rebuild starts) reads through Whoosh's EmptyReader, which is no segment: no leaves then.
        self.leaves = [
            (leaf.reader(), offset) for leaf, offset in searcher.leaf_searchers() if leaf.reader().segment() is not None
        ]
        self.segments = segments  # shared by every searcher of the process
        self._offsets = [offset for _, offset in self.leaves]
        self._numbers: dict[str, np.ndarray] = {}
        self._lengths: dict[str, np.ndarray] = {}
        self._live: np.ndarray | None = None
        self._masks: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}
        self._term_cache: OrderedDict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._cached_bytes = 0
        self._term_cache_bytes = term_cache_bytes

    # --- documents ---------------------------------------------------------------------------

    def live(self) -> np.ndarray:
        """True for documents not deleted (postings keep deleted ones until a merge)."""
        if self._live is None:
            live = np.ones(self.size, dtype=bool)
            for reader, offset in self.leaves:
                if reader.has_deletions():
                    deleted = np.fromiter(reader.segment().deleted_docs(), dtype=np.int64)
                    live[deleted + offset] = False
            self._live = live
        return self._live

    def lengths(self, fieldname: str) -> np.ndarray:
        """Each document's length in `fieldname`, as Whoosh stores it (a one-byte approximation)."""
        if fieldname not in self._lengths:
            parts = [self._segment_lengths(reader, fieldname) for reader, _ in self.leaves]
            self._lengths[fieldname] = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
        return self._lengths[fieldname]

    def _segment_lengths(self, reader, fieldname: str) -> np.ndarray:
        def read() -> tuple[np.ndarray]:
            count = reader.doc_count_all()
            lengths = (reader.doc_field_length(d, fieldname, 0) or 0 for d in range(count))
            return (np.fromiter(lengths, dtype=np.float32, count=count),)

        return self.segments.always(reader.segment().segment_id(), ("lengths", fieldname), read)[0]

    def documents_with(self, fieldname: str, texts: Iterable[str]) -> np.ndarray:
        """A mask of the documents holding any of `texts` in `fieldname` (for filters).

        Recent masks are kept while the searcher lives: every agent search filters on "published".
        """
        key = (fieldname, tuple(texts))
        if key not in self._masks:
            if len(self._masks) >= MASK_CACHE_ENTRIES:
                # Filter values come from requests: drop the oldest so odd values cannot pile up.
                del self._masks[next(iter(self._masks))]
            mask = np.zeros(self.size, dtype=bool)
            for text in key[1]:
                ids, _ = self.postings(fieldname, text)
                mask[ids] = True
            self._masks[key] = mask
        return self._masks[key].copy()

    # --- meaning ------------------------------------------------------------------------------

    def similarity(self, vectors: np.ndarray) -> np.ndarray:
        """Every document's cosine with `vectors` (one unit vector, or the best of several rows)."""
        parts = [_closest(self._segment_vectors(reader), vectors) for reader, _ in self.leaves]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)

    def similarities(self, vectors: np.ndarray) -> np.ndarray:
        """Every document's cosine with each row of `vectors`: shape (documents, rows)."""
        parts = [self._segment_vectors(reader) @ vectors.T for reader, _ in self.leaves]
        return np.concatenate(parts) if parts else np.zeros((0, len(vectors)), dtype=np.float32)

    def section_similarity(self, docnum: int, vectors: np.ndarray) -> list[float]:
        """Each of a document's sections' cosine with `vectors` (as many sections as were embedded)."""
        return _closest(semantic.decode(self.value("section_vectors", docnum)), vectors).tolist()

    def _segment_vectors(self, reader) -> np.ndarray:
        def read() -> tuple[np.ndarray]:
            column = self._column(reader, "vector")
            return (semantic.decode(b"".join(column[d] for d in range(reader.doc_count_all()))),)

        return self.segments.always(reader.segment().segment_id(), "vectors", read)[0]

    def stored(self, docnum: int) -> dict:
        """A document's stored fields with its sections decoded (`_sections`), kept per segment:
        the verbatim check and the snippets read the same popular articles search after search."""
        reader, offset = self._leaf(docnum)

        def read() -> tuple[dict, int]:
            fields = reader.stored_fields(docnum - offset)
            sections = fields.pop("sections")
            fields["_sections"] = json.loads(sections)
            # In memory: the text twice over (a str per section, each with its heading), and a
            # little per field; no need to be exact, only to keep the budget honest.
            return fields, 2 * len(sections) + 100 * len(fields) + sum(
                len(v) for v in fields.values() if isinstance(v, str)
            )

        return self.segments.document(reader.segment().segment_id(), docnum - offset, read)

    def _leaf(self, docnum: int) -> tuple:
        """The segment reader holding `docnum`, and the segment's first document number."""
        return self.leaves[bisect.bisect_right(self._offsets, docnum) - 1]

    def terms_starting(self, fieldname: str, letter: str) -> list[str]:
        """The terms of `fieldname` beginning with `letter` in any segment (for typo corrections),
        read once per segment and kept while it lives: a spelling field holds a few words per
        article, thousands at 10k."""
        found: set[str] = set()
        for reader, _ in self.leaves:
            found.update(self._segment_lexicon(reader, fieldname).get(letter, ()))
        return list(found)

    def _segment_lexicon(self, reader, fieldname: str) -> dict[str, list[str]]:
        def read() -> tuple[dict[str, list[str]]]:
            by_letter: dict[str, list[str]] = {}
            for term in reader.lexicon(fieldname):
                text = term.decode("utf-8") if isinstance(term, bytes) else term
                by_letter.setdefault(text[:1], []).append(text)
            return (by_letter,)

        return self.segments.always(reader.segment().segment_id(), ("lexicon", fieldname), read)[0]

    def holds(self, fieldname: str, text: str, *, among: str | None = None) -> bool:
        """Whether a live document holds `text` in `fieldname` (with `among`, one whose status it is)."""
        ids = self.postings(fieldname, text)[0]
        if not len(ids):
            return False
        held = self.live()[ids]
        if among is not None:
            held &= self.documents_with("status", [among])[ids]
        return bool(held.any())

    # --- columns ----------------------------------------------------------------------------

    def numbers(self, fieldname: str) -> np.ndarray:
        """Every document's value of a numeric column field, read once per segment."""
        if fieldname not in self._numbers:
            parts = [self._segment_numbers(reader, fieldname) for reader, _ in self.leaves]
            self._numbers[fieldname] = np.concatenate(parts) if parts else np.zeros(0)
        return self._numbers[fieldname]

    def _segment_numbers(self, reader, fieldname: str) -> np.ndarray:
        def read() -> tuple[np.ndarray]:
            column = self._column(reader, fieldname)
            count = reader.doc_count_all()
            return (np.fromiter((column[d] for d in range(count)), dtype=np.float64, count=count),)

        return self.segments.always(reader.segment().segment_id(), ("numbers", fieldname), read)[0]

    def facets(self, docnum: int) -> tuple[str, str, tuple[str, ...]]:
        """A document's (product, audience, tags), decoded once per segment: every search counts
        the facets of its 100 best matches, and decoding them each time was 3 ms of it."""
        reader, offset = self._leaf(docnum)
        return self._segment_facets(reader)[docnum - offset]

    def _segment_facets(self, reader) -> list[tuple[str, str, tuple[str, ...]]]:
        def read() -> tuple[list]:
            column = self._column(reader, "facets")
            decoded: dict[bytes, tuple[str, str, tuple[str, ...]]] = {}  # articles share most of them
            values = []
            for docnum in range(reader.doc_count_all()):
                raw = column[docnum]
                if raw not in decoded:
                    product, audience, tags = json.loads(raw) if raw else ("", "", ())
                    decoded[raw] = (product, audience, tuple(tags))
                values.append(decoded[raw])
            return (values,)

        return self.segments.always(reader.segment().segment_id(), "facets", read)[0]

    def value(self, fieldname: str, docnum: int):
        """A document's value in a column field (raw: bytes or a number)."""
        reader, offset = self._leaf(docnum)
        return self._column(reader, fieldname)[docnum - offset]

    def _column(self, reader, fieldname: str):
        """The segment's column reader, opened once per segment: Whoosh reads a byte column's
        offsets for every document of the segment each time one is opened (4 ms at 10k)."""

        def read() -> tuple:
            return (reader.column_reader(fieldname, translate=False),)

        return self.segments.always(reader.segment().segment_id(), ("column", fieldname), read)[0]

    # --- postings and scores -----------------------------------------------------------------

    def postings(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """All (document numbers, weights) of a term, read a block at a time."""
        ids, weights = [], []
        for reader, offset in self.leaves:
            segment = reader.segment().segment_id()
            local_ids, local_weights = self.segments.postings(
                segment, (fieldname, text), partial(_segment_postings, reader, fieldname, text)
            )
            if len(local_ids):
                ids.append(local_ids + offset)
                weights.append(local_weights)
        if not ids:
            return _NO_IDS, _NO_WEIGHTS
        return np.concatenate(ids), np.concatenate(weights)

    def term_scores(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """BM25F scores of a term for the documents holding it (Whoosh's formula and statistics).

        Kept for the searcher's lifetime within a memory budget: the words agents type follow a
        Zipf law, so the costly common ones come back in most queries.
        """
        key = (fieldname, text)
        if key in self._term_cache:
            self._term_cache.move_to_end(key)
            return self._term_cache[key]
        found = self._compute_term_scores(fieldname, text)
        if not self._term_cache_bytes:
            return found
        self._term_cache[key] = found
        self._cached_bytes += found[0].nbytes + found[1].nbytes
        while self._cached_bytes > self._term_cache_bytes and len(self._term_cache) > 1:
            _, (ids, values) = self._term_cache.popitem(last=False)
            self._cached_bytes -= ids.nbytes + values.nbytes
        return found

    def _compute_term_scores(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        ids, weights = self.postings(fieldname, text)
        if not len(ids):
            return ids, weights
        idf = self.searcher.idf(fieldname, text)
        average = self.searcher.avg_field_length(fieldname) or 1.0
        lengths = self.lengths(fieldname)[ids]
        norm = self.k1 * ((1 - self.b) + self.b * lengths / average)
        return ids, idf * (weights * (self.k1 + 1)) / (weights + norm)

    def scores(self, clauses: Sequence[Clause]) -> np.ndarray:
        """The score of every document for `clauses` (0 where nothing matches)."""
        total = np.zeros(self.size, dtype=np.float64)
        for clause in clauses:
            for alternative in clause.alternatives:
                total += self._alternative(alternative)
        return total

    def _alternative(self, alternative: Alternative) -> np.ndarray:
        scores = np.zeros(self.size, dtype=np.float64)
        present = np.ones(self.size, dtype=bool) if len(alternative.words) > 1 else None
        for word in alternative.words:
            for position, (fieldname, text, boost) in enumerate(word):
                ids, values = self.term_scores(fieldname, text)
                scores[ids] += values * boost
                if present is not None and position == 0:
                    holds = np.zeros(self.size, dtype=bool)
                    holds[ids] = True
                    present &= holds
        if present is not None:
            scores[~present] = 0.0
        if alternative.only is not None:
            allowed = np.zeros(self.size, dtype=bool)
            allowed[list(self.searcher.docs_for_query(alternative.only))] = True
            scores[~allowed] = 0.0
        return scores * alternative.weight

    def holding_all(self, fieldname: str, texts: Sequence[str]) -> np.ndarray:
        """The live documents holding every one of `texts` in `fieldname`."""
        found: np.ndarray | None = None
        for text in sorted(texts, key=lambda t: len(self.term_scores(fieldname, t)[0])):
            ids = self.term_scores(fieldname, text)[0]
            found = ids if found is None else np.intersect1d(found, ids, assume_unique=True)
            if not len(found):
                break
        if found is None:
            return np.zeros(0, dtype=np.int64)
        return found[self.live()[found]]

    def top(self, scores: np.ndarray, mask: np.ndarray, k: int) -> list[tuple[float, int]]:
        """The `k` best (score, docnum) among documents in `mask`, best first (ties: lower docnum)."""
        scores = np.where(mask & self.live(), scores, 0.0)
        matching = np.flatnonzero(scores > 0)
        if len(matching) > k:
            best = np.argpartition(-scores[matching], k - 1)[:k]
            matching = matching[best]
        order = np.lexsort((matching, -scores[matching]))
        return [(float(scores[d]), int(d)) for d in matching[order]]


def _closest(rows: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Each row's cosine with `vectors`: a vector, or (the best of) the rows of a matrix."""
    if vectors.ndim == 1:
        return rows @ vectors
    if not len(rows):
        return np.zeros(0, dtype=np.float32)
    return (rows @ vectors.T).max(axis=1)


_NO_IDS, _NO_WEIGHTS = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)


def _segment_postings(reader, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
    """A term's (segment-local document numbers, weights) in one segment, deleted ones included
    (deletions change without the segment changing: Scorer.live() masks them per searcher)."""
    try:
        matcher = reader.postings(fieldname, text)
    except TermNotFound:
        return _NO_IDS, _NO_WEIGHTS
    while isinstance(matcher, wrappers.WrappingMatcher):
        matcher = matcher.child
    blocks = list(_blocks(matcher))
    if not blocks:
        return _NO_IDS, _NO_WEIGHTS
    return np.concatenate([i for i, _ in blocks]), np.concatenate([w for _, w in blocks])


def _blocks(matcher) -> Iterable[tuple[np.ndarray, np.ndarray]]:
    """(ids, weights) of each postings block, decoded with numpy.

    Relies on the layout of Whoosh 2.7.4's W3 codec (pinned in setup.cfg): a block's data is a
    pickled (delta-encoded ids, weights, values) tuple.
    """
    while matcher.is_active():
        if matcher._data is None:
            matcher._read_data()
        raw_ids, raw_weights = matcher._data[0], matcher._data[1]
        count = matcher._blocklength
        ids = np.cumsum(np.asarray(raw_ids, dtype=np.int64))
        if raw_weights is None:
            weights = np.ones(count, dtype=np.float32)
        elif isinstance(raw_weights, float):
            weights = np.full(count, raw_weights, dtype=np.float32)
        else:
            weights = np.asarray(raw_weights, dtype=np.float32)
        yield ids, weights
        matcher._next_block()
