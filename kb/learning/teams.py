"""Teams: named groups of people a trainer assigns paths to, now and to whoever joins later."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from kb.db import begin_write
from kb.learning.paths import LearningError, LearningNotFound, _check_text
from kb.models import Team, TeamMember, User

MAX_NAME_CHARS = 120
MAX_MEMBERS_AT_ONCE = 1_000


def list_teams(session: Session) -> list[Team]:
    query = select(Team).options(selectinload(Team.members).selectinload(TeamMember.user)).order_by(Team.name)
    return list(session.scalars(query))


def get_team(session: Session, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise LearningNotFound(f"There is no team {team_id}.")
    return team


def team_named(session: Session, name: str, field: str = "teams") -> Team:
    team = session.scalar(select(Team).where(Team.name == name))
    if team is None:
        raise LearningError(f"There is no team named '{str(name)[:120]}'.", field=field)
    return team


def create_team(session: Session, name: str, members: list[str], *, user: User | None) -> Team:
    """A new team with `members` (usernames); LearningError names a taken name or an unknown user."""
    name = _checked_name(name)
    if len(members) > MAX_MEMBERS_AT_ONCE:
        raise LearningError(f"Add at most {MAX_MEMBERS_AT_ONCE:,} members at once.", field="members")
    people = [user_named(session, username, f"members[{n}]") for n, username in enumerate(members, start=1)]
    begin_write(session)
    team = Team(name=name, created_by_id=user.id if user else None)
    try:
        with session.begin_nested():
            session.add(team)
    except IntegrityError:  # a team of that name exists, or was made a moment ago
        raise LearningError(f"A team named '{name}' already exists.", field="name", status=409) from None
    for person in dict.fromkeys(people):
        session.add(TeamMember(team_id=team.id, user_id=person.id))
    session.flush()
    return team


def rename_team(session: Session, team: Team, name: str) -> bool:
    name = _checked_name(name)
    if name == team.name:
        return False
    begin_write(session)
    team.name = name
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise LearningError(f"A team named '{name}' already exists.", field="name", status=409) from None
    return True


def add_member(session: Session, team: Team, username: str) -> bool:
    """Put `username` in the team (from now on they have its paths); False if already there."""
    person = user_named(session, username, "username")
    begin_write(session)
    try:
        with session.begin_nested():
            session.add(TeamMember(team_id=team.id, user_id=person.id))
    except IntegrityError:  # already a member (or added by someone else a moment ago)
        return False
    return True


def remove_member(session: Session, team: Team, username: str) -> bool:
    """Take `username` out of the team; what they read stays theirs. False if not a member."""
    person = user_named(session, username, "username")
    begin_write(session)
    member = session.get(TeamMember, (team.id, person.id))
    if member is None:
        return False
    session.delete(member)
    session.flush()
    return True


def user_named(session: Session, username: object, field: str) -> User:
    if not isinstance(username, str) or not username.strip():
        raise LearningError(f"{field} must be a username.", field=field)
    user = session.scalar(select(User).where(User.username == username.strip()[:80]))
    if user is None:
        raise LearningError(f"{field}: there is no user named '{username.strip()[:80]}'.", field=field)
    return user


def _checked_name(name: object) -> str:
    _check_text(name, "name", MAX_NAME_CHARS, required=True)
    return str(name).strip()
