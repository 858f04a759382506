"""The gap queue: what customers needed and kb did not answer, and what an author does about it
(routes on the "insights" blueprint, kb.views.insights).

Each gap offers three actions: write a draft from it, attach its words to an article that already
answers it, or dismiss it with a reason. Two authors acting on one gap: the second is told who was
first (409), on the queue, with nothing changed.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from kb import store
from kb.db import get_session
from kb.loop import LoopError, closing, gaps
from kb.store import FieldError
from kb.views import loopforms
from kb.views.articleinput import RequestError
from kb.views.insights import bp, me

STATES = ("open", "closed", "dismissed", "all")
QUEUE_SIZE = 100


def _state(value: str | None) -> str:
    value = value or "open"
    if value not in STATES:
        raise RequestError("state", f"must be one of {', '.join(STATES)}")
    return value


@bp.route("/gaps")
def gap_queue():
    """The gaps in one state, the most frequent and recent first, with the customers' words."""
    return _queue(_state(request.args.get("state")))


def _queue(state: str, *, status: int = 200, gap_id: int | None = None, errors: list[FieldError] | None = None):
    """The queue; after a refused action, that gap's form shows the error and the text sent."""
    found = gaps.listed(get_session(), state=state, limit=QUEUE_SIZE)
    page = render_template(
        "insights/gaps.html",
        gaps=found,
        state=state,
        states=STATES,
        sources=loopforms.SOURCE_LABELS,
        failed_gap=gap_id,
        errors=errors or [],
        values=request.form if errors else {},
    )
    return page, status


def _back(message: str):
    flash(message, "info")
    return redirect(url_for("insights.gap_queue", state=_state(request.form.get("state"))), 303)


def _refused(gap_id: int, bad: Exception):
    """A refused action: 404 for no such gap, a flash for someone-was-first, else the error at its field."""
    session = get_session()
    session.rollback()
    status = getattr(bad, "status", 400)
    if isinstance(bad, store.VersionConflict):
        status, bad = 409, LoopError("article", "was saved by someone else at the same moment: try again", status=409)
    if status == 404:
        abort(404)
    if status == 409:
        flash(f"Not done: gap #{gap_id} {bad.message}. Nothing was changed.", "error")
        return _queue("open", status=409)
    if isinstance(bad, store.ArticleInvalid):
        error = FieldError("article", "; ".join(str(e) for e in bad.errors))
    else:
        error = loopforms.error_of(bad)
    return _queue("open", status=400, gap_id=gap_id, errors=[error])


@bp.route("/gaps/<int:gap_id>/draft", methods=["POST"])
def gap_draft(gap_id: int):
    """Turn the gap into a draft article with the customers' words, and open it in the editor."""
    session = get_session()
    try:
        article = closing.draft_from(session, gap_id, user=me())
    except store.SlugTaken:  # another author's draft for this gap, a moment ago
        return _refused(gap_id, LoopError("gap", "was turned into a draft by someone else a moment ago", status=409))
    except LoopError as bad:
        return _refused(gap_id, bad)
    session.commit()
    flash("Draft written from the gap: the customers' words are under “What the customer notices”.", "info")
    return redirect(url_for("author.edit", slug=article.slug), 303)


@bp.route("/gaps/<int:gap_id>/attach", methods=["POST"])
def gap_attach(gap_id: int):
    """Add the gap's words to an article that already answers it, as customer phrasings."""
    session = get_session()
    slug = request.form.get("article", "").strip()
    try:
        article = store.find_by_slug(session, slug) if slug else None
        if article is None:
            raise LoopError("article", f"there is no article '{slug[:80]}'" if slug else "give the article's slug")
        closing.attach(session, gap_id, article, user=me())
    except (LoopError, store.VersionConflict, store.ArticleInvalid) as bad:
        return _refused(gap_id, bad)
    session.commit()
    return _back(
        f"Attached to “{article.title}”: the customers' words are now its phrasings, and search finds it by them."
    )


@bp.route("/gaps/<int:gap_id>/dismiss", methods=["POST"])
def gap_dismiss(gap_id: int):
    """Close the gap without a change, saying why."""
    session = get_session()
    try:
        closing.dismiss(session, gap_id, request.form.get("reason", ""), user=me())
    except LoopError as bad:
        return _refused(gap_id, bad)
    session.commit()
    return _back(f"Gap #{gap_id} dismissed: the reason stays with it under Dismissed.")
