"""A reading path: its title, purpose and ordered steps, saved as revisions like articles are."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from kb import store
from kb.db import begin_write, utcnow
from kb.limits import text_problem
from kb.models import Article, PathRevision, PathStep, ReadingPath, Role, SlugAlias, Status, User

MAX_TITLE_CHARS = 300
MAX_PURPOSE_CHARS = 5_000
MAX_NOTE_CHARS = 5_000
MAX_QUESTION_CHARS = 1_000
MAX_STEPS = 100


class LearningError(ValueError):
    """A path, team or progress change kb refuses, with the field at fault (`steps[2].article`)."""

    def __init__(self, message: str, *, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.field, self.status = field, status


class LearningNotFound(LearningError):
    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message, field=field, status=404)


class PathConflict(Exception):
    """A save based on a version of the path someone else has saved over since."""

    def __init__(self, path: ReadingPath, based_on: int):
        super().__init__(f"path {path.id} is at version {path.version}, not {based_on}")
        self.path, self.based_on = path, based_on


@dataclass
class StepInput:
    article: str  # a slug (an old slug of a renamed article works too)
    note: str = ""
    question: str = ""


@dataclass
class PathInput:
    title: str
    purpose: str = ""
    steps: list[StepInput] = field(default_factory=list)


def get_path(session: Session, path_id: int) -> ReadingPath:
    path = session.get(ReadingPath, path_id)
    if path is None:
        raise LearningNotFound(f"There is no reading path {path_id}.")
    return path


def list_paths(session: Session, *, retired: bool = False) -> list[ReadingPath]:
    """Paths in use (or the retired ones), newest first, with their steps and articles loaded."""
    query = (
        select(ReadingPath)
        .where(ReadingPath.retired_at.is_not(None) if retired else ReadingPath.retired_at.is_(None))
        .options(selectinload(ReadingPath.steps).selectinload(PathStep.article))
        .order_by(ReadingPath.updated_at.desc(), ReadingPath.id.desc())
    )
    return list(session.scalars(query))


def create_path(session: Session, data: PathInput, *, user: User | None) -> ReadingPath:
    """Save a new path; LearningError names the field (and step) that is wrong."""
    articles = _checked(session, data, None)
    begin_write(session)
    path = ReadingPath(title=data.title.strip(), purpose=data.purpose.strip(), version=1)
    path.created_by_id = path.updated_by_id = user.id if user else None
    path.steps = _steps(data, articles)
    session.add(path)
    session.flush()
    _add_revision(session, path, user)
    return path


def update_path(session: Session, path: ReadingPath, data: PathInput, *, user: User | None, based_on: int) -> bool:
    """Save `data` over `path` if nobody saved since `based_on`; return whether anything changed.

    Steps are matched by article, so a reorder or a new note keeps readers' progress (which is
    kept per article, kb.models.learning).
    """
    if based_on != path.version:
        raise PathConflict(path, based_on)
    articles = _checked(session, data, path)
    if _snapshot_of(data, articles) == _current_snapshot(path):
        return False
    begin_write(session)
    with _saving(session, path, based_on):
        path.title, path.purpose = data.title.strip(), data.purpose.strip()
        _replace_steps(session, path, _steps(data, articles))
        _touch(path, user)
        session.flush()
        _add_revision(session, path, user)
    return True


def duplicate_path(session: Session, path: ReadingPath, *, user: User | None) -> ReadingPath:
    """A copy to adapt (not assigned to anyone, not onboarding): "Copy of <title>"."""
    title = f"Copy of {path.title}"[:MAX_TITLE_CHARS]
    begin_write(session)
    copy = ReadingPath(title=title, purpose=path.purpose, version=1)
    copy.created_by_id = copy.updated_by_id = user.id if user else None
    copy.steps = [
        PathStep(position=s.position, article_id=s.article_id, note=s.note, question=s.question) for s in path.steps
    ]
    session.add(copy)
    session.flush()
    _add_revision(session, copy, user)
    return copy


def retire_path(session: Session, path: ReadingPath, *, user: User | None) -> bool:
    """Take a path out of use: readers no longer see it; nothing they did is lost. Return whether it changed."""
    return _set(session, path, user, retired_at=path.retired_at or utcnow())


def reinstate_path(session: Session, path: ReadingPath, *, user: User | None) -> bool:
    return _set(session, path, user, retired_at=None)


def set_onboarding(session: Session, path: ReadingPath, role: Role | None, *, user: User | None) -> bool:
    """Make the path one that new users of `role` get on their first day (None: no role)."""
    if role is not None and path.retired_at is not None:
        raise LearningError("A retired path cannot be an onboarding path: reinstate it first.", field="role")
    return _set(session, path, user, onboarding_role=role)


def _set(session: Session, path: ReadingPath, user: User | None, **values: object) -> bool:
    if all(getattr(path, name) == value for name, value in values.items()):
        return False
    begin_write(session)
    with _saving(session, path, path.version):
        for name, value in values.items():
            setattr(path, name, value)
        _touch(path, user)
        session.flush()
        _add_revision(session, path, user)
    return True


@contextmanager
def _saving(session: Session, path: ReadingPath, based_on: int) -> Iterator[None]:
    """Save in a savepoint: of two saves of a path at once, the second is a PathConflict, not a 500.

    The version read earlier guards the UPDATE (kb.models.learning), and another save committed
    since makes it match no row (StaleDataError) or collide on the revision number (IntegrityError).
    """
    try:
        with session.begin_nested():
            yield
    except (StaleDataError, IntegrityError):
        current = session.get(ReadingPath, path.id, populate_existing=True)
        raise PathConflict(current or path, based_on) from None


def _touch(path: ReadingPath, user: User | None) -> None:
    path.version = path.version + 1
    path.updated_at = utcnow()
    path.updated_by_id = user.id if user else None


# --- checking what a trainer sends --------------------------------------------------------------


def _checked(session: Session, data: PathInput, path: ReadingPath | None) -> list[Article]:
    """The article of each step, after checking every field; LearningError names the first bad one."""
    _check_text(data.title, "title", MAX_TITLE_CHARS, required=True)
    _check_text(data.purpose, "purpose", MAX_PURPOSE_CHARS)
    if len(data.steps) > MAX_STEPS:
        raise LearningError(f"A path has at most {MAX_STEPS} steps (this one has {len(data.steps)}).", field="steps")
    kept = {step.article_id for step in path.steps} if path is not None else set()
    articles, seen = [], {}
    for number, step in enumerate(data.steps, start=1):
        where = f"steps[{number}]"
        _check_text(step.note, f"{where}.note", MAX_NOTE_CHARS)
        _check_text(step.question, f"{where}.question", MAX_QUESTION_CHARS)
        article = _step_article(session, step.article, where, kept)
        if article.id in seen:
            raise LearningError(
                f"Step {number}: '{article.slug}' is already step {seen[article.id]}.", field=f"{where}.article"
            )
        seen[article.id] = number
        articles.append(article)
    return articles


def _check_text(value: object, name: str, most: int, *, required: bool = False) -> None:
    problem = text_problem(value, max_chars=most)
    if problem is None and required and not str(value).strip():
        problem = "is required"
    if problem:
        raise LearningError(f"{name} {problem}.", field=name)


def _step_article(session: Session, slug: object, where: str, kept: set[int]) -> Article:
    """The published article `slug` names (or one the path already has, even if archived since)."""
    number = where[len("steps[") : -1]
    if not isinstance(slug, str) or not slug.strip():
        raise LearningError(f"Step {number}: name the article by its slug.", field=f"{where}.article")
    article = store.find_by_slug(session, slug.strip()[:200])
    if article is None:
        alias = session.get(SlugAlias, slug.strip()[:200])
        article = session.get(Article, alias.article_id) if alias is not None else None
    if article is None or (article.status != Status.PUBLISHED and article.id not in kept):
        shown = slug.strip()[:120]
        reason = "is not published" if article is not None else "does not exist"
        raise LearningError(
            f"Step {number}: the article '{shown}' {reason}; only published articles can be steps.",
            field=f"{where}.article",
        )
    return article


def _steps(data: PathInput, articles: list[Article]) -> list[PathStep]:
    return [
        PathStep(position=n, article_id=a.id, note=s.note.strip(), question=s.question.strip())
        for n, (s, a) in enumerate(zip(data.steps, articles, strict=True), start=1)
    ]


def _replace_steps(session: Session, path: ReadingPath, steps: list[PathStep]) -> None:
    """Rewrite the steps, keeping the rows of articles still in the path (their ids stay stable)."""
    old = {step.article_id: step for step in path.steps}
    new = []
    for step in steps:
        row = old.pop(step.article_id, None) or step
        row.position, row.note, row.question = step.position, step.note, step.question
        new.append(row)
    for gone in old.values():
        session.delete(gone)
    session.flush()  # the removed rows go before positions are reused
    path.steps = new


# --- revisions ----------------------------------------------------------------------------------


def _snapshot_of(data: PathInput, articles: list[Article]) -> dict:
    return {
        "title": data.title.strip(),
        "purpose": data.purpose.strip(),
        "steps": [
            {"article_id": a.id, "note": s.note.strip(), "question": s.question.strip()}
            for s, a in zip(data.steps, articles, strict=True)
        ],
    }


def _current_snapshot(path: ReadingPath) -> dict:
    return {
        "title": path.title,
        "purpose": path.purpose,
        "steps": [{"article_id": s.article_id, "note": s.note, "question": s.question} for s in path.steps],
    }


def _add_revision(session: Session, path: ReadingPath, user: User | None) -> None:
    snapshot = _current_snapshot(path) | {
        "retired": path.retired_at is not None,
        "onboarding": path.onboarding_role.value if path.onboarding_role else None,
    }
    session.add(
        PathRevision(path_id=path.id, number=path.version, created_by_id=user.id if user else None, snapshot=snapshot)
    )
    session.flush()


def revisions(session: Session, path: ReadingPath) -> list[PathRevision]:
    """The path as saved each time, newest first (each a JSON snapshot: kb.models.learning)."""
    query = (
        select(PathRevision)
        .where(PathRevision.path_id == path.id)
        .options(selectinload(PathRevision.created_by))
        .order_by(PathRevision.number.desc())
    )
    return list(session.scalars(query))


def snapshot_slugs(session: Session, saved: list[PathRevision]) -> dict[int, str]:
    """The slug of each article the snapshots' steps name, by article id (one query for them all)."""
    ids = {step["article_id"] for revision in saved for step in revision.snapshot.get("steps", [])}
    return {
        article_id: slug
        for article_id, slug in session.execute(select(Article.id, Article.slug).where(Article.id.in_(ids)))
    }


def revision_count(session: Session, path: ReadingPath) -> int:
    return session.scalar(select(func.count()).where(PathRevision.path_id == path.id)) or 0
