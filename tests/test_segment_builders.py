"""Builder processes of a rebuild: what goes wrong in one reaches the parent as it happened, no
builder outlives the rebuild, and the index searchers see stays the old one until a commit."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from whoosh.filedb.filestore import FileStorage
from whoosh.query import Every

from kb.search import indexer, segment_builders
from kb.search.schema import build_schema


def source(article_id: int) -> indexer.Source:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    return indexer.Source(
        article_id, f"article-{article_id}", f"Article {article_id} about kettles", "A summary.",
        f"## What the customer notices\n\nThe kettle number {article_id} trips the breaker.\n" + FILLER, ("kettle",),
        "", "agents", "published", now, None, 1,
    )  # fmt: skip


FILLER = "\nThe breaker in the hall trips when the kettle and the heater run together.\n" * 40


def old_index(folder: Path):
    """An index holding article 1, committed: what searchers see while a rebuild runs."""
    ix = FileStorage(str(folder)).create().create_index(build_schema())
    writer = indexer._Writer(ix, _lk=False)
    indexer._write_sources(writer, [source(1)])
    writer.commit()
    return ix


def article_ids(ix) -> list[str]:
    with ix.searcher() as searcher:
        return sorted(hit["article_id"] for hit in searcher.search(Every(), limit=None))


def build(ix, write, batches, workers: int = 2) -> segment_builders.Built:
    return segment_builders.build_segments(
        lambda: indexer._Writer(ix, _lk=False), write, iter(batches), workers=workers
    )


def test_every_batch_lands_in_one_segment_of_those_committed(tmp_path):
    ix = old_index(tmp_path)
    batches = [[source(i) for i in range(start, start + 5)] for start in range(10, 60, 5)]
    counted = []
    built = segment_builders.build_segments(
        lambda: indexer._Writer(ix, _lk=False),
        indexer._write_sources,
        iter(batches),
        workers=2,
        progress=counted.append,
    )
    assert sum(counted) == 50 and built.failed == {}
    assert article_ids(ix) == ["1"]  # nothing is visible before the commit
    indexer._Writer(ix, _lk=False).commit_segments(built.segments)
    assert article_ids(ix) == sorted(str(i) for i in range(10, 60))
    assert len(built.segments) == 2
    leftovers = [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
    assert leftovers == []  # the builders' shared folder of sorted runs is gone


def rejecting(writer, sources: list[indexer.Source]) -> dict[int, str]:
    if any(s.id == 33 for s in sources):
        raise indexer._DocumentRejected(33, "ValueError: Whoosh would not take it")
    return indexer._write_sources(writer, sources)


def test_an_article_rejected_in_a_builder_is_raised_in_the_parent_with_its_id(tmp_path):
    ix = old_index(tmp_path)
    with pytest.raises(indexer._DocumentRejected) as raised:
        build(ix, rejecting, [[source(i) for i in range(start, start + 5)] for start in range(10, 60, 5)])
    assert (raised.value.article_id, raised.value.reason) == (33, "ValueError: Whoosh would not take it")
    assert multiprocessing.active_children() == []
    assert article_ids(ix) == ["1"]


def dying(writer, sources: list[indexer.Source]) -> dict[int, str]:
    if any(s.id == 33 for s in sources):
        os._exit(9)  # as the kernel's out-of-memory killer would end it: no word to anyone
    return indexer._write_sources(writer, sources)


def test_a_builder_that_dies_fails_the_rebuild_with_a_message_and_the_old_index_stays(tmp_path):
    ix = old_index(tmp_path)
    with pytest.raises(segment_builders.BuilderFailed, match="exit code 9.*old index is unchanged"):
        build(ix, dying, [[source(i) for i in range(start, start + 5)] for start in range(10, 60, 5)])
    assert multiprocessing.active_children() == []
    assert article_ids(ix) == ["1"]
    # The next rebuild commits and clears what the dead builder and the stopped one left.
    built = build(ix, indexer._write_sources, [[source(2)], [source(3)]])
    indexer._Writer(ix, _lk=False).commit_segments(built.segments)
    assert article_ids(ix) == ["2", "3"]
    names = os.listdir(tmp_path)
    assert not [name for name in names if name.endswith(".tmp")]
    segment_files = {name.split(".")[0] for name in names if name.startswith("MAIN_")}
    assert segment_files == {segment.segment_id() for segment in built.segments}


def unpicklable(writer, sources: list[indexer.Source]) -> dict[int, str]:
    class Local(Exception):
        pass

    raise Local("a reason only this process could pickle")


def test_an_error_that_cannot_travel_still_reaches_the_parent_as_text(tmp_path):
    ix = old_index(tmp_path)
    with pytest.raises(RuntimeError, match="Local: a reason only this process could pickle"):
        build(ix, unpicklable, [[source(10)], [source(11)]])
    assert multiprocessing.active_children() == []


EXITING = """
import sys
sys.path.insert(0, {tests!r})
from pathlib import Path
from kb.search import segment_builders
from test_segment_builders import build, dying, old_index, source

ix = old_index(Path({folder!r}))
big = [[source(i) for i in range(start, start + 100)] for start in range(10, 2010, 100)]
try:
    build(ix, dying, big)
except segment_builders.BuilderFailed:
    print("failed as it should")
"""


def test_a_command_whose_builder_died_still_exits(tmp_path):
    """The batches a dead builder never took are still queued for it: they must not keep `kb
    reindex` from exiting once it has said why it failed."""
    script = EXITING.format(tests=str(Path(__file__).parent), folder=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "failed as it should" in done.stdout, done.stderr
