"""What this process learned about each index segment, kept until the segment is gone.

Whoosh never changes a segment once written: a save adds a small segment and marks the old
document deleted in the big one, and a merge replaces segments with a new one. So the costly
reads of a search (a term's postings decoded from Whoosh's blocks, the field lengths, the article
vectors) are kept per segment id, and a write throws away nothing but what it replaced. Before,
a per-searcher cache was emptied by every save and every helpful vote, which on a support floor
is all day.

One instance serves every searcher of the process; its lock is held only to look up or insert,
never while reading the index.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Hashable, Iterable

import numpy as np

Arrays = tuple[np.ndarray, ...]


class SegmentCache:
    """Per-segment arrays: postings within a byte budget (least recently used go first), and
    field lengths and vectors always (they are one row per document, read by every search)."""

    def __init__(self, postings_bytes: int):
        self.postings_bytes = postings_bytes
        self._postings: OrderedDict[tuple, Arrays] = OrderedDict()
        self._postings_size = 0
        self._always: dict[tuple, Arrays] = {}
        self._lock = threading.Lock()

    def postings(self, segment: str, key: Hashable, read: Callable[[], Arrays]) -> Arrays:
        """The arrays of `key` in `segment`, read once (while the budget allows keeping them)."""
        full = (segment, key)
        with self._lock:
            found = self._postings.get(full)
            if found is not None:
                self._postings.move_to_end(full)
                return found
        found = read()
        size = sum(a.nbytes for a in found)
        if not self.postings_bytes or size > self.postings_bytes:
            return found
        with self._lock:
            if full not in self._postings:
                self._postings[full] = found
                self._postings_size += size
            while self._postings_size > self.postings_bytes and self._postings:
                _, dropped = self._postings.popitem(last=False)
                self._postings_size -= sum(a.nbytes for a in dropped)
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
            for table in (self._postings, self._always):
                for full in [k for k in table if k[0] not in current]:
                    dropped = table.pop(full)
                    if table is self._postings:
                        self._postings_size -= sum(a.nbytes for a in dropped)

    def __len__(self) -> int:
        with self._lock:
            return len(self._postings) + len(self._always)
