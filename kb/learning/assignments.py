"""Who has which path and by when: directly, or through a team (including people who join later).

A team assignment is kept as one row for the team, not copied to its members: whoever is in the
team when the question is asked has the path, so a new member gets it with no extra step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kb.db import begin_write
from kb.learning.paths import LearningError
from kb.learning.teams import team_named, user_named
from kb.models import PathAssignment, ReadingPath, TeamMember, User

MAX_AT_ONCE = 1_000


@dataclass
class Assignee:
    user: User
    due: date | None
    via: list[str]  # "direct" and/or the names of the teams that gave them the path


def assign(
    session: Session, path: ReadingPath, *, users: list[str], teams: list[str], due: date | None, by: User | None
) -> int:
    """Give `path` to `users` and `teams` (usernames, team names), due by `due`; return how many
    assignments were made or changed. Assigning again changes the due date."""
    if path.retired_at is not None:
        raise LearningError("This path is retired: reinstate it before assigning it.", field="path")
    if not users and not teams:
        raise LearningError("Name at least one user or team to assign the path to.", field="users")
    if len(users) + len(teams) > MAX_AT_ONCE:
        raise LearningError(f"Assign to at most {MAX_AT_ONCE:,} users and teams at once.", field="users")
    people = [user_named(session, name, f"users[{n}]") for n, name in enumerate(users, start=1)]
    groups = [team_named(session, name, f"teams[{n}]") for n, name in enumerate(teams, start=1)]
    begin_write(session)
    changed = sum(_upsert(session, path, due, by, user_id=p.id) for p in dict.fromkeys(people))
    changed += sum(_upsert(session, path, due, by, team_id=t.id) for t in dict.fromkeys(groups))
    session.flush()
    return changed


def _upsert(session: Session, path: ReadingPath, due: date | None, by: User | None, **who: int) -> bool:
    column, value = next(iter(who.items()))
    existing = session.scalar(
        select(PathAssignment).where(PathAssignment.path_id == path.id, getattr(PathAssignment, column) == value)
    )
    if existing is None:
        try:
            with session.begin_nested():
                session.add(PathAssignment(path_id=path.id, due=due, assigned_by_id=by.id if by else None, **who))
            return True
        except IntegrityError:  # assigned by another trainer a moment ago: set the due date on theirs
            existing = session.scalar(
                select(PathAssignment).where(
                    PathAssignment.path_id == path.id, getattr(PathAssignment, column) == value
                )
            )
    if existing.due == due:
        return False
    existing.due = due
    return True


def unassign(session: Session, path: ReadingPath, *, users: list[str], teams: list[str]) -> int:
    """Take the path back from `users` and `teams`; what they read is kept. Return how many."""
    people = [user_named(session, name, f"users[{n}]").id for n, name in enumerate(users, start=1)]
    groups = [team_named(session, name, f"teams[{n}]").id for n, name in enumerate(teams, start=1)]
    begin_write(session)
    rows = session.scalars(
        select(PathAssignment).where(
            PathAssignment.path_id == path.id,
            or_(PathAssignment.user_id.in_(people), PathAssignment.team_id.in_(groups)),
        )
    ).all()
    for row in rows:
        session.delete(row)
    session.flush()
    return len(rows)


def assign_onboarding(session: Session, user: User) -> int:
    """Give a new user the onboarding paths of the roles they hold; return how many."""
    paths = session.scalars(
        select(ReadingPath).where(ReadingPath.onboarding_role.in_(user.roles), ReadingPath.retired_at.is_(None))
    ).all()
    session.flush()  # the user needs an id
    for path in paths:
        session.add(PathAssignment(path_id=path.id, user_id=user.id))
    session.flush()
    return len(paths)


def assignments_of(session: Session, path: ReadingPath) -> list[PathAssignment]:
    """The path's assignments as made: people first, then teams."""
    rows = session.scalars(select(PathAssignment).where(PathAssignment.path_id == path.id)).all()
    return sorted(rows, key=lambda a: (a.user_id is None, a.user.username if a.user else a.team.name))


def assignees(session: Session, path: ReadingPath) -> dict[int, Assignee]:
    """Everyone who has `path` now, by user id, with the earliest due date of their assignments."""
    found: dict[int, Assignee] = {}
    direct = session.execute(
        select(User, PathAssignment.due)
        .join(PathAssignment, PathAssignment.user_id == User.id)
        .where(PathAssignment.path_id == path.id)
    )
    for user, due in direct:
        _add(found, user, due, "direct")
    through_teams = session.execute(
        select(User, PathAssignment.due, PathAssignment.team_id)
        .join(TeamMember, TeamMember.user_id == User.id)
        .join(PathAssignment, PathAssignment.team_id == TeamMember.team_id)
        .where(PathAssignment.path_id == path.id)
    )
    names = {a.team_id: a.team.name for a in assignments_of(session, path) if a.team_id}
    for user, due, team_id in through_teams:
        _add(found, user, due, names.get(team_id, "a team"))
    return found


def _add(found: dict[int, Assignee], user: User, due: date | None, via: str) -> None:
    if not user.is_active:
        return
    entry = found.setdefault(user.id, Assignee(user, due, []))
    entry.via.append(via)
    if due is not None and (entry.due is None or due < entry.due):
        entry.due = due


def paths_of(session: Session, user: User) -> list[tuple[ReadingPath, date | None]]:
    """The paths in use that `user` has, directly or through a team, with the earliest due date."""
    teams = select(TeamMember.team_id).where(TeamMember.user_id == user.id)
    rows = session.execute(
        select(ReadingPath, PathAssignment.due)
        .join(PathAssignment, PathAssignment.path_id == ReadingPath.id)
        .where(
            ReadingPath.retired_at.is_(None),
            or_(PathAssignment.user_id == user.id, PathAssignment.team_id.in_(teams)),
        )
        .order_by(PathAssignment.assigned_at, ReadingPath.id)
    )
    found: dict[int, tuple[ReadingPath, date | None]] = {}
    for path, due in rows:
        if path.id not in found:
            found[path.id] = (path, due)
        elif due is not None and (found[path.id][1] is None or due < found[path.id][1]):
            found[path.id] = (path, due)
    return list(found.values())
