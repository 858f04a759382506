"""An article's past: what changed between any two revisions, and bringing an old one back.

Every save already keeps a full snapshot (kb.store), so both are reads of revisions. A restore
is an ordinary save of an old snapshot on top of the current one: it makes a new revision and
destroys nothing, and a stale restore is refused like any stale save.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from kb import store
from kb.models import Article, Revision, User
from kb.textdiff import Change, word_diff

# The fields shown beside the body diff, in the order an author reads them.
FIELDS = ("title", "slug", "summary", "tags", "product", "audience", "status", "extra")


@dataclass
class RevisionDiff:
    """Revision `older` to revision `newer`: the body word by word, other fields as before/after pairs."""

    older: Revision
    newer: Revision
    changes: list[Change]
    fields: dict[str, dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {"from": self.older.number, "to": self.newer.number, "changes": self.changes, "fields": self.fields}


def compare(session: Session, article: Article, older: int | None = None, newer: int | None = None) -> RevisionDiff:
    """Compare two revisions of `article`: by default the current one with the one before it.

    Raise store.ArticleNotFound naming the revision when either number does not exist.
    """
    newer = article.version if newer is None else newer
    older = max(newer - 1, 1) if older is None else older
    before, after = store.get_revision(session, article, older), store.get_revision(session, article, newer)
    return RevisionDiff(before, after, word_diff(before.body, after.body), field_changes(before, after))


def field_changes(before: Revision, after: Revision) -> dict[str, dict[str, Any]]:
    """The metadata that differs between two revisions, as {"from": ..., "to": ...} per field."""
    changed = {}
    for name in FIELDS:
        old, new = _plain(getattr(before, name)), _plain(getattr(after, name))
        if old != new:
            changed[name] = {"from": old, "to": new}
    return changed


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def restore(
    session: Session, article: Article, number: int, *, user: User | None, based_on: int, message: str = ""
) -> store.SaveResult:
    """Save revision `number`'s content as a new revision of `article`.

    The slug and status stay as they are now: a restore must not move the article's address (links
    and bookmarks point there) nor publish or unpublish it behind the review workflow's back.
    Raise VersionConflict when someone saved after `based_on`, like any edit.
    """
    revision = store.get_revision(session, article, number)
    data = replace(store.ArticleFields.of(revision), slug=article.slug, status=article.status)
    note = f"Restored revision {number}" + (f": {message}" if message else "")
    return store.update_article(session, article, data, user=user, based_on=based_on, message=note)
