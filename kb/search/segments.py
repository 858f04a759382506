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


class _Budgeted:
    """Entries within a byte budget, least recently used dropped first (callers hold the lock)."""

    def __init__(self, budget: int, size_of: Callable[[Any], int]):
        self.budget, self.size_of = budget, size_of
        self.entries: OrderedDict[tuple, Any] = OrderedDict()
        self.size = 0

    def get(self, full: tuple) -> Any:
        found = self.entries.get(full)
        if found is not None:
            self.entries.move_to_end(full)
        return found

    def fits(self, size: int) -> bool:
        return 0 < size <= self.budget

    def put(self, full: tuple, value: Any, size: int) -> None:
        if full not in self.entries:
            self.entries[full] = value
            self.size += size
        while self.size > self.budget and self.entries:
            _, dropped = self.entries.popitem(last=False)
            self.size -= self.size_of(dropped)

    def drop_segments_but(self, current: set[str]) -> None:
        for full in [k for k in self.entries if k[0] not in current]:
            self.size -= self.size_of(self.entries.pop(full))


def _arrays_size(arrays: Arrays) -> int:
    return sum(a.nbytes for a in arrays)


def _rough_size(value: Any) -> int:
    """About what a stored document (strings, numbers, lists and dicts of them) costs in memory."""
    if isinstance(value, (str, bytes)):
        return 50 + len(value)
    if isinstance(value, dict):
        return 100 + sum(_rough_size(k) + _rough_size(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return 60 + sum(map(_rough_size, value))
    return 32


class SegmentCache:
    """Per-segment data: postings and the stored documents of recent results within their byte
    budgets (least recently used go first), and field lengths and vectors always (they are one
    row per document, read by every search)."""

    def __init__(self, postings_bytes: int, documents_bytes: int = 0):
        self._postings = _Budgeted(postings_bytes, _arrays_size)
        self._documents = _Budgeted(documents_bytes, _rough_size)
        self._always: dict[tuple, Arrays] = {}
        self._lock = threading.Lock()

    def postings(self, segment: str, key: Hashable, read: Callable[[], Arrays]) -> Arrays:
        """The arrays of `key` in `segment`, read once (while the budget allows keeping them)."""
        return self._kept(self._postings, (segment, key), read)

    def document(self, segment: str, docnum: int, read: Callable[[], dict]) -> dict:
        """The stored fields of a segment's document, read once (while the budget allows keeping
        them). Shared between threads: callers only read them (see kb.search.engine._sections)."""
        return self._kept(self._documents, (segment, docnum), read)

    def _kept(self, table: _Budgeted, full: tuple, read: Callable[[], Any]) -> Any:
        with self._lock:
            found = table.get(full)
        if found is not None:
            return found
        found = read()
        size = table.size_of(found)
        if table.fits(size):
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
