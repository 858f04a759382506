"""Golden queries: relevance that cannot silently regress.

Authors record queries in customer words and the article that must appear in the top 3 for
each. They run on demand (`kb golden check`, the golden page) and after every article or synonym
save, which warns when a change pushed a query out of the top 3. They travel with the articles
as `golden-queries.yaml`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb import search as kb_search
from kb import store
from kb.datafiles import DataFileError, load_list
from kb.db import utcnow
from kb.models import GoldenQuery, User
from kb.search.query import terms_of
from kb.vocabulary import current_vocabulary

FILE_NAME = "golden-queries.yaml"
TOP = 3
DEPTH = 10  # ranks beyond this are reported as "not in the top 10"
FILE_HEADER = "# Golden queries: for each query in customer words, the article that must be in the top 3.\n"


class GoldenError(ValueError):
    pass


class DuplicateGolden(GoldenError):
    pass


@dataclass
class GoldenResult:
    golden: GoldenQuery
    rank: int | None
    previous_rank: int | None

    @property
    def passed(self) -> bool:
        return self.rank is not None and self.rank <= TOP

    @property
    def regressed(self) -> bool:
        """It was in the top 3 at the last check and is not now."""
        return not self.passed and self.previous_rank is not None and self.previous_rank <= TOP

    def describe(self) -> str:
        where = f"rank {self.rank}" if self.rank else f"not in the top {DEPTH}"
        return f"'{self.golden.query}' → {self.golden.article.slug}: {where}"


def list_golden(session: Session) -> list[GoldenQuery]:
    return list(session.scalars(select(GoldenQuery).order_by(GoldenQuery.id)))


def add_golden(session: Session, query: str, slug: str, *, user: User | None = None) -> GoldenQuery:
    query = " ".join(query.split())
    if not query:
        raise GoldenError("the query is empty")
    if len(query) > 500:
        raise GoldenError("the query is longer than 500 characters")
    article = store.find_by_slug(session, slug.strip())
    if article is None:
        raise GoldenError(f"there is no article '{slug}'")
    exists = session.scalar(
        select(GoldenQuery.id).where(GoldenQuery.query == query, GoldenQuery.article_id == article.id)
    )
    if exists is not None:
        raise DuplicateGolden(f"'{query}' → {article.slug} is already a golden query")
    golden = GoldenQuery(query=query, article=article, created_by_id=user.id if user else None)
    session.add(golden)
    session.flush()
    check(session, [golden])  # its rank now is the baseline that later changes are compared with
    return golden


def delete_golden(session: Session, golden: GoldenQuery) -> None:
    session.delete(golden)
    session.flush()


def check(session: Session, goldens: list[GoldenQuery] | None = None) -> list[GoldenResult]:
    """Run golden queries as an agent would search, record each rank, and return the results."""
    goldens = list_golden(session) if goldens is None else goldens
    vocabulary = current_vocabulary(session)
    now = utcnow()
    results = []
    for golden in goldens:
        slugs = kb_search.ranked_slugs(golden.query, limit=DEPTH, vocabulary=vocabulary)
        rank = slugs.index(golden.article.slug) + 1 if golden.article.slug in slugs else None
        results.append(GoldenResult(golden, rank, golden.last_rank))
        golden.last_rank, golden.last_checked_at = rank, now
    session.flush()
    return results


def regressions(session: Session, changed: ChangedArticle | None = None) -> list[GoldenResult]:
    """Check the golden queries a change could affect; return those it pushed out of the top 3.

    After a vocabulary change every query is checked. After an article change, only queries
    that could match the article before or after (sharing a term with it, counting typo
    corrections and synonyms) or that target it: no other query's ranking can move.
    """
    goldens = list_golden(session)
    if changed is not None:
        vocabulary = current_vocabulary(session)
        goldens = [
            g
            for g in goldens
            if g.article_id == changed.article_id or kb_search.query_terms(g.query, vocabulary) & changed.terms
        ]
    return [result for result in check(session, goldens) if result.regressed]


@dataclass
class ChangedArticle:
    article_id: int
    terms: set[str]  # what the article contained before and after the change

    @classmethod
    def of(cls, article_id: int, *texts: str) -> ChangedArticle:
        terms: set[str] = set()
        for text in texts:
            terms |= terms_of(text)
        return cls(article_id, terms)


# --- the golden-queries.yaml file ---------------------------------------------------------------


def read_file(path: Path) -> list[tuple[str, str]]:
    """Read (query, article slug) pairs from a golden-queries file."""
    pairs = []
    for number, entry in enumerate(load_list(path, expected="'- query: ...' / '  article: slug' entries"), start=1):
        if not isinstance(entry, dict) or not entry.get("query") or not entry.get("article"):
            raise DataFileError(path.name, None, f"entry {number} needs both 'query' and 'article'")
        pairs.append((str(entry["query"]), str(entry["article"])))
    return pairs


def import_golden(session: Session, pairs: list[tuple[str, str]], *, user: User | None = None) -> tuple[int, list[str]]:
    """Add the pairs not present yet; return (added, problems) where problems name skipped pairs."""
    added, problems = 0, []
    for query, slug in pairs:
        try:
            with session.begin_nested():
                add_golden(session, query, slug, user=user)
            added += 1
        except DuplicateGolden:
            pass
        except GoldenError as exc:
            problems.append(f"'{query}': {exc}")
    return added, problems


def dump_golden(goldens: list[GoldenQuery]) -> str:
    entries = [{"query": g.query, "article": g.article.slug} for g in goldens]
    return FILE_HEADER + (
        yaml.safe_dump(entries, sort_keys=False, allow_unicode=True, width=10_000) if entries else "[]\n"
    )
