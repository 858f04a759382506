"""What this process learned about each index segment, kept until the segment is gone.

Whoosh never changes a segment once written: a save adds a small segment and marks the old
document deleted in the big one, and a merge replaces segments with a new one. So the costly
reads of a search (a term's postings decoded from Whoosh's blocks, the field lengths, the article
vectors, the stored text of articles recently read) are kept per segment id, and a write throws
away nothing but what it replaced. Before, a per-searcher cache was emptied by every save and
every helpful vote, which on a support floor is all day.

One instance serves every searcher of the process; its lock is held only to look up or insert,
never while reading the index.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable, Iterable

import numpy as np

Arrays = tuple[np.ndarray, ...]
# What a kept "not in this segment" costs in memory, about: the key, the entry, two empty arrays.
ABSENT_ENTRY_BYTES = 400


class _Budgeted:
    """Entries within a byte budget, least recently used dropped first (callers hold the lock)."""

    def __init__(self, budget: int):
        self.budget = budget
        self.entries: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()  # key -> (value, its size)
        # The keys of each segment: after a write, forgetting the replaced segments touches only
        # their entries, not the tens of thousands a warm cache holds.
        self._by_segment: dict[str, set[tuple]] = {}
        self.size = 0

    def get(self, full: tuple) -> Any:
        found = self.entries.get(full)
        if found is None:
            return None
        self.entries.move_to_end(full)
        return found[0]

    def put(self, full: tuple, value: Any, size: int) -> None:
        if not 0 < size <= self.budget or full in self.entries:
            return
        self.entries[full] = (value, size)
        self._by_segment.setdefault(full[0], set()).add(full)
        self.size += size
        while self.size > self.budget:
            oldest, (_, oldest_size) = self.entries.popitem(last=False)
            self.size -= oldest_size
            self._by_segment[oldest[0]].discard(oldest)

    def drop_segments_but(self, current: set[str]) -> None:
        for segment in [s for s in self._by_segment if s not in current]:
            for full in self._by_segment.pop(segment):
                self.size -= self.entries.pop(full)[1]


class SegmentCache:
    """Per-segment data: postings and the stored documents of recent results within their byte
    budgets (least recently used go first), and field lengths and vectors always (they are one
    row per document, read by every search)."""

    def __init__(self, postings_bytes: int, documents_bytes: int = 0):
        self._postings = _Budgeted(postings_bytes)
        self._documents = _Budgeted(documents_bytes)
        self._always: dict[tuple, Arrays] = {}
        self._lock = threading.Lock()

    def postings(self, segment: str, key: Hashable, read: Callable[[], Arrays]) -> Arrays:
        """The arrays of `key` in `segment`, read once (while the budget allows keeping them)."""

        def sized() -> tuple[Arrays, int]:
            arrays = read()
            # Every entry counts at least its key and entry, so a term a segment lacks is kept too
            # (most words are in few of its small segments) and a flood of odd words stays in the budget.
            return arrays, max(sum(a.nbytes for a in arrays), ABSENT_ENTRY_BYTES)

        return self._kept(self._postings, (segment, key), sized)

    def document(self, segment: str, docnum: int, read: Callable[[], tuple[dict, int]]) -> dict:
        """The stored fields of a segment's document, read once (while the budget allows keeping
        them); `read` gives them with about what they take in memory. Shared between threads:
        callers only read them (see kb.search.engine._sections)."""
        return self._kept(self._documents, (segment, docnum), read)

    def _kept(self, table: _Budgeted, full: tuple, read: Callable[[], tuple[Any, int]]) -> Any:
        with self._lock:
            found = table.get(full)
        if found is not None:
            return found
        found, size = read()
        with self._lock:
            table.put(full, found, size)
        return found

    def always(self, segment: str, key: Hashable, read: Callable[[], Arrays]) -> Arrays:
        """Arrays with one row per document of `segment` (lengths, vectors): kept while it lives."""
        full = (segment, key)
        with self._lock:
            found = self._always.get(full)
        if found is None:
            found = read()
            with self._lock:
                found = self._always.setdefault(full, found)
        return found

    def keep_only(self, segments: Iterable[str]) -> None:
        """Forget segments a merge or a rebuild replaced.

        Called with the segments of the newest searcher; an older searcher still running may
        read a forgotten segment once more, and simply reads it again.
        """
        current = set(segments)
        with self._lock:
            self._postings.drop_segments_but(current)
            self._documents.drop_segments_but(current)
            for full in [k for k in self._always if k[0] not in current]:
                del self._always[full]

    def keys(self) -> dict[str, set[tuple]]:
        """What is kept, per kind: (segment id, key) pairs."""
        with self._lock:
            return {
                "postings": set(self._postings.entries),
                "documents": set(self._documents.entries),
                "always": set(self._always),
            }

    def __len__(self) -> int:
        with self._lock:
            return len(self._postings.entries) + len(self._documents.entries) + len(self._always)
