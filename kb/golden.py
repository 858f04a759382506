"""Golden queries: relevance that cannot silently regress.

Authors record queries in customer words and the article that must appear in the top 3 for
each. They run on demand (`kb golden check`, the golden page), after every synonym save, and
after every article save once the index holds it: the index writer's process re-checks the
queries the change can affect, off the save's time (kb.background), and records on each query
it pushed out of the top 3 which article did it. The author sees those warnings on the article's
next page load and in `GET /api/v1/articles/<slug>` (`golden_warnings`). Golden queries travel
with the articles as `golden-queries.yaml`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from kb import limits, store
from kb.datafiles import DataFileError, load_list
from kb.db import begin_write, utcnow
from kb.models import Article, GoldenQuery, Revision, User
from kb.search import SearchService
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


def add_golden(
    session: Session, query: str, slug: str, *, service: SearchService, user: User | None = None
) -> GoldenQuery:
    for name, value in (("query", query), ("article", slug)):
        problem = limits.text_problem(value, max_chars=limits.limit("MAX_QUERY_CHARS"))
        if problem:
            raise GoldenError(f"the {name} {problem}")
    query = " ".join(query.split())
    if not query:
        raise GoldenError("the query is empty")
    article = store.find_by_slug(session, slug.strip())
    if article is None:
        raise GoldenError(f"there is no article '{slug}'")
    exists = session.scalar(
        select(GoldenQuery.id).where(GoldenQuery.query == query, GoldenQuery.article_id == article.id)
    )
    if exists is not None:
        raise DuplicateGolden(f"'{query}' → {article.slug} is already a golden query")
    begin_write(session)
    golden = GoldenQuery(query=query, article=article, created_by_id=user.id if user else None)
    session.add(golden)
    session.flush()
    check(session, service, [golden])  # its rank now is the baseline that later changes are compared with
    return golden


def delete_golden(session: Session, golden: GoldenQuery) -> None:
    session.delete(golden)
    session.flush()


def check(
    session: Session,
    service: SearchService,
    goldens: list[GoldenQuery] | None = None,
    *,
    touched_by: dict[int, list[ChangedArticle]] | None = None,
) -> list[GoldenResult]:
    """Run golden queries as an agent would search, record each rank, and return the results.

    `touched_by`: for each golden query's id, the article changes being checked that could move
    it; a query they pushed out of the top 3 remembers the one that did it (`_culprit`).

    The searches run before the write transaction starts, so a long check never holds the
    database's write lock (SQLite has only one).
    """
    goldens = list_golden(session) if goldens is None else goldens
    vocabulary = current_vocabulary(session)
    results, culprits = [], {}
    for golden in goldens:
        slugs = service.ranked_slugs(golden.query, limit=DEPTH, vocabulary=vocabulary)
        rank = slugs.index(golden.article.slug) + 1 if golden.article.slug in slugs else None
        result = GoldenResult(golden, rank, golden.last_rank)
        if result.regressed and touched_by and touched_by.get(golden.id):
            culprit = _culprit(golden, slugs, touched_by[golden.id])
            if culprit is None:
                continue  # not these changes' doing: see _culprit
            culprits[golden.id] = culprit
        results.append(result)
    _record(session, results, culprits)
    return results


def _culprit(golden: GoldenQuery, slugs: list[str], changes: list[ChangedArticle]) -> int | None:
    """The change a regressed query blames: the changed article now ranked highest above the
    query's article (it took the place), else that article's own change.

    None when neither is among `changes`. The index the check searches may already hold saves
    made after these changes, and one of those pushed the query out: it is left as it was, so
    the check of those saves finds the regression and blames the right one.
    """
    place = slugs.index(golden.article.slug) if golden.article.slug in slugs else len(slugs)
    above = sorted((slugs.index(c.slug), c.article_id) for c in changes if c.slug in slugs[:place])
    if above:
        return above[0][1]
    own = [c.article_id for c in changes if c.article_id == golden.article_id]
    return own[0] if own else None


def _record(session: Session, results: list[GoldenResult], culprits: dict[int, int]) -> None:
    """Store each rank; a query that passes again forgets what broke it."""
    begin_write(session)
    now = utcnow()
    for result in results:
        values = {"last_rank": result.rank, "last_checked_at": now}
        if result.passed:
            values.update(broken_by_id=None, broken_at=None)
        elif result.golden.id in culprits:
            values.update(broken_by_id=culprits[result.golden.id], broken_at=now)
        # A statement, not the loaded object: a query deleted meanwhile is simply not updated.
        statement = update(GoldenQuery).where(GoldenQuery.id == result.golden.id).values(**values)
        session.execute(statement, execution_options={"synchronize_session": False})
        for name, value in values.items():
            set_committed_value(result.golden, name, value)
    session.flush()


def regressions(
    session: Session, service: SearchService, changes: list[ChangedArticle] | None = None
) -> list[GoldenResult]:
    """Check the golden queries changes could affect; return those pushed out of the top 3.

    After a vocabulary change (`changes` None) every query is checked. After article changes,
    only the queries that could match a changed article before or after (sharing a term with
    it, counting typo corrections and synonyms) or that target one: no other query's ranking
    can move. Each runs once however many changes touch it, so a batch of saves that came
    together costs one pass over the golden set, not one per save.
    """
    goldens = list_golden(session)
    touched_by = None
    if changes is not None:
        vocabulary = current_vocabulary(session)
        touched_by = {g.id: _touching(g, service.query_terms(g.query, vocabulary), changes) for g in goldens}
        goldens = [g for g in goldens if touched_by[g.id]]
    results = check(session, service, goldens, touched_by=touched_by)
    return [result for result in results if result.regressed]


def _touching(golden: GoldenQuery, query_terms: set[str], changes: list[ChangedArticle]) -> list[ChangedArticle]:
    return [c for c in changes if c.article_id == golden.article_id or query_terms & c.terms]


def warnings_for(session: Session, article: Article) -> list[str]:
    """What the author of `article` should know: golden queries its last saves pushed out of the top 3."""
    broken = session.scalars(select(GoldenQuery).where(GoldenQuery.broken_by_id == article.id).order_by(GoldenQuery.id))
    return [warning(GoldenResult(g, g.last_rank, None)) for g in broken if not (g.last_rank and g.last_rank <= TOP)]


def warning(result: GoldenResult) -> str:
    return f"This change pushed a golden query out of the top 3: {result.describe()}"


@dataclass
class ChangedArticle:
    article_id: int
    slug: str
    terms: set[str]  # what the article contained before and after the change

    @classmethod
    def of(cls, article_id: int, slug: str, *texts: str) -> ChangedArticle:
        terms: set[str] = set()
        for text in texts:
            terms |= terms_of(text)
        return cls(article_id, slug, terms)

    @classmethod
    def since_previous(cls, session: Session, article_id: int) -> ChangedArticle:
        """The change from an article's previous revision to what it holds now."""
        article = session.get(Article, article_id)
        if article is None:
            return cls(article_id, "", set())
        previous = session.scalar(
            select(Revision).where(Revision.article_id == article_id, Revision.number == article.version - 1)
        )
        return cls.of(article_id, article.slug, searchable_text(previous) if previous else "", searchable_text(article))


def searchable_text(article: Article | Revision) -> str:
    return "\n".join([article.title, article.summary, " ".join(article.tags), article.body])


# --- the golden-queries.yaml file ---------------------------------------------------------------


def read_file(path: Path) -> list[tuple[str, str]]:
    """Read (query, article slug) pairs from a golden-queries file."""
    pairs = []
    for number, entry in enumerate(load_list(path, expected="'- query: ...' / '  article: slug' entries"), start=1):
        if not isinstance(entry, dict) or not entry.get("query") or not entry.get("article"):
            raise DataFileError(path.name, None, f"entry {number} needs both 'query' and 'article'")
        pairs.append((str(entry["query"]), str(entry["article"])))
    return pairs


def import_golden(
    session: Session, pairs: list[tuple[str, str]], *, service: SearchService, user: User | None = None
) -> tuple[int, list[str]]:
    """Add the pairs not present yet; return (added, problems) where problems name skipped pairs."""
    added, problems = 0, []
    begin_write(session)
    for query, slug in pairs:
        try:
            with session.begin_nested():
                add_golden(session, query, slug, service=service, user=user)
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
