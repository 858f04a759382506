"""The trainer's pages about people: teams, and one person's paths (routes on the "trainer"
blueprint, kb.views.trainer).

A team is who a path goes to, now and later: whoever joins a team has its paths from then on.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from kb import auth, learning
from kb.db import get_session
from kb.learning import LearningError, progress
from kb.learning.paths import LearningNotFound
from kb.models import Team
from kb.store import FieldError
from kb.views.trainer import bp, field_error, me, names_in


def _team_or_404(team_id: int) -> Team:
    try:
        return learning.get_team(get_session(), team_id)
    except LearningNotFound:
        abort(404)


@bp.route("/teams", methods=["GET", "POST"])
def teams():
    """The teams, and a form to make one with its first members."""
    if request.method == "GET":
        return _teams_page()
    session = get_session()
    try:
        team = learning.create_team(
            session, request.form.get("name", ""), names_in(request.form.get("members", "")), user=me()
        )
    except LearningError as bad:
        session.rollback()
        return _teams_page(errors=[field_error(bad)], status=bad.status)
    session.commit()
    flash(f"Team '{team.name}' made with {len(team.members)} member{'s' if len(team.members) != 1 else ''}.", "info")
    return redirect(url_for("trainer.team", team_id=team.id), 303)


def _teams_page(*, errors: list[FieldError] | None = None, status: int = 200):
    found = learning.list_teams(get_session())
    values = request.form if errors else {}
    return render_template("trainer/teams.html", teams=found, errors=errors or [], values=values), status


@bp.route("/teams/<int:team_id>")
def team(team_id: int):
    return _team_page(_team_or_404(team_id))


def _team_page(team: Team, *, errors: list[FieldError] | None = None, status: int = 200):
    values = request.form if errors else {}
    return render_template("trainer/team.html", team=team, errors=errors or [], values=values), status


@bp.route("/teams/<int:team_id>/rename", methods=["POST"])
def rename_team(team_id: int):
    team = _team_or_404(team_id)
    return _team_change(team, lambda s: learning.rename_team(s, team, request.form.get("name", "")), "Renamed.")


@bp.route("/teams/<int:team_id>/members", methods=["POST"])
def add_member(team_id: int):
    team = _team_or_404(team_id)
    username = request.form.get("username", "").strip()
    said = f"{username} is in the team now, with its paths."
    return _team_change(team, lambda s: learning.add_member(s, team, username), said)


@bp.route("/teams/<int:team_id>/members/remove", methods=["POST"])
def remove_member(team_id: int):
    team = _team_or_404(team_id)
    username = request.form.get("username", "")
    said = f"{username} left the team; what they read stays theirs."
    return _team_change(team, lambda s: learning.remove_member(s, team, username), said)


def _team_change(team: Team, change, done: str):
    """Apply a change to the team and commit; a refusal shows the page again with the reason."""
    session = get_session()
    try:
        changed = change(session)
    except LearningError as bad:
        session.rollback()
        return _team_page(team, errors=[field_error(bad)], status=bad.status)
    session.commit()
    flash(done if changed else "Nothing changed: it already was so.", "info")
    return redirect(url_for("trainer.team", team_id=team.id), 303)


@bp.route("/people/<username>")
def person(username: str):
    """One person's paths and progress across all of them: what they see under My learning, and more."""
    session = get_session()
    try:
        found = auth.find_user(session, username)
    except auth.UserNotFound:
        abort(404)
    return render_template("trainer/person.html", person=found, readings=progress.my_paths(session, found))
