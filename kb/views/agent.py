"""What agents use during a call: the search page and the article page, and recording the call.

Recording a call is one click where the agent already is (the article, a search result, or a
search that found nothing): every call is evidence about the knowledge (kb.loop).
"""

from __future__ import annotations

import secrets
from functools import partial
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    after_this_request,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user

from kb import articlelinks, background, feedback, golden, lifecycle, limits, store, verification
from kb import attachments as kb_attachments
from kb import flags as kb_flags
from kb import search as kb_search
from kb.auth import has_role, role_required
from kb.db import get_session
from kb.loop import LoopError, rootfix
from kb.loop import calls as kb_calls
from kb.models import FlagReason, Role, Status
from kb.render import render_article
from kb.store import FieldError
from kb.views import loopforms
from kb.views.articleinput import RequestError
from kb.vocabulary import current_vocabulary

bp = Blueprint("agent", __name__)

# A product, tag or audience is a short name: anything longer cannot match one.
MAX_FILTER_CHARS = 200


def search_request() -> tuple[str, kb_search.Filters, int, list[Status]]:
    """Read the query, filters, limit and visible statuses shared by the page, fragment and API.

    A query past the limit (a whole e-mail pasted) is cut at the limit: see `query_too_long`.
    """
    text = request.args.get("q", "")[: limits.limit("MAX_QUERY_CHARS")]
    filters = kb_search.Filters(
        product=_filter_value("product"),
        tag=_filter_value("tag"),
        audience=_filter_value("audience"),
    )
    limit = request.args.get("limit", type=int) or 10
    limit = max(1, min(limit, current_app.config["SEARCH_MAX_LIMIT"]))
    statuses = [Status.PUBLISHED]
    if has_role(current_user, Role.AUTHOR):  # two filters: work in progress, and what was retired
        if request.args.get("drafts") == "1":
            statuses += [Status.DRAFT, Status.REVIEW]
        if request.args.get("archived") == "1":
            statuses.append(Status.ARCHIVED)
    return text, filters, limit, statuses


def _filter_value(name: str) -> str | None:
    value = request.args.get(name) or None
    if value is not None and len(value) > MAX_FILTER_CHARS:
        raise RequestError(name, f"is longer than the limit of {MAX_FILTER_CHARS} characters")
    return value


def query_too_long() -> int | None:
    """The query limit, when the request's query is longer (the page searches the first part and says so)."""
    most = limits.limit("MAX_QUERY_CHARS")
    return most if len(request.args.get("q", "")) > most else None


def run_search(*, source: str) -> kb_search.SearchPage | None:
    """Search for the request's query and log it (see kb.feedback) under the request's episode."""
    text, filters, limit, statuses = search_request()
    if not text.strip():
        return None
    session = get_session()
    page = kb_search.search(
        text,
        statuses=statuses,
        limit=limit,
        filters=filters,
        vocabulary=current_vocabulary(session),
        typing=request.args.get("typing") == "1",
    )
    episode = request.args.get("sid")
    background.search_log().search(
        query=text,
        role=current_user.role,
        results=page.total,
        episode=episode if feedback.is_episode_id(episode) else None,
        source=source,
    )
    after_this_request(partial(_server_timing, page))
    return page


def _server_timing(page: kb_search.SearchPage, response: Response) -> Response:
    response.headers["Server-Timing"] = page.server_timing
    return response


@bp.route("/")
@role_required()
def search():
    page = run_search(source="ui")
    episode = request.args.get("sid")
    episode = episode if feedback.is_episode_id(episode) else secrets.token_urlsafe(12)
    return render_template(
        "agent/search.html",
        page=page,
        args=request.args,
        episode=episode,
        cut_at=query_too_long(),
        trust=_trust(page),
    )


@bp.route("/search/results")
@role_required()
def results():
    """The result list alone, for search-as-you-type."""
    page = run_search(source="ui")
    return render_template(
        "agent/_results.html", page=page, args=request.args, cut_at=query_too_long(), trust=_trust(page)
    )


def _trust(page: kb_search.SearchPage | None) -> dict:
    """Who verified each result and whether its review is overdue (one query for the page's hits)."""
    return verification.signals(get_session(), [hit.slug for hit in page.hits]) if page else {}


def _readable_article(slug: str):
    """The article `slug` if the current user may read it, else a 404 (drafts do not exist for agents)."""
    try:
        return store.get_article(get_session(), slug, role=current_user.role)
    except store.ArticleNotFound:
        abort(404)


@bp.route("/articles/<slug>")
@role_required()
def article(slug: str):
    new_slug = store.renamed(get_session(), slug, role=current_user.role)
    if new_slug:  # an old address: bookmarks and links from before a rename keep working
        return redirect(url_for("agent.article", slug=new_slug, **request.args), 301)
    found = _readable_article(slug)
    episode = request.args.get("from")
    if feedback.is_episode_id(episode):
        background.search_log().opened(episode, slug)
    return article_page(found)


def article_page(
    found, *, status: int = 200, root_fix_form: dict | None = None, errors: list[FieldError] | None = None
):
    """The article page; the root-fix form's route shows it again with the author's text and errors."""
    session = get_session()
    is_author = has_role(current_user, Role.AUTHOR)
    record = rootfix.of(session, found)
    page = render_template(
        "agent/article.html",
        article=found,
        rendered=render_article(found.body),
        golden_warnings=golden.warnings_for(session, found) if is_author else [],
        checks=articlelinks.checks_for(session, found) if is_author else None,
        moves=lifecycle.moves_for(found, current_user) if is_author else [],
        verbs=lifecycle.VERBS,
        overdue=verification.is_overdue(found),
        open_flags=kb_flags.listed(session, article=found) if is_author else [],
        flag_reasons=list(FlagReason),
        usage=kb_calls.usage(session, [found.id]).get(found.id),
        recent_days=kb_calls.RECENT_DAYS,
        root_fix=record,
        root_fix_form=(root_fix_form or loopforms.root_fix_values(record)) if is_author else None,
        root_fix_errors=errors or [],
        causes=rootfix.causes(session) if is_author else [],
        fix_statuses=loopforms.STATUS_LABELS,
        outcomes=[(o, loopforms.OUTCOME_LABELS[o]) for o in ("solved", "partly", "not_solved")],
    )
    return page, status


@bp.route("/articles/<slug>/helpful", methods=["POST"])
@role_required()
def helpful(slug: str):
    session = get_session()
    found = _readable_article(slug)
    helped = request.form.get("helpful") == "yes"
    comment = request.form.get("comment", "") if not helped else ""  # what the agent needed: a gap's words
    feedback.record_helpful(
        session, found, current_user, helped, comment=comment, vocabulary=current_vocabulary(session)
    )
    session.commit()
    kb_search.votes_changed(session, [found.id])
    if not helped:  # flag it or fix it: what was wrong is worth more than the vote
        flash("Thanks. What was wrong with it? A flag below tells its authors exactly what to fix.", "info")
        return redirect(url_for("agent.article", slug=slug, flag=1, _anchor="flag"))
    flash("Thanks: your answer helps the next agent find the right article.", "info")
    return redirect(url_for("agent.article", slug=slug))


@bp.route("/articles/<slug>/flags", methods=["POST"])
@role_required()
def flag(slug: str):
    session = get_session()
    found = _readable_article(slug)
    try:
        kb_flags.raise_flag(session, found, current_user, request.form.get("reason"), request.form.get("comment", ""))
    except kb_flags.FlagError as bad:
        session.rollback()
        flash(f"Not flagged: {bad}", "error")
        return redirect(url_for("agent.article", slug=slug, flag=1, _anchor="flag")), 303
    session.commit()
    flash("Flagged: its authors see it now, and you will see what they did under My flags.", "info")
    return redirect(url_for("agent.article", slug=slug)), 303


@bp.route("/articles/<slug>/calls", methods=["POST"])
@role_required()
def record_call(slug: str):
    """One click on the article page or a search result: this article was used on a call, and how it ended."""
    found = _readable_article(slug)
    back = loopforms.local_next(request.form.get("next"), url_for("agent.article", slug=slug))
    outcome = request.form.get("outcome", "")
    if _record(found, outcome, words=""):
        said = loopforms.OUTCOME_LABELS.get(outcome, outcome).lower()
        more = " If something was missing, flag it on the article." if outcome != "solved" else ""
        flash(f"Recorded: a call {said} with “{found.title}”.{more}", "info")
    return redirect(back, 303)


@bp.route("/calls", methods=["POST"])
@role_required()
def record_no_article():
    """A call no article helped with, in the customer's words: it becomes (or adds to) a knowledge gap."""
    back = loopforms.local_next(request.form.get("next"), url_for("agent.search"))
    if _record(None, "no_article", words=request.form.get("words", "")):
        flash("Recorded: the customer's words are now a knowledge gap that authors see in their gap queue.", "info")
    return redirect(back, 303)


def _record(article, outcome: str, *, words: str) -> bool:
    """Record the call and commit; False (with the reason flashed) when the domain refuses it."""
    session = get_session()
    try:
        kb_calls.record_call(
            session,
            user=current_user._get_current_object(),
            article=article,
            outcome=outcome,
            case_ref=request.form.get("case", ""),
            words=words,
            vocabulary=current_vocabulary(session),
        )
    except LoopError as bad:
        session.rollback()
        flash(f"Not recorded: {bad.field}: {bad.message}.", "error")
        return False
    session.commit()
    return True


@bp.route("/attachments/<stored>/<name>")
@role_required()
def attachment(stored: str, name: str):
    """A file of an article the reader may read: images inline with their own type, the rest a download.

    The address is the file's content hash and name, not a row id, so an article's Markdown
    points at the same file in every kb it is exported to and imported into.
    """
    found = kb_attachments.readable(get_session(), stored, name, statuses=store.visible_statuses(current_user.role))
    if found is None:
        abort(404)
    path = kb_attachments.path_of(found, Path(current_app.instance_path))
    if not path.is_file():
        abort(404)
    inline = kb_attachments.kind_of(found.name).inline
    response = send_file(path, mimetype=found.content_type, as_attachment=not inline, download_name=found.name)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.route("/flags")
@role_required()
def my_flags():
    """The flags one raised and what became of them."""
    found = kb_flags.listed(get_session(), state="all", raised_by=current_user)
    return render_template("agent/flags.html", flags=found)
