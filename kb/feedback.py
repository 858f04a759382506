"""What agents tell kb by using it: searches that found nothing or led nowhere, and helpful votes.

Search logs feed the knowledge-gap report; helpful votes feed a gentle ranking prior. No user or
customer data is kept with a search: the query (with e-mail addresses, phone, card and account
numbers, and anything after "password", blanked), the time, the role and what happened.

A search must not write to the database (search-as-you-type sends one per keystroke, and a write
can wait on another's lock), so searches and opened articles go into this process's
`SearchLogBuffer`, which a background thread writes once a second, in short transactions.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kb.db import begin_write, utcnow
from kb.loop import gaps
from kb.models import Article, Feedback, Role, SearchLog, User
from kb.search.query import Vocabulary
from kb.vocabulary import current_vocabulary

# What a query may hold that is not the customer's problem but the customer: their address,
# phone, card or bank account, or a password read out to the agent. Each pattern either starts
# only where a run of its characters starts (the look-behinds) or repeats a bounded number of
# times, so the work is linear in the query, which is also cut to twice what the log keeps.
_SECRET_WORD = re.compile(r"\b(?:password|passwd|passcode|passphrase|pin)\b", re.IGNORECASE)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IBAN = re.compile(
    r"\b[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|[ ]?[A-Z0-9]{4}(?:[ ](?=[A-Z]{0,3}\d)[A-Z0-9]{1,4}){1,7})\b", re.IGNORECASE
)
_CARD = re.compile(r"(?<![\w.-])\d(?:[ -]?\d){12,18}(?![\w.])")
_PHONE = re.compile(r"(?<![\w.])\+?\d[\d ()./-]{6,40}\d(?![\w.])")
_EPISODE = re.compile(r"^[A-Za-z0-9_-]{8,40}$")
_REDACTED_CHARS = 1000  # twice what the log keeps: blanking only ever shortens the text


def redact(query: str) -> str:
    """Blank out what looks like customer data; error codes (0x80070005) and KB numbers stay.

    Everything after "password" (or "passcode", "PIN") goes: whatever follows is likely the
    secret itself. Card numbers pass the Luhn check (other long numbers become [number] below).
    """
    query = query[:_REDACTED_CHARS]
    secret = _SECRET_WORD.search(query)
    if secret and query[secret.end() :].strip():
        query = query[: secret.end()] + " [redacted]"
    query = _EMAIL.sub("[email]", query)
    query = _IBAN.sub(_iban_or_kept, query)
    query = _CARD.sub(lambda m: "[card]" if _passes_luhn(m.group()) else m.group(), query)
    return _PHONE.sub("[number]", query)


def _iban_or_kept(match: re.Match[str]) -> str:
    """An account number has at least 11 characters after the country and check digits."""
    return "[iban]" if sum(c.isalnum() for c in match.group()) >= 15 else match.group()


def _passes_luhn(number: str) -> bool:
    digits = [int(c) for c in reversed(number) if c.isdigit()]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits))
    return total % 10 == 0


def is_episode_id(value: str | None) -> bool:
    return bool(value and _EPISODE.match(value))


def record_search(
    session: Session,
    *,
    query: str,
    role: Role,
    results: int,
    episode: str | None,
    source: str,
    at: datetime | None = None,
    vocabulary: Vocabulary | None = None,
    read: gaps.Wording | None = None,
) -> SearchLog | None:
    """Log a search; later queries of the same episode replace the earlier, half-typed ones.

    `at` is when the search ran: an episode's keystrokes may reach different worker processes,
    whose buffers are written in any order, so an older query never replaces a newer one.
    `read`: what `gaps.wording` said of the logged query (see SearchLogBuffer._write_chunk).
    """
    at = at or utcnow()
    log = session.scalar(select(SearchLog).where(SearchLog.episode == episode)) if episode else None
    if log is not None and log.created_at > at:
        return None
    logged = logged_query(query)
    # Every search points at its gap: whether it failed for want of a click is only known later.
    # Found before the row is written, so that the row is inserted once, not inserted and updated.
    gap = gaps.gap_for(session, logged, vocabulary or Vocabulary(), read=read)
    if log is None or (log.opened_slug and log.opened_at and log.opened_at <= at):
        if log is not None:
            # The agent already opened something in this episode and is searching on: a new search.
            log.episode = None
            session.flush()
        log = SearchLog(episode=episode, role=role, source=source)
        session.add(log)
    log.query, log.results, log.created_at = logged, results, at
    log.gap_id = gap.id if gap else None
    session.flush()
    return log


def logged_query(query: str) -> str:
    """The query as the log keeps it: customer data blanked, cut to the column's length."""
    return redact(query)[:500]


def record_opened(session: Session, episode: str, slug: str, at: datetime | None = None) -> bool:
    """Mark the episode's search as having led to `slug`; False if there is no such episode."""
    log = session.scalar(select(SearchLog).where(SearchLog.episode == episode))
    if log is None:
        return False
    log.opened_slug = slug
    log.opened_at = at or utcnow()
    session.flush()
    return True


@dataclass
class _Search:
    query: str
    role: Role
    results: int
    episode: str | None
    source: str
    at: datetime


@dataclass
class _Opened:
    episode: str
    slug: str
    at: datetime
    attempts: int = 0


class SearchLogBuffer:
    """Searches and opened articles of this process, waiting to be written (see the module docstring)."""

    MAX_ENTRIES = 10_000  # beyond this (the database unreachable for long), the oldest are dropped
    OPENED_ATTEMPTS = 5  # an "opened" whose search is still in another process's buffer waits this many flushes
    # Entries written per transaction: a busy second's searches in one transaction held the
    # database's write lock for a second or more on SQLite, and a vote or a save waited on it.
    CHUNK = 16

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # One flush at a time: a flush asked for (on the way out, by a test) returns only once
        # what an earlier flush took is committed, not as soon as it finds the buffer empty.
        self._flushing = threading.Lock()
        self._entries: list[_Search | _Opened] = []
        self.dropped = 0

    def search(self, *, query: str, role: Role, results: int, episode: str | None, source: str) -> None:
        entry = _Search(query, role, results, episode, source, utcnow())
        with self._lock:
            last = self._entries[-1] if self._entries else None
            if episode and isinstance(last, _Search) and last.episode == episode:
                self._entries[-1] = entry  # the next keystroke of the same search
            else:
                self._add(entry)

    def opened(self, episode: str, slug: str) -> None:
        with self._lock:
            self._add(_Opened(episode, slug, utcnow()))

    def _add(self, entry: _Search | _Opened) -> None:
        self._entries.append(entry)
        if len(self._entries) > self.MAX_ENTRIES:
            del self._entries[0]
            self.dropped += 1

    def __len__(self) -> int:
        return len(self._entries)

    def flush(self, session: Session) -> int:
        """Write what is waiting, CHUNK entries per transaction; keep what was not written for the next flush."""
        with self._flushing:
            return self._flush(session)

    def _flush(self, session: Session) -> int:
        with self._lock:
            entries, self._entries = self._entries, []
        retry: list[_Search | _Opened] = []
        vocabulary = current_vocabulary(session) if entries else None
        for start in range(0, len(entries), self.CHUNK):
            try:
                retry += self._write_chunk(session, entries[start : start + self.CHUNK], vocabulary)
            except Exception:
                session.rollback()
                with self._lock:
                    self._entries[:0] = (retry + entries[start:])[-self.MAX_ENTRIES :]
                raise
        with self._lock:
            self._entries[:0] = retry
        return len(entries) - len(retry)

    def _write_chunk(self, session: Session, chunk: list[_Search | _Opened], vocabulary: Vocabulary) -> list:
        """Write `chunk` in one transaction; return the entries that should wait for the next flush.

        Which gap each search joins is read first, before the write lock: that search is most of
        the work, and with it inside, a busy second's searches kept votes and saves waiting for
        seconds on SQLite.
        """
        read = {
            id(entry): gaps.wording(session, logged_query(entry.query), vocabulary)
            for entry in chunk
            if isinstance(entry, _Search)
        }
        begin_write(session)
        retry = [entry for entry in chunk if not self._write(session, entry, vocabulary, read.get(id(entry)))]
        session.commit()
        return retry

    def _write(
        self, session: Session, entry: _Search | _Opened, vocabulary: Vocabulary, read: gaps.Wording | None
    ) -> bool:
        """Write one entry; False if it should wait for the next flush.

        In a savepoint when another process may write the same episode's row (the episode is
        unique); a search outside any episode cannot collide, and the savepoint's two extra
        statements were a good part of the time the write lock is held.
        """
        if isinstance(entry, _Search) and entry.episode is None:
            record_search(session, **entry.__dict__, vocabulary=vocabulary, read=read)
            return True
        try:
            with session.begin_nested():
                if isinstance(entry, _Search):
                    record_search(session, **entry.__dict__, vocabulary=vocabulary, read=read)
                    return True
                entry.attempts += 1
                return record_opened(session, entry.episode, entry.slug, entry.at) or (
                    entry.attempts >= self.OPENED_ATTEMPTS
                )
        except IntegrityError:  # another process logged the same episode a moment ago
            return False


MAX_VOTE_COMMENT = 1000


def record_helpful(
    session: Session,
    article: Article,
    user: User,
    helpful: bool,
    *,
    comment: str = "",
    vocabulary: Vocabulary | None = None,
) -> None:
    """Store the agent's vote (replacing an earlier one). The index is not touched: the ranking
    reads helpfulness beside it (kb.search.helpfulness; the caller tells it once committed).

    A "not helpful" vote is a knowledge gap's evidence: its comment (what the agent needed, with
    customer data blanked) or else the article's title says which gap.
    """
    comment = redact(" ".join(comment.split()))[:MAX_VOTE_COMMENT] if not helpful else ""
    said, vocabulary = comment or article.title, vocabulary or Vocabulary()
    read = None if helpful else gaps.wording(session, said, vocabulary)  # before the write lock
    begin_write(session)
    label = None if comment else f"Not helpful: “{article.title}”"
    gap = None if helpful else gaps.gap_for(session, said, vocabulary, label=label, read=read)
    try:
        with session.begin_nested():
            vote = Feedback(article_id=article.id, user_id=user.id, helpful=helpful, comment=comment)
            vote.gap_id = gap.id if gap else None
            session.add(vote)
    except IntegrityError:  # voted before (or a double click got there first): the latest wins
        vote = session.scalar(select(Feedback).where(Feedback.article_id == article.id, Feedback.user_id == user.id))
        vote.helpful, vote.comment, vote.gap_id = helpful, comment, gap.id if gap else None
        vote.created_at = utcnow()
    session.flush()


def votes(session: Session, article_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(helpful, not helpful) vote counts per article."""
    return _counts(session, article_ids)


def _counts(session: Session, article_ids: list[int] | None) -> dict[int, tuple[int, int]]:
    query = select(
        Feedback.article_id,
        func.sum(case((Feedback.helpful, 1), else_=0)),
        func.sum(case((Feedback.helpful, 0), else_=1)),
    ).group_by(Feedback.article_id)
    if article_ids is not None:
        query = query.where(Feedback.article_id.in_(article_ids))
    return {article_id: (int(up or 0), int(down or 0)) for article_id, up, down in session.execute(query)}


def all_votes(session: Session) -> dict[int, tuple[int, int]]:
    """(helpful, not helpful) vote counts of every article voted on."""
    return _counts(session, None)
