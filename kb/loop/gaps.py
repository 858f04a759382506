"""Knowledge gaps: what customers needed and kb did not answer, grouped by what they meant.

Five kinds of record point at a gap: a search with no results, a search whose results nobody
opened, a call "not solved", a call where no article helped, and a "not helpful" vote. Each is
matched to its gap once, when it is written (`gap_for`): its words are reduced to a *signature*
(stems as the index makes them, synonyms folded to one member of their group, stop words and
blanked personal data dropped, sorted), an exact signature finds its gap directly, and a new one
joins the gap whose wording is most similar (shared stems, one-letter typos forgiven) or starts
its own. Counting a gap is then an indexed GROUP BY, fast with 100,000 searches logged.

A gap that was closed (a draft written, or attached to an article) reopens by itself when its
searches keep failing afterwards: `REOPEN_AFTER` failures after it was closed, once the article
that closed it is published. A dismissed gap stays dismissed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache

from sqlalchemy import and_, bindparam, case, func, literal, or_, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from kb.db import utcnow
from kb.models import Call, Feedback, Gap, GapAlias, GapAliasStem, GapState, Outcome, SearchLog, Status
from kb.search.query import Vocabulary, stems, words

MAX_SIGNATURE_WORDS = 12
MAX_SIGNATURE = 200
SIMILAR = 0.4  # Jaccard similarity of two signatures' words from which they are one gap (3 of 5 stems shared)
MAX_CANDIDATES = 200
# Words from this many letters may be one typo apart; shorter ones ("dock", "dok") must match.
TYPO_FROM = 5
REOPEN_AFTER = 3
NO_CLICK_AFTER = timedelta(minutes=2)  # a search whose results were not opened within this is a failure
WINDOW_DAYS = 90  # an open gap counts what happened in this many days
SOURCES = ("zero_result", "no_click", "not_solved", "no_article", "not_helpful")
# What kb itself puts in place of personal data (kb.feedback.redact): not what the customer meant.
_PLACEHOLDER = re.compile(r"\[(?:email|number|card|iban|redacted)\]")


def signature(text: str, vocabulary: Vocabulary) -> str:
    """The wording of `text` reduced to what it means to kb's search: sorted distinct stems."""
    tokens = words(_PLACEHOLDER.sub(" ", text[:1000]))
    folded: list[str] = []
    position = 0
    while position < len(tokens):
        length, others = vocabulary.match(tokens, position)
        if length:
            phrase = " ".join(tokens[position : position + length])
            folded.append(min([phrase, *others]))  # the same member whichever one was said
            position += length
        else:
            folded.append(tokens[position])
            position += 1
    found = sorted(set(stems(" ".join(folded))))[:MAX_SIGNATURE_WORDS]
    text = " ".join(found)
    while len(text) > MAX_SIGNATURE and " " in text:
        text = text.rsplit(" ", 1)[0]
    return text[:MAX_SIGNATURE]  # one word longer than that (a pasted hash or log line) is cut


@dataclass(frozen=True)
class Wording:
    """What reading the gaps said of a text: its signature and the gap it joins (None: a new one)."""

    signature: str
    gap_id: int | None


def wording(session: Session, text: str, vocabulary: Vocabulary) -> Wording | None:
    """The reading half of `gap_for` (None: `text` has no words that mean anything to search).

    The search-log flush asks it for a batch of searches before taking the database's write lock
    (on SQLite, one lock for the whole database): the similar-wording search is most of the work,
    and a vote or a save waiting on the lock should not wait for it.
    """
    sig = signature(text, vocabulary)
    if not sig:
        return None
    alias = session.get(GapAlias, sig)
    return Wording(sig, alias.gap_id if alias is not None else _most_similar(session, sig))


def gap_for(
    session: Session, text: str, vocabulary: Vocabulary, *, label: str | None = None, read: Wording | None = None
) -> Gap | None:
    """The gap `text` belongs to, created if it is new (inside the caller's write transaction).

    A new gap is labelled with `text`, or `label` when the words are not the customer's. `read`:
    what `wording` said of `text` a moment ago (the signature is looked up again: another process
    may have written it since).
    """
    read = read or wording(session, text, vocabulary)
    if read is None:
        return None
    alias = session.get(GapAlias, read.signature)
    if alias is not None:
        return session.get(Gap, alias.gap_id)
    gap = session.get(Gap, read.gap_id) if read.gap_id is not None else None
    try:
        with session.begin_nested():
            if gap is None:
                named = " ".join((label or text).split())[:MAX_SIGNATURE] or read.signature
                gap = Gap(label=named, created_at=utcnow(), reason="")
                session.add(gap)
                session.flush()
            now = utcnow()
            session.add(GapAlias(signature=read.signature, gap_id=gap.id, created_at=now))
            session.flush()  # the wording before its stems, which refer to it
            session.add_all(
                GapAliasStem(stem=stem, signature=read.signature, gap_id=gap.id, created_at=now)
                for stem in set(read.signature.split())
            )
    except IntegrityError:  # another process saw the same new wording a moment ago: take its gap
        alias = session.get(GapAlias, read.signature)
        return session.get(Gap, alias.gap_id) if alias else None
    return gap


def _most_similar(session: Session, sig: str) -> int | None:
    """The id of the gap with the most similar wording that shares a stem, if similar enough.

    Asked for every logged search in new words, by the log flush of each serving process: so
    the MAX_CANDIDATES newest wordings sharing a stem come from an index (GapAliasStem), through
    a statement built once per stem count, and the typo-forgiving comparison runs only for those
    whose length and exactly shared stems leave room to beat the best so far.
    """
    mine = sig.split()  # a signature's stems are sorted and distinct already
    found = session.connection().execute(_sharing_a_stem(len(mine)), {f"stem{i}": s for i, s in enumerate(mine)})
    best, best_score = None, SIMILAR
    for other, gap_id, _ in found:
        score = _similarity(mine, other.split(), at_least=best_score)
        if score is not None:
            best, best_score = gap_id, score
    return best


@lru_cache(maxsize=MAX_SIGNATURE_WORDS)
def _sharing_a_stem(count: int):
    """The MAX_CANDIDATES newest wordings holding any of `count` stems (bound as stem0, stem1, ...):
    the newest of each stem (read from its index), newest first; a wording holding several of
    them comes once. Built once per count: building it took more time than running it."""
    stems = GapAliasStem.__table__.c
    newest = [
        select(stems.signature, stems.gap_id, stems.created_at)
        .where(stems.stem == bindparam(f"stem{i}"))
        .order_by(stems.created_at.desc())
        .limit(MAX_CANDIDATES)
        .subquery()
        for i in range(count)
    ]
    each = union_all(*(select(*part.c) for part in newest)).subquery()
    return (
        select(each.c.signature, each.c.gap_id, each.c.created_at)
        .distinct()
        .order_by(each.c.created_at.desc(), each.c.signature)
        .limit(MAX_CANDIDATES)
    )


def similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """Jaccard similarity of two signatures (distinct words), where words one typo apart count as
    the same."""
    return _similarity(a, b, at_least=0.0) or 0.0


def _similarity(a: Sequence[str], b: Sequence[str], *, at_least: float) -> float | None:
    """`similarity(a, b)` if it is at least `at_least`, else None, found without comparing letters
    when it cannot be: words not shared exactly can only be shared through a typo, which needs
    TYPO_FROM letters or more and the same first two (see `_same_word`)."""
    if not a or not b:
        return None
    exact = set(a).intersection(b)
    mine = [w for w in a if len(w) >= TYPO_FROM and w not in exact]
    theirs: dict[str, list[str]] = defaultdict(list)
    for word in b:
        if len(word) >= TYPO_FROM and word not in exact:
            theirs[word[:2]].append(word)
    possible = sum(1 for w in mine if w[:2] in theirs)
    if _jaccard(len(exact) + possible, len(a), len(b)) < at_least:
        return None
    shared = len(exact)
    for word in mine:
        others = theirs.get(word[:2], ())
        match = next((other for other in others if _same_word(word, other)), None)
        if match is not None:
            others.remove(match)
            shared += 1
    score = _jaccard(shared, len(a), len(b))
    return score if score >= at_least else None


def _jaccard(shared: int, a: int, b: int) -> float:
    return shared / (a + b - shared) if shared else 0.0


def _same_word(a: str, b: str) -> bool:
    if a == b:
        return True
    if min(len(a), len(b)) < TYPO_FROM or abs(len(a) - len(b)) > 1 or a[:2] != b[:2]:
        return False
    return _one_edit(a, b)


def _one_edit(a: str, b: str) -> bool:
    """Whether `a` becomes `b` by one insertion, deletion, substitution or swap of neighbours."""
    if len(a) > len(b):
        a, b = b, a
    i = next((k for k in range(len(a)) if a[k] != b[k]), len(a))
    if len(a) == len(b):
        swapped = i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]
        return a[i + 1 :] == b[i + 1 :] or swapped
    return a[i:] == b[i + 1 :]


# --- the queue ------------------------------------------------------------------------------------


@dataclass
class GapSummary:
    """A gap as the queue shows it: how often and how lately it failed, and the words used."""

    gap_id: int
    state_now: GapState = GapState.OPEN  # the row's state (a reopened gap's row still says closed)
    count: int = 0
    last_seen: datetime | None = None
    since_closed: int = 0  # failures after it was closed
    sources: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SOURCES, 0))
    examples: list[str] = field(default_factory=list)
    gap: Gap | None = None  # loaded for the gaps listed (and for every closed one)

    @property
    def id(self) -> int:
        return self.gap_id

    @property
    def label(self) -> str:
        return self.examples[0] if self.examples else self.gap.label if self.gap else ""

    @property
    def is_reopened(self) -> bool:
        if self.state_now != GapState.CLOSED or self.since_closed < REOPEN_AFTER:
            return False
        article = self.gap.article if self.gap else None
        return article is None or article.status == Status.PUBLISHED

    @property
    def state(self) -> str:
        return GapState.OPEN.value if self.is_reopened else self.state_now.value

    def score(self, now: datetime) -> float:
        """How often, discounted by how long ago it last happened (a week halves it)."""
        if self.last_seen is None:
            return 0.0
        days = max(0.0, (now - self.last_seen).total_seconds() / 86400)
        counted = self.since_closed if self.state_now == GapState.CLOSED else self.count
        return counted / (1 + days / 7)


def failures(now: datetime, since: datetime, until: datetime, gap_ids: Sequence[int] | None = None):
    """Every failing record between `since` and `until` that points at a gap: (gap_id, source, at).

    Each part filters on its own time column first, so an index range scan does the work (the
    search log's (created_at, gap_id, results, opened_slug, episode) index covers its part).
    """
    searches = select(
        SearchLog.gap_id,
        case((SearchLog.results == 0, literal("zero_result")), else_=literal("no_click")).label("source"),
        SearchLog.created_at.label("at"),
    ).where(
        SearchLog.created_at >= since,
        SearchLog.created_at <= until,
        SearchLog.gap_id.is_not(None),
        or_(
            SearchLog.results == 0,
            and_(
                SearchLog.opened_slug.is_(None),
                SearchLog.episode.is_not(None),  # someone looked at it (API searches without sid: unknown)
                SearchLog.created_at < now - NO_CLICK_AFTER,
            ),
        ),
    )
    calls = select(Call.gap_id, Call.outcome.label("source"), Call.created_at.label("at")).where(
        Call.created_at >= since,
        Call.created_at <= until,
        Call.gap_id.is_not(None),
        Call.outcome.in_([Outcome.NOT_SOLVED, Outcome.NO_ARTICLE]),
    )
    votes = select(Feedback.gap_id, literal("not_helpful").label("source"), Feedback.created_at.label("at")).where(
        Feedback.created_at >= since,
        Feedback.created_at <= until,
        Feedback.gap_id.is_not(None),
        Feedback.helpful.is_(False),
    )
    if gap_ids is not None:
        searches, calls, votes = (
            part.where(column.in_(gap_ids))
            for part, column in ((searches, SearchLog.gap_id), (calls, Call.gap_id), (votes, Feedback.gap_id))
        )
    return union_all(searches, calls, votes).subquery("failures")


def listed(
    session: Session,
    *,
    state: str = "open",
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
    limit: int = 100,
) -> list[GapSummary]:
    """The gaps in `state` ("open" includes reopened ones; "all"), best first."""
    now = now or utcnow()
    summaries = _counted(session, since or now - timedelta(days=WINDOW_DAYS), until or now, now)
    if state != GapState.OPEN.value:  # what authors acted on stays listed once its records are gone
        _add_quiet(session, summaries, state, limit)
    chosen = [s for s in summaries.values() if state == "all" or s.state == state]
    chosen.sort(key=lambda s: (-s.score(now), -s.count, s.id))
    return _completed(session, chosen[:limit])


def _completed(session: Session, chosen: list[GapSummary]) -> list[GapSummary]:
    """Load the rows and the customers' words of the gaps about to be shown."""
    ids = [s.id for s in chosen if s.gap is None]
    rows = session.scalars(
        select(Gap).where(Gap.id.in_(ids)).options(selectinload(Gap.article), selectinload(Gap.closed_by))
    )
    loaded = {gap.id: gap for gap in rows}
    words = examples_of(session, [s.id for s in chosen])
    for summary in chosen:
        summary.gap = summary.gap or loaded.get(summary.id)
        summary.examples = words.get(summary.id, [])
    return [s for s in chosen if s.gap is not None]


def _add_quiet(session: Session, summaries: dict[int, GapSummary], state: str, limit: int) -> None:
    """Closed or dismissed gaps with nothing in the window, latest first."""
    states = [GapState.CLOSED, GapState.DISMISSED] if state == "all" else [GapState(state)]
    query = select(Gap).where(Gap.state.in_(states)).order_by(Gap.closed_at.desc(), Gap.id.desc()).limit(limit)
    for gap in session.scalars(query):
        summaries.setdefault(gap.id, GapSummary(gap.id, gap.state, gap=gap))


def _counted(
    session: Session, since: datetime, until: datetime, now: datetime, gap_ids: Sequence[int] | None = None
) -> dict[int, GapSummary]:
    """Failures per gap and source in the window: one aggregate, then the few closed gaps' rows."""
    rows = failures(now, since, until, gap_ids)
    tally = select(rows.c.gap_id, rows.c.source, func.count(), func.max(rows.c.at)).group_by(
        rows.c.gap_id, rows.c.source
    )
    summaries: dict[int, GapSummary] = {}
    for gap_id, source, count, last in session.execute(tally):
        summary = summaries.setdefault(gap_id, GapSummary(gap_id))
        summary.sources[str(getattr(source, "value", source))] += count
        summary.count += count
        summary.last_seen = max(filter(None, (summary.last_seen, _aware(last))), default=None)
    acted = select(Gap).where(Gap.state != GapState.OPEN)  # few: the gaps authors acted on
    if gap_ids is not None:
        acted = acted.where(Gap.id.in_(gap_ids))
    for gap in session.scalars(acted.options(selectinload(Gap.article), selectinload(Gap.closed_by))):
        if gap.id in summaries:
            summaries[gap.id].state_now, summaries[gap.id].gap = gap.state, gap
    closed = [gap_id for gap_id, s in summaries.items() if s.state_now == GapState.CLOSED]
    if closed:
        _count_since_closed(session, failures(now, since, until, closed), summaries)
    return summaries


def _count_since_closed(session: Session, rows, summaries: dict[int, GapSummary]) -> None:
    after = (
        select(rows.c.gap_id, func.count())
        .join(Gap, Gap.id == rows.c.gap_id)
        .where(Gap.state == GapState.CLOSED, rows.c.at > Gap.closed_at)
        .group_by(rows.c.gap_id)
    )
    for gap_id, count in session.execute(after):
        summaries[gap_id].since_closed = count


def _aware(value: datetime | str | None) -> datetime | None:
    """MAX() over a UNION comes back from SQLite as text, without the column's type: read it back."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value


EXAMPLES_FROM = 20  # the latest searches of a gap its examples are chosen from


def examples_of(session: Session, gap_ids: Iterable[int], *, per_gap: int = 5) -> dict[int, list[str]]:
    """The wordings that point at each gap, commonest first: queries, calls' words, vote comments.

    Searches are read from each gap's latest EXAMPLES_FROM (one statement, an index range per
    gap): a common gap has thousands, and reading them all took most of the queue's time.
    """
    ids = list(gap_ids)
    if not ids:
        return {}
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    latest = [
        select(SearchLog.gap_id, SearchLog.query)
        .where(SearchLog.gap_id == gap_id)
        .order_by(SearchLog.id.desc())
        .limit(EXAMPLES_FROM)
        .subquery()
        for gap_id in ids
    ]
    searches = session.execute(union_all(*(select(part.c.gap_id, part.c.query) for part in latest)))
    for gap, said in searches:
        said = " ".join(said.split())
        counts[gap][said] = counts[gap].get(said, 0) + 1
    others = (
        (Call.gap_id, Call.words, and_(Call.gap_id.in_(ids), Call.words != "")),
        (Feedback.gap_id, Feedback.comment, and_(Feedback.gap_id.in_(ids), Feedback.comment != "")),
    )
    for gap_id, text, where in others:
        for gap, said, n in session.execute(select(gap_id, text, func.count()).where(where).group_by(gap_id, text)):
            said = " ".join(said.split())
            counts[gap][said] = counts[gap].get(said, 0) + n
    return {
        gap: [said for said, _ in sorted(counts[gap].items(), key=lambda kv: (-kv[1], kv[0]))[:per_gap]] for gap in ids
    }


def get(session: Session, gap_id: int, *, now: datetime | None = None) -> GapSummary | None:
    """One gap with its figures over the usual window, or None."""
    gap = session.get(Gap, gap_id)
    if gap is None:
        return None
    now = now or utcnow()
    summary = _counted(session, now - timedelta(days=WINDOW_DAYS), now, now, [gap_id]).get(gap_id)
    summary = summary or GapSummary(gap_id, gap.state)
    summary.gap = gap
    return _completed(session, [summary])[0]
