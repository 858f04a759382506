"""The JSON API of reading paths, teams and progress: routes on the same /api/v1 blueprint as kb.views.api.

Trainers (and admins) build paths, teams and assignments and watch progress; every signed-in user
follows the paths they were given (`/me/paths`, `/paths/<id>/steps/<n>`). The work is kb.learning's:
these views read the body (kb.views.learninginput), call it, commit and answer with the shapes of
kb.views.learningjson.
"""

from __future__ import annotations

from flask import Response, jsonify, request
from flask_login import current_user

from kb import auth
from kb.auth import role_required
from kb.db import get_session
from kb.learning import assignments, progress, teams
from kb.learning import paths as reading_paths
from kb.learning.paths import LearningError, LearningNotFound, PathConflict
from kb.models import ReadingPath, Role, User
from kb.views import jsonbody, learninginput
from kb.views.api import bp, error
from kb.views.articleinput import RequestError
from kb.views.learningjson import (
    assignee_json,
    assignment_json,
    my_path_json,
    path_json,
    reader_step_json,
    revision_json,
    team_json,
)

ERROR_CODES = {404: "not_found", 409: "conflict"}


@bp.errorhandler(LearningError)
def _learning_error(exc: LearningError):
    get_session().rollback()
    extra = {"field": exc.field} if exc.field else {}
    return error(exc.status, ERROR_CODES.get(exc.status, "invalid"), str(exc), **extra)


@bp.errorhandler(PathConflict)
def _path_conflict(exc: PathConflict):
    get_session().rollback()
    current = exc.path.version
    return error(
        409,
        "conflict",
        f"The path '{exc.path.title}' was saved by someone else after version {exc.based_on}, which your change "
        f"is based on (it is now at version {current}). Nothing was saved: read it again (GET /api/v1/paths/"
        f'{exc.path.id}), merge, and send your change with "version": {current}.',
        current_version=current,
    )


def _me() -> User:
    return current_user._get_current_object()


def _is_trainer() -> bool:
    return auth.has_role(current_user, Role.TRAINER)


def _path(path_id: int) -> ReadingPath:
    """The path, if the caller may see it: a retired path is the trainers' business alone."""
    path = reading_paths.get_path(get_session(), path_id)
    if path.retired_at is not None and not _is_trainer():
        raise LearningNotFound(f"There is no reading path {path_id}.")
    return path


# --- paths ---------------------------------------------------------------------------------------


@bp.route("/paths")
@role_required()
def paths():
    """The paths in use; `?retired=1`: the retired ones (trainers only)."""
    retired = request.args.get("retired") == "1"
    if retired and not _is_trainer():
        return error(403, "forbidden", "Only trainers and admins may list retired paths.")
    return jsonify(paths=[path_json(p) for p in reading_paths.list_paths(get_session(), retired=retired)])


@bp.route("/paths", methods=["POST"])
@role_required(Role.TRAINER)
def create_path():
    data = learninginput.path_input(jsonbody.json_object())
    session = get_session()
    path = reading_paths.create_path(session, data, user=_me())
    session.commit()
    return jsonify(path_json(path)), 201


@bp.route("/paths/<int:path_id>")
@role_required()
def reading_path(path_id: int):
    return jsonify(path_json(_path(path_id)))


@bp.route("/paths/<int:path_id>", methods=["PUT"])
@role_required(Role.TRAINER)
def update_path(path_id: int):
    """Save the whole path (title, purpose, steps) over the `version` the trainer read."""
    path = _path(path_id)
    body = jsonbody.json_object()
    based_on = learninginput.path_version(body)
    session = get_session()
    changed = reading_paths.update_path(session, path, learninginput.path_input(body), user=_me(), based_on=based_on)
    session.commit()
    return jsonify(path_json(path, changed=changed))


@bp.route("/paths/<int:path_id>", methods=["DELETE"])
@role_required(Role.TRAINER)
def retire_path(path_id: int):
    """Retire the path: readers no longer see it, and nothing is deleted (reinstate brings it back)."""
    return _moved(path_id, reading_paths.retire_path)


@bp.route("/paths/<int:path_id>/reinstate", methods=["POST"])
@role_required(Role.TRAINER)
def reinstate_path(path_id: int):
    return _moved(path_id, reading_paths.reinstate_path)


def _moved(path_id: int, move) -> Response:
    session = get_session()
    path = _path(path_id)
    changed = move(session, path, user=_me())
    session.commit()
    return jsonify(path_json(path, changed=changed))


@bp.route("/paths/<int:path_id>/duplicate", methods=["POST"])
@role_required(Role.TRAINER)
def duplicate_path(path_id: int):
    session = get_session()
    copy = reading_paths.duplicate_path(session, _path(path_id), user=_me())
    session.commit()
    return jsonify(path_json(copy)), 201


@bp.route("/paths/<int:path_id>/onboarding", methods=["PUT"])
@role_required(Role.ADMIN)
def set_onboarding(path_id: int):
    """Make the path the one new users of a role get on their first day (`"role": null`: none)."""
    role = learninginput.onboarding_role(jsonbody.json_object())
    session = get_session()
    path = _path(path_id)
    changed = reading_paths.set_onboarding(session, path, role, user=_me())
    session.commit()
    return jsonify(path_json(path, changed=changed))


@bp.route("/paths/<int:path_id>/revisions")
@role_required(Role.TRAINER)
def path_revisions(path_id: int):
    session = get_session()
    saved = reading_paths.revisions(session, _path(path_id))
    slugs = reading_paths.snapshot_slugs(session, saved)
    return jsonify(revisions=[revision_json(r, slugs) for r in saved])


# --- teams ---------------------------------------------------------------------------------------


@bp.route("/teams")
@role_required(Role.TRAINER)
def list_teams():
    return jsonify(teams=[team_json(t) for t in teams.list_teams(get_session())])


@bp.route("/teams", methods=["POST"])
@role_required(Role.TRAINER)
def create_team():
    data = jsonbody.json_object()
    session = get_session()
    team = teams.create_team(session, jsonbody.text(data, "name"), learninginput.names(data, "members"), user=_me())
    session.commit()
    return jsonify(team_json(team)), 201


@bp.route("/teams/<int:team_id>")
@role_required(Role.TRAINER)
def team(team_id: int):
    return jsonify(team_json(teams.get_team(get_session(), team_id)))


@bp.route("/teams/<int:team_id>", methods=["PUT"])
@role_required(Role.TRAINER)
def rename_team(team_id: int):
    name = jsonbody.text(jsonbody.json_object(), "name")
    session = get_session()
    found = teams.get_team(session, team_id)
    teams.rename_team(session, found, name)
    session.commit()
    return jsonify(team_json(found))


@bp.route("/teams/<int:team_id>/members", methods=["POST"])
@role_required(Role.TRAINER)
def add_member(team_id: int):
    """Put someone in the team: from now on they have the team's paths too."""
    username = jsonbody.text(jsonbody.json_object(), "username")
    session = get_session()
    found = teams.get_team(session, team_id)
    teams.add_member(session, found, username)
    session.commit()
    session.expire(found, ["members"])  # read them again, as committed
    return jsonify(team_json(found))


@bp.route("/teams/<int:team_id>/members/<username>", methods=["DELETE"])
@role_required(Role.TRAINER)
def remove_member(team_id: int, username: str):
    """Take someone out of the team; what they read stays theirs."""
    session = get_session()
    found = teams.get_team(session, team_id)
    teams.remove_member(session, found, username)
    session.commit()
    session.expire(found, ["members"])
    return jsonify(team_json(found))


# --- assignments ---------------------------------------------------------------------------------


@bp.route("/paths/<int:path_id>/assign", methods=["POST"])
@role_required(Role.TRAINER)
def assign(path_id: int):
    """Give the path to people and teams (a team's later members too), due by `due` or not."""
    data = jsonbody.json_object()
    users, names = learninginput.names(data, "users"), learninginput.names(data, "teams")
    due = learninginput.due_date(data)
    session = get_session()
    path = _path(path_id)
    count = assignments.assign(session, path, users=users, teams=names, due=due, by=_me())
    session.commit()
    return jsonify(assigned=count, assignments=_assignments(path))


@bp.route("/paths/<int:path_id>/unassign", methods=["POST"])
@role_required(Role.TRAINER)
def unassign(path_id: int):
    data = jsonbody.json_object()
    users, names = learninginput.names(data, "users"), learninginput.names(data, "teams")
    session = get_session()
    path = _path(path_id)
    count = assignments.unassign(session, path, users=users, teams=names)
    session.commit()
    return jsonify(unassigned=count, assignments=_assignments(path))


@bp.route("/paths/<int:path_id>/assignments")
@role_required(Role.TRAINER)
def path_assignments(path_id: int):
    return jsonify(assignments=_assignments(_path(path_id)))


def _assignments(path: ReadingPath) -> list[dict]:
    return [assignment_json(a) for a in assignments.assignments_of(get_session(), path)]


# --- reading -------------------------------------------------------------------------------------


@bp.route("/me/paths")
@role_required()
def my_paths():
    """The caller's paths with their progress, soonest due first: a JSON array (the issue fixes the shape)."""
    return jsonify([my_path_json(p) for p in progress.my_paths(get_session(), _me())])


@bp.route("/users/<username>/paths")
@role_required(Role.TRAINER)
def paths_of_user(username: str):
    """One person's paths and progress, as they see them in /me/paths: a trainer's view per agent."""
    session = get_session()
    try:
        person = auth.find_user(session, username)
    except auth.UserNotFound as missing:
        return error(404, "not_found", str(missing))
    return jsonify([my_path_json(p) for p in progress.my_paths(session, person)])


@bp.route("/paths/<int:path_id>/steps/<int:n>")
@role_required()
def step(path_id: int, n: int):
    """Step `n` (from 1) as the caller stands with it; reading it starts the step's clock."""
    session = get_session()
    path = _path(path_id)
    state = progress.open_step(session, _me(), path, n)
    body = reader_step_json(session, path, state)
    session.commit()
    return jsonify(body)


@bp.route("/paths/<int:path_id>/steps/<int:n>/read", methods=["POST"])
@role_required()
def read_step(path_id: int, n: int):
    """Mark step `n` read (the revision shown now), with the answer to its question if given."""
    data = _optional_json_object()
    answer = learninginput.optional_text(data, "answer")
    session = get_session()
    path = _path(path_id)
    state = progress.mark_read(session, _me(), path, n, answer)
    body = reader_step_json(session, path, state)
    session.commit()
    return jsonify(body)


def _optional_json_object() -> dict:
    """The body, which may be left out altogether (a plain POST)."""
    if not request.is_json and not request.content_length:
        return {}
    return jsonbody.json_object()


# --- progress ------------------------------------------------------------------------------------


@bp.route("/paths/<int:path_id>/steps/<int:n>/feedback", methods=["POST"])
@role_required(Role.TRAINER)
def give_feedback(path_id: int, n: int):
    """Answer a reader's reflection: they see it with the step."""
    data = jsonbody.json_object()
    username, text = jsonbody.text(data, "username"), jsonbody.text(data, "feedback")
    session = get_session()
    path = _path(path_id)
    reader = teams.user_named(session, username, "username")
    row = progress.give_feedback(session, path, n, reader, text, by=_me())
    session.commit()
    return jsonify(
        n=n,
        username=reader.username,
        answer=row.answer,
        feedback=row.feedback,
        feedback_at=row.feedback_at.isoformat() if row.feedback_at else None,
    )


@bp.route("/paths/<int:path_id>/progress")
@role_required(Role.TRAINER)
def path_progress(path_id: int):
    """Everyone assigned the path and how far they are; `?format=csv` for a spreadsheet."""
    wanted = request.args.get("format", "json")
    if wanted not in ("json", "csv"):
        raise RequestError("format", "must be json or csv")
    path = _path(path_id)
    found = progress.path_progress(get_session(), path)
    if wanted == "csv":
        return _csv(progress.csv_text(found, path), f"path-{path.id}-progress.csv")
    return jsonify(path={"id": path.id, "title": path.title}, assignees=[assignee_json(p) for p in found])


def _csv(text: str, filename: str) -> Response:
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
