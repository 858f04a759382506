"""Reading paths as a file, `reading-paths.yaml`, travelling with the articles through import and export.

Paths are matched by title: importing a path whose title exists saves the file's version over it
as a new revision when it differs (nothing is lost, every revision is kept) and changes nothing
when it is the same, so importing the starter content twice is harmless. Teams, assignments and
progress are about people, not content: backups carry them, this file does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.datafiles import DataFileError, load_list_with_lines
from kb.db import begin_write
from kb.learning import paths as kb_paths
from kb.models import ReadingPath, Role

FILE_NAME = "reading-paths.yaml"
FILE_HEADER = (
    "# Reading paths: ordered articles with the trainer's reasons. Each step names an article by slug,\n"
    "# with a note (why it matters, what to notice) and an optional reflection question.\n"
    '# "onboarding: agent" gives the path to every new agent when their account is created.\n'
)
EXPECTED = "'- title: ...' entries with 'steps'"
KEYS = {"title", "purpose", "onboarding", "retired", "steps"}
STEP_KEYS = {"article", "note", "question"}


@dataclass
class FilePath:
    line: int
    data: kb_paths.PathInput
    onboarding: Role | None = None
    retired: bool = False


@dataclass
class PathImport:
    added: int = 0
    updated: int = 0
    problems: list[DataFileError] = field(default_factory=list)


def read_file(path: Path) -> list[FilePath]:
    """The paths in a reading-paths file; DataFileError (file, line, reason) for the first malformed entry."""
    return [_entry(path.name, line, entry) for line, entry in load_list_with_lines(path, expected=EXPECTED)]


def _entry(name: str, line: int, entry: Any) -> FilePath:
    if not isinstance(entry, dict) or not entry.get("title"):
        raise DataFileError(name, line, f"expected {EXPECTED}")
    unknown = sorted(set(entry) - KEYS)
    if unknown:
        raise DataFileError(name, line, f"unknown key '{unknown[0]}' (use {', '.join(sorted(KEYS))})")
    steps = entry.get("steps") or []
    if not isinstance(steps, list) or not all(isinstance(s, dict) and set(s) <= STEP_KEYS for s in steps):
        raise DataFileError(name, line, "'steps' must be a list of entries with article, note and question")
    onboarding = entry.get("onboarding") or None
    if onboarding is not None and onboarding not in {r.value for r in Role}:
        raise DataFileError(name, line, f"onboarding must be a role ({', '.join(r.value for r in Role)})")
    data = kb_paths.PathInput(
        title=_text(entry["title"]),
        purpose=_text(entry.get("purpose", "")),
        steps=[
            kb_paths.StepInput(_text(s.get("article", "")), _text(s.get("note", "")), _text(s.get("question", "")))
            for s in steps
        ],
    )
    return FilePath(line, data, Role(onboarding) if onboarding else None, entry.get("retired") in ("true", "yes"))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def import_paths(session: Session, entries: list[FilePath], *, file_name: str = FILE_NAME) -> PathImport:
    """Add or update each path; a path kb refuses is named with its line and skipped, the others go in."""
    report = PathImport()
    begin_write(session)
    for entry in entries:
        try:
            with session.begin_nested():
                changed = _import_one(session, entry)
        except kb_paths.LearningError as refused:
            report.problems.append(DataFileError(file_name, entry.line, f"'{entry.data.title[:80]}': {refused}"))
            continue
        report.added += changed == "added"
        report.updated += changed == "updated"
    return report


def _import_one(session: Session, entry: FilePath) -> str | None:
    existing = session.scalar(select(ReadingPath).where(ReadingPath.title == entry.data.title.strip()).limit(1))
    if existing is None:
        path = kb_paths.create_path(session, entry.data, user=None)
        outcome: str | None = "added"
    else:
        path = existing
        changed = kb_paths.update_path(session, path, entry.data, user=None, based_on=path.version)
        outcome = "updated" if changed else None
    if entry.retired:
        moved = kb_paths.set_onboarding(session, path, None, user=None) | kb_paths.retire_path(session, path, user=None)
    else:
        moved = kb_paths.reinstate_path(session, path, user=None) | kb_paths.set_onboarding(
            session, path, entry.onboarding, user=None
        )
    return outcome or ("updated" if moved else None)


def all_paths(session: Session) -> list[ReadingPath]:
    return list(session.scalars(select(ReadingPath).order_by(ReadingPath.id)))


def dump_paths(paths: list[ReadingPath]) -> str:
    """Every path (retired ones marked so), in the file format read_file reads."""
    entries = [_dumped(path) for path in paths]
    body = yaml.safe_dump(entries, sort_keys=False, allow_unicode=True, width=100) if entries else "[]\n"
    return FILE_HEADER + body


def _dumped(path: ReadingPath) -> dict[str, Any]:
    entry: dict[str, Any] = {"title": path.title, "purpose": path.purpose}
    if path.onboarding_role is not None:
        entry["onboarding"] = path.onboarding_role.value
    if path.retired_at is not None:
        entry["retired"] = True
    entry["steps"] = [_dumped_step(step) for step in path.steps]
    return entry


def _dumped_step(step: Any) -> dict[str, str]:
    dumped = {"article": step.article.slug}
    if step.note:
        dumped["note"] = step.note
    if step.question:
        dumped["question"] = step.question
    return dumped
