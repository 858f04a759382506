"""Read-only index storage that maps segment files into memory without copying them.

Whoosh's default storage maps a compound segment, then copies every file inside it into a
`BytesIO` on open (measured at 10k articles: 41 ms and 24 MB per searcher opened; at 50k 174 ms
and about 120 MB). kb keeps one searcher per concurrently running search, so that copy would be
paid per thread and per refresh. Opening the files plainly (`supports_mmap=False`) avoids it but
turns every posting read into a seek and a read (22% slower queries here).

`MappedStorage` gives each reader a view of the mapped file: reads are slices of the page cache,
shared by every searcher and every process, and opening a searcher costs a few milliseconds.
Each view keeps its own read position, so two searchers never disturb each other; a view itself
belongs to one searcher, and a searcher to one thread at a time (see `kb.search.engine`).
"""

from __future__ import annotations

import io
import mmap
import os
import pickle
import time

from whoosh.codec.whoosh3 import W3PerDocReader
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import BufferFile
from whoosh.index import FileIndex, Index
from whoosh.reading import EmptyReader, IndexReader, MultiReader, SegmentReader

# Opening an index lists its folder for the newest table of contents, then reads it; a writer
# committing in between deletes the one listed. Whoosh retries that in reader(), not in open_index().
OPEN_ATTEMPTS = 10


class _View:
    """A file-like object over a memoryview: read, seek and tell without copying the whole."""

    def __init__(self, buffer: memoryview):
        self._buffer = buffer
        self._position = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._buffer) if size is None or size < 0 else min(len(self._buffer), self._position + size)
        data = bytes(self._buffer[self._position : end])
        self._position = end
        return data

    def readline(self, size: int = -1) -> bytes:
        limit = len(self._buffer) if size is None or size < 0 else min(len(self._buffer), self._position + size)
        end = self._position
        while end < limit:
            chunk = bytes(self._buffer[end : min(limit, end + 256)])
            newline = chunk.find(b"\n")
            if newline >= 0:
                return self.read(end + newline + 1 - self._position)
            end += len(chunk)
        return self.read(limit - self._position)

    def load_pickle(self) -> object:
        """Unpickle the object at the current position from a small copied window.

        Unpickling straight from this Python-level file would call read() once per opcode; a
        block header is a few dozen bytes, so a window that doubles until the object fits is cheaper.
        """
        window = 512
        while True:
            stream = io.BytesIO(bytes(self._buffer[self._position : self._position + window]))
            try:
                value = pickle.load(stream)
            except (EOFError, pickle.UnpicklingError):
                if self._position + window >= len(self._buffer):
                    raise
                window *= 4
                continue
            self._position += stream.tell()
            return value

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._position, os.SEEK_END: len(self._buffer)}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class MappedFile(BufferFile):
    """Whoosh's BufferFile without its up-front copy; sub-files are views of the same map."""

    def __init__(self, buffer: memoryview, name: str | None = None, onclose=None):
        self._buf = buffer
        self._name = name
        self.file = _View(buffer)
        self.onclose = onclose
        self.is_real = False
        self.is_closed = False

    def read_pickle(self) -> object:
        return self.file.load_pickle()

    def subset(self, position: int, length: int, name: str | None = None) -> MappedFile:
        return MappedFile(self._buf[position : position + length], name=name or self._name)


class MappedStorage(FileStorage):
    """A FileStorage for readers only: files are opened as mapped views (see the module docstring)."""

    # Tells Whoosh's compound-segment reader not to map (and copy) the file again itself.
    supports_mmap = False

    def __init__(self, path: str):
        super().__init__(path, supports_mmap=False, readonly=True)

    def open_file(self, name: str, **kwargs) -> BufferFile:
        with open(self._fpath(name), "rb") as handle:
            if os.fstat(handle.fileno()).st_size == 0:
                return BufferFile(b"", name=name)
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        return MappedFile(memoryview(mapped), name=name)

    def open_index(self, *args, **kwargs) -> Index:
        """Open the newest commit, trying again when a concurrent commit removed the one listed."""
        for attempt in range(1, OPEN_ATTEMPTS):
            try:
                return super().open_index(*args, **kwargs)
            except FileNotFoundError:
                time.sleep(0.005 * attempt)
        return super().open_index(*args, **kwargs)


def reopened(index: FileIndex, old: IndexReader) -> IndexReader:
    """A reader of the index's newest commit that takes over `old`'s readers of the segments it
    still lists, and closes the others; `old` must not be used afterwards.

    Opening a segment reads its term table's directory, 256 small reads: at 10k articles, about
    ten segments, each pooled searcher spent 10 ms opening them again after every commit, and
    the first search after a save paid for it. A segment's files never change once written;
    only which of its documents are deleted does, and the reader taken over reads that from the
    new table of contents. (Whoosh's own `reader(reuse=...)` looks the old segments up by
    generation instead of segment id, so it never finds one.)
    """
    toc = index._read_toc()
    kept = {leaf.segment().segment_id(): leaf for leaf, _ in old.leaf_readers() if isinstance(leaf, SegmentReader)}
    opened: list[SegmentReader] = []
    leaves: list[IndexReader] = []
    try:
        for segment in toc.segments:
            leaf = kept.get(segment.segment_id())
            if leaf is not None and _follows(leaf, segment, toc.generation):
                del kept[segment.segment_id()]  # what stays in `kept` is closed below
            else:
                leaf = SegmentReader(index.storage, toc.schema, segment, generation=toc.generation)
                opened.append(leaf)
            leaves.append(leaf)
    except BaseException:
        for leaf in opened:
            leaf.close()
        raise
    for leaf in kept.values():
        leaf.close()
    if not leaves:
        return EmptyReader(toc.schema)
    return leaves[0] if len(leaves) == 1 else MultiReader(leaves, generation=toc.generation)


def _follows(leaf: IndexReader, segment, generation: int) -> bool:
    """Point an open segment reader at the segment's newest state (its deletions); False when
    the reader is not one kb knows how to do that for (then a new one is opened)."""
    if type(leaf) is not SegmentReader or type(leaf._perdoc) is not W3PerDocReader or leaf.is_closed:
        return False
    leaf._segment = leaf._perdoc._segment = segment
    leaf._gen = generation
    return True
