"""The trainer's pages: reading paths, their editor, assignments and progress (blueprint "trainer").

Teams are in kb.views.trainer_teams, on this same blueprint. The editor's form is read and
rearranged by kb.views.pathform; everything else is kb.learning's.
"""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from kb import charts, learning, store
from kb.auth import role_required
from kb.db import get_session, utcnow
from kb.learning import LearningError, PathConflict, progress
from kb.learning.assignments import assignments_of
from kb.learning.paths import LearningNotFound, revisions, snapshot_slugs
from kb.learning.teams import user_named
from kb.models import ROLE_VALUES, PathAssignment, ReadingPath, Role, Status, User
from kb.store import FieldError
from kb.textdiff import around_changes
from kb.views import pathform
from kb.views.articleinput import RequestError, based_on_version
from kb.views.learninginput import due_date

bp = Blueprint("trainer", __name__, url_prefix="/trainer")

PICKER_ARTICLES = 500  # published articles listed in the editor's article picker; more are searched for


@bp.before_request
@role_required(Role.TRAINER)
def _trainers_only() -> None:
    return None


def me() -> User:
    """The signed-in trainer, as the User kb.learning records (not flask-login's proxy)."""
    return current_user._get_current_object()


def names_in(text: str) -> list[str]:
    """Usernames typed into one field, separated by commas, semicolons, spaces or lines."""
    return [name for name in re.split(r"[\s,;]+", text) if name]


def field_error(bad: LearningError | RequestError) -> FieldError:
    """The error as the templates' `field_errors` shows it; `users[2]` belongs to the field `users`."""
    name = bad.field or ""
    return FieldError(name.split("[")[0] if not name.startswith("steps[") else name, str(bad))


def _path_or_404(path_id: int) -> ReadingPath:
    try:
        return learning.get_path(get_session(), path_id)
    except LearningNotFound:
        abort(404)


# --- the list of paths -------------------------------------------------------------------------


@bp.route("/paths")
def paths():
    """Paths in use (or, with ?retired=1, retired ones) with who has them and how many are done."""
    session = get_session()
    retired = request.args.get("retired") == "1"
    found = learning.list_paths(session, retired=retired)
    return render_template(
        "trainer/paths.html", paths=found, summaries=progress.summaries(session, found), retired=retired
    )


# --- the editor ----------------------------------------------------------------------------------


@bp.route("/paths/new", methods=["GET", "POST"])
def new_path():
    return _editor(None)


@bp.route("/paths/<int:path_id>/edit", methods=["GET", "POST"])
def edit_path(path_id: int):
    return _editor(_path_or_404(path_id))


def _editor(path: ReadingPath | None):
    if request.method == "GET":
        return _editor_page(path, pathform.of_path(path) if path else pathform.new_form())
    form = pathform.read(request.form)
    rearranged = pathform.rearrange(form, request.form)
    if rearranged is not None:  # a step button without JavaScript: show the new order, save nothing
        return _editor_page(path, form, rearranged=rearranged)
    session = get_session()
    try:
        saved, changed = _save(path, form)
    except (LearningError, RequestError) as bad:
        session.rollback()
        return _editor_page(path, form, errors=[field_error(bad)]), bad.status
    except PathConflict as conflict:
        session.rollback()
        return _conflict_page(conflict, form), 409
    session.commit()
    flash(f"Saved version {saved.version}." if changed else "Nothing changed, so nothing was saved.", "info")
    return redirect(url_for("trainer.path", path_id=saved.id), 303)


def _save(path: ReadingPath | None, form: pathform.PathForm) -> tuple[ReadingPath, bool]:
    session = get_session()
    if path is None:
        return learning.create_path(session, form.to_input(), user=me()), True
    based_on = based_on_version({"version": form.version})
    return path, learning.update_path(session, path, form.to_input(), user=me(), based_on=based_on)


def _conflict_page(conflict: PathConflict, form: pathform.PathForm):
    """The editor again with the trainer's text as sent, and what others saved meanwhile."""
    session, path = get_session(), conflict.path
    saved = {r.number: r for r in revisions(session, path)}
    old, new = saved.get(conflict.based_on), saved.get(path.version)
    changes = []
    if old is not None and new is not None:
        changes = around_changes(pathform.changes_between(old, new, snapshot_slugs(session, [old, new])))
    since = [r for number, r in saved.items() if number > conflict.based_on]
    who = ", ".join(dict.fromkeys(r.created_by.username if r.created_by else "someone" for r in since))
    form.version = str(path.version)  # saving again now is a deliberate choice
    info = {"who": who, "version": path.version, "based_on": conflict.based_on, "changes": changes}
    return _editor_page(path, form, conflict=info)


def _editor_page(path: ReadingPath | None, form: pathform.PathForm, **context):
    session = get_session()
    # The picker lists every published article while they are few; past that the page would grow
    # by ~70 bytes an article (700 KB at 10,000), so pathedit.js asks the search API as one types.
    choices = store.published_titles(session, limit=PICKER_ARTICLES + 1)
    searched = len(choices) > PICKER_ARTICLES
    titles = {
        slug: title + ("" if status == Status.PUBLISHED else f" ({status.value})")
        for slug, (title, status) in store.titles_of(session, [step.article for step in form.steps]).items()
    }
    context.setdefault("errors", [])
    return render_template(
        "trainer/edit.html",
        path=path,
        form=form,
        choices=[] if searched else choices,
        searched=searched,
        titles=titles,
        anchor=pathform.anchor,
        **context,
    )


# --- one path: overview, progress, assignments -------------------------------------------------


@bp.route("/paths/<int:path_id>")
def path(path_id: int):
    return _overview(_path_or_404(path_id))


def _overview(path: ReadingPath, *, errors: list[FieldError] | None = None, status: int = 200):
    session = get_session()
    readers = progress.path_progress(session, path)
    assigned = assignments_of(session, path)
    return render_template(
        "trainer/path.html",
        path=path,
        readers=readers,
        assignments=assigned,
        teams=learning.list_teams(session),
        chart=_completion_chart(readers, assigned),
        roles=list(Role),
        errors=errors or [],
        values=request.form if errors else {},
        today=utcnow().date(),
    ), status


def _completion_chart(readers: list[progress.ReaderProgress], assigned: list[PathAssignment]) -> dict | None:
    """How many assignees were done by each day since the path was first assigned: SVG and figures."""
    if not readers:
        return None
    today = utcnow().date()
    # From the day before the first assignment, when nobody can have been done: the rise shows.
    start = min((a.assigned_at.date() for a in assigned), default=today) - timedelta(days=1)
    points = progress.completion_timeline(readers, start=start, today=today)
    done = points[-1][1]
    frame = charts.Frame(
        title="Assignees done over time",
        x_label="Day",
        y_label="Assignees done",
        summary=f"{done} of {len(readers)} assignees done by {today.isoformat()}.",
    )
    return {"svg": charts.step_chart(points, frame, y_max=len(readers)), "points": points, "frame": frame}


@bp.route("/paths/<int:path_id>/progress.csv")
def progress_csv(path_id: int):
    """The progress table for a spreadsheet: one row per assignee, one column per step."""
    session = get_session()
    path = _path_or_404(path_id)
    text = progress.csv_text(progress.path_progress(session, path), path)
    disposition = f'attachment; filename="path-{path.id}-progress.csv"'
    return Response(text, mimetype="text/csv", headers={"Content-Disposition": disposition})


@bp.route("/paths/<int:path_id>/assign", methods=["POST"])
def assign(path_id: int):
    session = get_session()
    path = _path_or_404(path_id)
    try:
        count = learning.assign(
            session,
            path,
            users=names_in(request.form.get("users", "")),
            teams=request.form.getlist("teams"),
            due=due_date(request.form),
            by=me(),
        )
    except (LearningError, RequestError) as bad:
        session.rollback()
        return _overview(path, errors=[field_error(bad)], status=bad.status)
    session.commit()
    said = (
        f"Assigned: {count} assignment{'s' if count != 1 else ''} made or changed." if count else "Already assigned so."
    )
    flash(said, "info")
    return redirect(url_for("trainer.path", path_id=path.id, _anchor="assign"), 303)


@bp.route("/paths/<int:path_id>/unassign", methods=["POST"])
def unassign(path_id: int):
    session = get_session()
    path = _path_or_404(path_id)
    try:
        count = learning.unassign(session, path, users=request.form.getlist("user"), teams=request.form.getlist("team"))
    except LearningError as bad:
        session.rollback()
        flash(f"Not unassigned: {bad}", "error")
    else:
        session.commit()
        flash("Unassigned: what they read is kept." if count else "That assignment was already gone.", "info")
    return redirect(url_for("trainer.path", path_id=path.id, _anchor="assign"), 303)


@bp.route("/paths/<int:path_id>/feedback", methods=["POST"])
def feedback(path_id: int):
    """The trainer's reply to one reader's answer at one step."""
    session = get_session()
    path = _path_or_404(path_id)
    username = request.form.get("username", "")
    try:
        reader = user_named(session, username, "username")
        number = request.form.get("step", type=int) or 0
        progress.give_feedback(session, path, number, reader, request.form.get("feedback", ""), by=me())
    except LearningError as bad:
        session.rollback()
        flash(f"Feedback not sent: {bad}", "error")
    else:
        session.commit()
        flash(f"Feedback sent: {reader.username} sees it on step {number}.", "info")
    return redirect(url_for("trainer.path", path_id=path.id, reader=username, _anchor=f"reader-{username}"), 303)


# --- duplicate, retire, onboarding ---------------------------------------------------------------


@bp.route("/paths/<int:path_id>/duplicate", methods=["POST"])
def duplicate(path_id: int):
    session = get_session()
    copy = learning.duplicate_path(session, _path_or_404(path_id), user=me())
    session.commit()
    flash(f"Made '{copy.title}', assigned to nobody yet: adapt it, then save.", "info")
    return redirect(url_for("trainer.edit_path", path_id=copy.id), 303)


@bp.route("/paths/<int:path_id>/retire", methods=["POST"])
def retire(path_id: int):
    return _change(path_id, learning.retire_path, "Retired: readers no longer see it; nothing they did is lost.")


@bp.route("/paths/<int:path_id>/reinstate", methods=["POST"])
def reinstate(path_id: int):
    return _change(path_id, learning.reinstate_path, "Reinstated: its assignees see it again.")


@bp.route("/paths/<int:path_id>/onboarding", methods=["POST"])
@role_required(Role.ADMIN)
def onboarding(path_id: int):
    """Which role's new users get the path on their first day (admins decide: it reaches everyone)."""
    value = request.form.get("role", "")
    if value and value not in ROLE_VALUES:
        abort(400)
    role = Role(value) if value else None

    def change(session, path, *, user):
        return learning.set_onboarding(session, path, role, user=user)

    said = f"New {role.value}s get this path from now on." if role else "No new users get this path any more."
    return _change(path_id, change, said)


def _change(path_id: int, change, done: str):
    """Apply a one-button change to the path, commit, and say what happened on its page."""
    session = get_session()
    path = _path_or_404(path_id)
    try:
        changed = change(session, path, user=me())
    except (LearningError, PathConflict) as refused:
        session.rollback()
        reason = str(refused) if isinstance(refused, LearningError) else "someone saved it meanwhile; try again."
        flash(f"Not changed: {reason}", "error")
        return redirect(url_for("trainer.path", path_id=path_id), 303)
    session.commit()
    flash(done if changed else "It already was so: nothing changed.", "info")
    return redirect(url_for("trainer.path", path_id=path.id), 303)
