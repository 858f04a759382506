"""Compare the search index with the database, and repair what differs (`kb doctor`).

The database is the truth; the index should hold every article at its current version, nothing
else, with no change left pending. Damage that only shows when a segment is read end to end
(a truncated postings file, a bad block) is found by reading every segment once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.models import Article
from kb.search import indexer
from kb.search.storage import MappedStorage

# Postings read per segment while looking for damage: enough to touch every block of the
# common terms without reading a large index in full.
TERMS_PER_SEGMENT = 20_000


@dataclass
class Diagnosis:
    articles: int = 0
    documents: int = 0
    segments: int = 0
    pending: int = 0
    missing: list[str] = field(default_factory=list)  # slugs in the database, not in the index
    stale: list[tuple[str, int, int]] = field(default_factory=list)  # slug, indexed version, current version
    extra: list[int] = field(default_factory=list)  # article ids in the index, not in the database
    set_aside: dict[str, str] = field(default_factory=dict)  # slug -> why it could not be indexed
    damage: str | None = None

    @property
    def healthy(self) -> bool:
        return not (self.pending or self.missing or self.stale or self.extra or self.set_aside or self.damage)

    def lines(self) -> list[str]:
        found = [
            f"Database: {self.articles} articles. Index: {self.documents} documents in {self.segments} segments.",
            f"Changes not yet applied: {self.pending}",
            _listed("Missing from the index", self.missing),
            _listed("Out of date in the index", [f"{s} (index v{i}, database v{d})" for s, i, d in self.stale]),
            _listed("In the index but not in the database (article ids)", [str(i) for i in self.extra]),
            _listed("Set aside, could not be indexed", [f"{s}: {why}" for s, why in self.set_aside.items()]),
            f"Damaged: {self.damage or 'no'}",
        ]
        return found


def _listed(label: str, items: list[str], shown: int = 10) -> str:
    if not items:
        return f"{label}: none"
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return f"{label}: {len(items)}: " + ", ".join(items[:shown]) + more


def diagnose(session: Session, index_dir: Path) -> Diagnosis:
    """Everything that differs between the database and the index in `index_dir`."""
    current = {
        a_id: (slug, version)
        for a_id, slug, version in session.execute(select(Article.id, Article.slug, Article.version))
    }
    diagnosis = Diagnosis(articles=len(current))
    diagnosis.damage = indexer.check(index_dir, terms_per_segment=TERMS_PER_SEGMENT)
    if diagnosis.damage is None:
        try:
            indexed = _read_everything(index_dir, diagnosis)
        except Exception as exc:  # noqa: BLE001  any failure to read the files is damage to report
            diagnosis.damage = f"{type(exc).__name__}: {exc}"
            indexed = {}
    else:
        indexed = {}
    if diagnosis.damage is None:
        diagnosis.pending = indexer.pending_articles(session, index_dir)
        failed = indexer.read_state(index_dir).failed
        diagnosis.set_aside = {current[i][0]: why for i, why in failed.items() if i in current}
        for article_id, (slug, version) in sorted(current.items()):
            if article_id in failed:
                continue
            if article_id not in indexed:
                diagnosis.missing.append(slug)
            elif indexed[article_id] != version:
                diagnosis.stale.append((slug, indexed[article_id], version))
        diagnosis.extra = sorted(set(indexed) - set(current))
    return diagnosis


def _read_everything(index_dir: Path, diagnosis: Diagnosis) -> dict[int, int]:
    """Article id -> indexed version, reading every segment's stored fields (postings: see check)."""
    versions: dict[int, int] = {}
    with MappedStorage(str(index_dir)).open_index().reader() as reader:
        leaves = [leaf for leaf, _ in reader.leaf_readers()]
        diagnosis.segments = len(leaves)
        for leaf in leaves:
            for docnum, fields in leaf.iter_docs():
                if not leaf.is_deleted(docnum):
                    versions[int(fields["article_id"])] = int(fields.get("version") or 0)
    diagnosis.documents = len(versions)
    return versions


def repair(session: Session, index_dir: Path, diagnosis: Diagnosis) -> str:
    """Fix what `diagnosis` found; return what was done."""
    if diagnosis.damage:
        count = len(indexer.rebuild(session, index_dir))
        return f"Rebuilt the index from the database: {count} articles."
    slugs = set(diagnosis.missing) | {slug for slug, _, _ in diagnosis.stale} | set(diagnosis.set_aside)
    ids = list(session.scalars(select(Article.id).where(Article.slug.in_(slugs)))) if slugs else []
    indexer.rewrite(session, index_dir, ids + diagnosis.extra)  # ids the database lacks are deleted
    applied = indexer.apply_pending(session, index_dir, lock_timeout=indexer.REBUILD_LOCK_TIMEOUT)
    return (
        f"Rewrote {len(ids)} articles, removed {len(diagnosis.extra)} documents, "
        f"applied {len(applied.article_ids)} pending changes."
    )
