"""The JSON shapes of reading paths, teams, assignments and progress, as the API answers them.

Each shape is described in kb/views/openapi/learning.py; the tests hold the two to each other.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from kb.learning import progress
from kb.learning.progress import ReaderProgress, StepState
from kb.models import PathAssignment, PathRevision, PathStep, ReadingPath, Team
from kb.render import to_html


def _when(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def path_json(path: ReadingPath, *, changed: bool | None = None) -> dict:
    """A path with its steps; `changed` (after a save) says whether the save changed anything."""
    body = {
        "id": path.id,
        "title": path.title,
        "purpose": path.purpose,
        "steps": [_step_json(n, s) for n, s in enumerate(path.steps, start=1)],
        "version": path.version,
        "retired": path.retired_at is not None,
        "retired_at": _when(path.retired_at),
        "onboarding": path.onboarding_role.value if path.onboarding_role else None,
        "created_at": _when(path.created_at),
        "updated_at": _when(path.updated_at),
        "created_by": path.created_by.username if path.created_by else None,
    }
    if changed is not None:
        body["changed"] = changed
    return body


def _step_json(number: int, step: PathStep) -> dict:
    return {
        "n": number,
        "article": step.article.slug,
        "title": step.article.title,
        "article_status": step.article.status.value,
        "note": step.note,
        "question": step.question,
    }


def revision_json(revision: PathRevision, slugs: dict[int, str]) -> dict:
    """A path as it was saved (`slugs`: kb.learning.paths.snapshot_slugs; null for a deleted article)."""
    snapshot = revision.snapshot
    return {
        "number": revision.number,
        "created_at": _when(revision.created_at),
        "created_by": revision.created_by.username if revision.created_by else None,
        "title": snapshot.get("title", ""),
        "purpose": snapshot.get("purpose", ""),
        "steps": [
            {"article": slugs.get(s.get("article_id")), "note": s.get("note", ""), "question": s.get("question", "")}
            for s in snapshot.get("steps", [])
        ],
        "retired": bool(snapshot.get("retired")),
        "onboarding": snapshot.get("onboarding"),
    }


def team_json(team: Team) -> dict:
    return {"id": team.id, "name": team.name, "members": [m.user.username for m in team.members]}


def assignment_json(assignment: PathAssignment) -> dict:
    return {
        "id": assignment.id,
        "user": assignment.user.username if assignment.user else None,
        "team": assignment.team.name if assignment.team else None,
        "due": _when(assignment.due),
        "assigned_at": _when(assignment.assigned_at),
    }


def my_path_json(mine: ReaderProgress) -> dict:
    return {
        "id": mine.path.id,
        "title": mine.path.title,
        "due": _when(mine.due),
        "done_steps": mine.done,
        "total_steps": mine.total,
        "reread_steps": mine.reread,
        "status": mine.status,
        "overdue": mine.is_overdue(),
        "steps": [
            {"n": s.number, "article": s.article.slug, "title": s.article.title, "status": s.status} for s in mine.steps
        ],
    }


def reader_step_json(session: Session, path: ReadingPath, state: StepState) -> dict:
    """One step for its reader: the trainer's note and question, the article as published, what
    changed since they read it, their answer and the trainer's feedback on it."""
    revision = progress.readable_revision(session, state)
    row = state.progress
    return {
        "path": {"id": path.id, "title": path.title},
        "n": state.number,
        "total_steps": len(path.steps),
        "article": state.article.slug,
        "title": revision.title if revision else state.article.title,
        "note": state.step.note,
        "question": state.step.question,
        "status": state.status,
        "revision": revision.number if revision else None,
        "html": str(to_html(revision.body)) if revision else "",
        "changes": progress.changes_since_read(session, state),
        "read_at": _when(row.read_at) if row else None,
        "seconds": row.seconds if row else 0,
        "answer": row.answer if row else "",
        "feedback": row.feedback if row else "",
    }


def assignee_json(reader: ReaderProgress) -> dict:
    """One reader's progress through a path, for its trainer."""
    return {
        "username": reader.user.username,
        "status": reader.status,
        "done": reader.done,
        "total": reader.total,
        "reread": reader.reread,
        "overdue": reader.is_overdue(),
        "due": _when(reader.due),
        "via": reader.via,
        "seconds": [s.progress.seconds if s.progress else 0 for s in reader.steps],
        "answers": [_answer_json(s) for s in reader.steps if s.step.question or (s.progress and s.progress.answer)],
    }


def _answer_json(state: StepState) -> dict:
    row = state.progress
    return {
        "n": state.number,
        "question": state.step.question,
        "answer": row.answer if row else "",
        "answered_at": _when(row.answered_at) if row else None,
        "feedback": row.feedback if row else "",
    }
