"""What agents use during a call: the search page and the article page."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask_login import current_user

from kb import search as kb_search
from kb import store
from kb.auth import has_role, role_required
from kb.db import get_session
from kb.models import Role, Status
from kb.render import render_article

bp = Blueprint("agent", __name__)


def search_request() -> tuple[str, kb_search.Filters, int, list[Status]]:
    """Read the query, filters, limit and visible statuses shared by the page, fragment and API."""
    text = request.args.get("q", "")[:500]
    filters = kb_search.Filters(
        product=request.args.get("product") or None,
        tag=request.args.get("tag") or None,
        audience=request.args.get("audience") or None,
    )
    limit = request.args.get("limit", type=int) or 10
    limit = max(1, min(limit, current_app.config["SEARCH_MAX_LIMIT"]))
    statuses = list(store.visible_statuses(current_user.role))
    if request.args.get("drafts") != "1" or not has_role(current_user, Role.AUTHOR):
        statuses = [Status.PUBLISHED]
    return text, filters, limit, statuses


def run_search(*, typing: bool = False) -> kb_search.SearchPage | None:
    text, filters, limit, statuses = search_request()
    if not text.strip():
        return None
    session = get_session()
    if kb_search.is_behind(session):
        kb_search.sync(session)
    return kb_search.search(text, statuses=statuses, limit=limit, filters=filters, typing=typing)


@bp.route("/")
@role_required()
def search():
    page = run_search()
    return render_template("agent/search.html", page=page, args=request.args)


@bp.route("/search/results")
@role_required()
def results():
    """The result list alone, for search-as-you-type."""
    page = run_search(typing=request.args.get("typing") == "1")
    return render_template("agent/_results.html", page=page, args=request.args)


@bp.route("/articles/<slug>")
@role_required()
def article(slug: str):
    try:
        found = store.get_article(get_session(), slug, role=current_user.role)
    except store.ArticleNotFound:
        abort(404)
    return render_template("agent/article.html", article=found, rendered=render_article(found.body))
