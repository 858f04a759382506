"""The search vocabulary: synonym groups that authors keep, applied when a query runs.

Customers say "wifi", "wireless" and "the internet thing"; articles say one of them. Groups are
applied at query time (see kb.search.query), so a new synonym works at once without a reindex.
Groups travel with the articles as `synonyms.yaml`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import yaml
from sqlalchemy import Text, cast, delete, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from kb import limits
from kb.datafiles import DataFileError, load_list
from kb.db import begin_write, utcnow
from kb.models import SynonymGroup, User
from kb.search.query import Vocabulary

FILE_NAME = "synonyms.yaml"
MAX_TERMS = 30
MAX_TERM_LENGTH = 80
FILE_HEADER = "# Synonym groups: each line lists words and phrasings that mean the same to a customer.\n"


class VocabularyError(ValueError):
    """A synonym group or file that cannot be used, with the reason (and place, for files)."""


def normalize_terms(terms: Iterable[str]) -> list[str]:
    """Lowercase, tidy and de-duplicate terms; raise VocabularyError if the group is unusable."""
    seen: dict[str, None] = {}
    for position, term in enumerate(terms, start=1):
        problem = limits.text_problem(term, max_chars=4 * MAX_TERM_LENGTH)
        if problem:
            raise VocabularyError(f"term {position} {problem}")
        term = " ".join(term.split()).lower()
        if len(term) > MAX_TERM_LENGTH:
            raise VocabularyError(f"'{term[:30]}…' is longer than {MAX_TERM_LENGTH} characters")
        if term:
            seen.setdefault(term, None)
        if len(seen) > MAX_TERMS:
            break
    if len(seen) < 2:
        raise VocabularyError("a synonym group needs at least two different terms")
    if len(seen) > MAX_TERMS:
        raise VocabularyError(f"a synonym group holds at most {MAX_TERMS} terms")
    return list(seen)


def parse_terms(text: str) -> list[str]:
    """Terms from a comma-separated line, as typed in the UI."""
    return normalize_terms(text.split(","))


def list_groups(session: Session) -> list[SynonymGroup]:
    return list(session.scalars(select(SynonymGroup).order_by(SynonymGroup.id)))


def get_group(session: Session, group_id: int) -> SynonymGroup | None:
    return session.get(SynonymGroup, group_id)


def save_group(
    session: Session, terms: Iterable[str], *, user: User | None, group: SynonymGroup | None = None
) -> SynonymGroup:
    """Create a group, or replace the terms of `group`."""
    normalized = normalize_terms(terms)
    begin_write(session)
    if group is None:
        group = SynonymGroup(terms=normalized, updated_by_id=user.id if user else None)
        session.add(group)
    else:
        group.terms = normalized
        group.updated_by_id = user.id if user else None
    group.updated_at = utcnow()
    try:
        with session.begin_nested():
            session.flush()
    except StaleDataError:
        raise VocabularyError("someone deleted this synonym group a moment ago") from None
    return group


def delete_group(session: Session, group: SynonymGroup) -> None:
    """Delete `group` (deleting one that is already gone is not an error)."""
    begin_write(session)
    session.execute(delete(SynonymGroup).where(SynonymGroup.id == group.id))
    session.expunge(group)


def current_vocabulary(session: Session) -> Vocabulary:
    """The vocabulary as the database holds it now.

    Read per search (the table is small), but built only when it changed: building it splits and
    compares every term, about 2 ms of each keystroke's search with the starter synonyms. The
    groups are read as the database's text, not decoded into lists: the text is all it takes to
    see that nothing changed, and decoding every group was a millisecond of every search.
    """
    rows = session.connection().execute(select(cast(SynonymGroup.terms, Text)).order_by(SynonymGroup.id))
    return _built(tuple(rows.scalars()))


@lru_cache(maxsize=4)
def _built(groups: tuple[str, ...]) -> Vocabulary:
    # never changed once built: a search only reads it
    return Vocabulary(tuple(json.loads(terms or "[]")) for terms in groups)


# --- the synonyms.yaml file ---------------------------------------------------------------------


def read_file(path: Path) -> list[list[str]]:
    """Read a synonyms file: a YAML list of lists of terms."""
    groups = []
    for number, group in enumerate(load_list(path, expected="synonym groups, like '- [wifi, wireless]'"), start=1):
        if not isinstance(group, list):
            raise DataFileError(path.name, None, f"group {number} is not a list of terms")
        try:
            groups.append(normalize_terms(group))
        except VocabularyError as exc:
            raise DataFileError(path.name, None, f"group {number}: {exc}") from None
    return groups


def import_groups(session: Session, groups: list[list[str]], *, user: User | None = None) -> int:
    """Add the groups not already present (same set of terms); return how many were added.

    Existing groups are never removed or changed by an import.
    """
    known = {frozenset(g.terms) for g in list_groups(session)}
    added = 0
    for terms in groups:
        if frozenset(terms) not in known:
            save_group(session, terms, user=user)
            known.add(frozenset(terms))
            added += 1
    return added


def dump_groups(groups: list[SynonymGroup]) -> str:
    lines = [yaml.safe_dump([g.terms], default_flow_style=None, allow_unicode=True, width=10_000) for g in groups]
    return FILE_HEADER + "".join(lines)
