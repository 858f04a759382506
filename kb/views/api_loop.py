"""The JSON API of the knowledge loop: calls, gaps, root fixes and insights, on /api/v1.

Routes on the same blueprint as kb.views.api, with the pages' role checks: every signed-in user
records calls and reads an article's root fix; authors and admins work the gap queue, edit root
fixes and read the insights. The work is kb.loop's: these views read the request
(kb.views.loopinput), call it, commit and answer with the shapes of kb.views.loopjson.
"""

from __future__ import annotations

from flask import Response, current_app, jsonify, request
from flask_login import current_user

from kb import store, vocabulary
from kb.auth import role_required
from kb.db import get_session, utcnow
from kb.loop import LoopError, calls, closing, gaps, insights, rootfix
from kb.models import Article, Role, User
from kb.views import jsonbody, loopinput
from kb.views.api import article_json, bp, error
from kb.views.articleinput import RequestError
from kb.views.loopjson import call_json, gap_json, recurring_json, root_fix_json

ERROR_CODES = {404: "not_found", 409: "conflict"}


@bp.errorhandler(LoopError)
def _loop_error(exc: LoopError):
    get_session().rollback()
    return error(exc.status, ERROR_CODES.get(exc.status, "invalid"), str(exc), field=exc.field)


def _me() -> User:
    return current_user._get_current_object()


def _readable(slug: str, field: str) -> Article:
    """The article `slug` the caller may read, following a rename; a 400 naming `field` if none.

    A body's slug that names nothing is the request's fault, not a missing page: 400, not 404.
    """
    session = get_session()
    slug = store.renamed(session, slug, role=current_user.role) or slug
    try:
        return store.get_article(session, slug, role=current_user.role)
    except store.ArticleNotFound:
        raise RequestError(field, f"there is no article '{slug[:80]}' that you may read") from None


# --- calls ---------------------------------------------------------------------------------------


@bp.route("/calls", methods=["POST"])
@role_required()
def record_call():
    """An agent used an article on a call (and how it ended), or no article helped."""
    sent = loopinput.call_input(jsonbody.json_object())
    calls.outcome_named(sent.outcome)  # an unknown outcome is named before the article
    session = get_session()
    article = _readable(sent.article, "article") if sent.article else None
    call = calls.record_call(
        session,
        user=_me(),
        article=article,
        outcome=sent.outcome,
        case_ref=sent.case,
        words=sent.words,
        vocabulary=vocabulary.current_vocabulary(session),
    )
    session.commit()
    return jsonify(call_json(call)), 201


# --- knowledge gaps ------------------------------------------------------------------------------


@bp.route("/gaps")
@role_required(Role.AUTHOR)
def list_gaps():
    """The gap queue, best first: `state=open` (with reopened ones; the default), closed, dismissed, all."""
    state, limit = loopinput.gap_state(request.args), loopinput.gap_limit(request.args)
    return jsonify(gaps=[gap_json(s) for s in gaps.listed(get_session(), state=state, limit=limit)])


def _gap_now(gap_id: int) -> dict:
    return gap_json(gaps.get(get_session(), gap_id))


@bp.route("/gaps/<int:gap_id>/draft", methods=["POST"])
@role_required(Role.AUTHOR)
def draft_for_gap(gap_id: int):
    """A draft article from the template, with the customers' words, which closes the gap."""
    session = get_session()
    try:
        draft = closing.draft_from(session, gap_id, user=_me())
    except store.SlugTaken:  # another author's draft for this gap, a moment ago
        session.rollback()
        return error(409, "conflict", "Another draft took this gap's slug a moment ago: list the gaps again.")
    session.commit()
    return jsonify(article=article_json(draft), gap=_gap_now(gap_id)), 201


@bp.route("/gaps/<int:gap_id>/attach", methods=["POST"])
@role_required(Role.AUTHOR)
def attach_gap(gap_id: int):
    """Add the gap's wordings to an article that already answers it (a new revision); closes the gap."""
    slug = loopinput.slug_of(jsonbody.json_object())
    session = get_session()
    article = _readable(slug, "article")
    try:
        closing.attach(session, gap_id, article, user=_me())
    except store.VersionConflict:
        session.rollback()
        message = f"'{article.slug}' was saved by someone else at the same moment: nothing changed. Send it again."
        return error(409, "conflict", message, field="article")
    session.commit()
    return jsonify(gap=_gap_now(gap_id), article=article_json(article))


@bp.route("/gaps/<int:gap_id>/dismiss", methods=["POST"])
@role_required(Role.AUTHOR)
def dismiss_gap(gap_id: int):
    """Close the gap without a change, saying why."""
    reason = jsonbody.text(jsonbody.json_object(), "reason")
    session = get_session()
    closing.dismiss(session, gap_id, reason, user=_me())
    session.commit()
    return jsonify(gap=_gap_now(gap_id))


# --- root causes ---------------------------------------------------------------------------------


@bp.route("/cause-categories")
@role_required()
def cause_categories():
    """The cause categories a root fix chooses from (admins edit them: PUT /settings/cause_categories)."""
    return jsonify(causes=rootfix.causes(get_session()))


@bp.route("/articles/<slug>/root-fix")
@role_required()
def root_fix(slug: str):
    """The article's root-fix record; version 0 and empty texts while nobody recorded one."""
    session = get_session()
    article = store.get_article(session, slug, role=current_user.role)
    return jsonify(root_fix_json(rootfix.of(session, article)))


@bp.route("/articles/<slug>/root-fix", methods=["PUT"])
@role_required(Role.AUTHOR)
def save_root_fix(slug: str):
    """Save the whole record; with `version` (as read), a record changed since is refused (409)."""
    session = get_session()
    article = store.get_article(session, slug, role=current_user.role)
    values, based_on = loopinput.root_fix_input(jsonbody.json_object())
    try:
        record = rootfix.save(session, article, values, user=_me(), based_on=based_on)
    except LoopError as refused:
        if refused.status != 409:
            raise
        session.rollback()
        current = rootfix.of(session, article)
        return error(409, "conflict", str(refused), field="version", current_version=current.version if current else 0)
    session.commit()
    return jsonify(root_fix_json(record))


@bp.route("/articles/<slug>/root-fix/history")
@role_required(Role.AUTHOR)
def root_fix_history(slug: str):
    """Every saved state of the record, newest first: an edit never destroys what was recorded."""
    session = get_session()
    article = store.get_article(session, slug, role=current_user.role)
    changes = rootfix.history(session, article)
    return jsonify(
        changes=[{"id": c.id, "created_at": c.created_at.isoformat(), "root_fix": c.snapshot} for c in changes]
    )


# --- insights ------------------------------------------------------------------------------------


@bp.route("/insights")
@role_required(Role.AUTHOR)
def insights_report():
    """The dashboard's figures for `from`..`to` (the last 30 days by default); `format=csv&table=`: one table."""
    wanted = loopinput.wanted_format(request.args)
    table = loopinput.csv_table(request.args) if wanted == "csv" else None
    span = insights.range_of(request.args.get("from"), request.args.get("to"))
    found = current_app.extensions["kb.insights"].figures(get_session(), span)
    if table is None:
        return jsonify(found.as_json())
    return _download(insights.table_csv(found, table), f"insights-{table}-{span.first}-to-{span.last}.csv")


@bp.route("/insights/recurring")
@role_required(Role.AUTHOR)
def recurring_problems():
    """Articles ranked by linked calls per week, with the trend and their fix's before and after."""
    wanted = loopinput.wanted_format(request.args)
    board = rootfix.recurring(get_session())
    if wanted == "csv":
        return _download(rootfix.board_csv(board), f"recurring-problems-{utcnow():%Y-%m-%d}.csv")
    return jsonify(articles=[recurring_json(item) for item in board])


def _download(text: str, filename: str) -> Response:
    return Response(text, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'})
