"""The reader's side of reading paths: "My learning", a path, a step (blueprint "learning").

Every signed-in user learns: agents above all, but authors and trainers get onboarding paths too.
Anyone may follow a path in use, assigned or not; a retired path is gone for readers (404), though
nothing they did with it is lost.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from kb import learning
from kb.auth import role_required
from kb.db import get_session
from kb.learning import LearningError, progress
from kb.learning.paths import LearningNotFound
from kb.models import ReadingPath, User
from kb.render import render_article

bp = Blueprint("learning", __name__, url_prefix="/learning")


@bp.before_request
@role_required()
def _signed_in() -> None:
    return None


def _me() -> User:
    return current_user._get_current_object()


def _path_or_404(path_id: int) -> ReadingPath:
    try:
        path = learning.get_path(get_session(), path_id)
    except LearningNotFound:
        abort(404)
    if path.retired_at is not None:
        abort(404)
    return path


@bp.route("")
def mine():
    """The paths one was given, soonest due first, each with where to resume."""
    return render_template("learning/mine.html", readings=progress.my_paths(get_session(), _me()))


@bp.route("/paths/<int:path_id>")
def path(path_id: int):
    found = _path_or_404(path_id)
    return render_template("learning/path.html", reading=progress.reader_progress(get_session(), _me(), found))


@bp.route("/paths/<int:path_id>/steps/<int:number>")
def step(path_id: int, number: int):
    """The trainer's note, then the article as published; opening it starts the step's clock."""
    session = get_session()
    found = _path_or_404(path_id)
    try:
        state = progress.open_step(session, _me(), found, number)
    except LearningNotFound:
        abort(404)
    session.commit()
    revision = progress.readable_revision(session, state)
    return render_template(
        "learning/step.html",
        path=found,
        state=state,
        revision=revision,
        rendered=render_article(revision.body) if revision is not None else None,
        changes=progress.changes_since_read(session, state),
    )


@bp.route("/paths/<int:path_id>/steps/<int:number>/read", methods=["POST"])
def mark_read(path_id: int, number: int):
    """Mark the step read (with the answer to its question), then go on to the next one."""
    session = get_session()
    found = _path_or_404(path_id)
    answer = request.form.get("answer")
    try:
        progress.mark_read(session, _me(), found, number, answer)
    except LearningNotFound:
        abort(404)
    except LearningError as bad:
        session.rollback()
        flash(f"Not marked as read: {bad}", "error")
        return redirect(url_for("learning.step", path_id=path_id, number=number)), 303
    session.commit()
    if number < len(found.steps):
        flash(f"Step {number} read.", "info")
        return redirect(url_for("learning.step", path_id=path_id, number=number + 1)), 303
    flash("That was the last step of this path.", "info")
    return redirect(url_for("learning.path", path_id=path_id)), 303
