"""What authors use: the article list with drafts, the editor and the revision history."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from kb import store
from kb.auth import role_required
from kb.db import get_session
from kb.models import Audience, Role, Status
from kb.render import render_article
from kb.views.articleinput import fields_from, save_and_index

bp = Blueprint("author", __name__, url_prefix="/author")


@bp.before_request
@role_required(Role.AUTHOR)
def _authors_only():
    return None


def _article_or_404(slug: str):
    article = store.find_by_slug(get_session(), slug)
    if article is None:
        abort(404)
    return article


@bp.route("/articles")
def articles():
    status = request.args.get("status")
    chosen = Status(status) if status in {s.value for s in Status} else None
    found = store.list_articles(get_session(), role=current_user.role, status=chosen)
    return render_template("author/articles.html", articles=found, status=chosen, statuses=list(Status))


@bp.route("/articles/new", methods=["GET", "POST"])
def new():
    return _edit(None)


@bp.route("/articles/<slug>/edit", methods=["GET", "POST"])
def edit(slug: str):
    return _edit(_article_or_404(slug))


def _edit(article):
    session = get_session()
    if request.method == "GET":
        return _form(article, _values_of(article))
    try:
        data = fields_from(request.form, article)
        result, indexed = save_and_index(
            session,
            data,
            user=current_user,
            message=request.form.get("message", ""),
            article=article,
            verified=bool(request.form.get("verified")),
        )
    except store.ArticleInvalid as invalid:
        session.rollback()
        return _form(article, request.form.to_dict(), invalid.errors), 400
    _flash_result(result, indexed)
    return redirect(url_for("agent.article", slug=result.article.slug))


def _values_of(article) -> dict[str, str]:
    data = store.ArticleFields.of(article) if article else store.ArticleFields(slug="", title="")
    values = {name: getattr(data, name) for name in ("title", "slug", "summary", "body", "product")}
    values.update(tags=", ".join(data.tags), audience=data.audience.value, status=data.status.value)
    return values


def _form(article, values: dict[str, str], errors: list[store.FieldError] | None = None):
    return render_template(
        "author/edit.html",
        article=article,
        values=values,
        errors=errors or [],
        statuses=list(Status),
        audiences=list(Audience),
    )


def _flash_result(result: store.SaveResult, indexed: bool) -> None:
    if not result.changed:
        flash("Nothing changed, so no new revision was saved.", "info")
    else:
        flash(f"Saved revision {result.article.version}.", "info")
    if result.changed and not indexed:
        flash("Saved, but the search index is busy: the change will be searchable shortly.", "warning")


@bp.route("/articles/<slug>/revisions")
def revisions(slug: str):
    article = _article_or_404(slug)
    return render_template("author/revisions.html", article=article, revisions=list(reversed(article.revisions)))


@bp.route("/articles/<slug>/revisions/<int:number>")
def revision(slug: str, number: int):
    article = _article_or_404(slug)
    try:
        found = store.get_revision(get_session(), article, number)
    except store.ArticleNotFound:
        abort(404)
    return render_template("author/revision.html", article=article, revision=found, rendered=render_article(found.body))
