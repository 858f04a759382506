"""The JSON API under /api/v1: everything a person can do in the UI, with the same role checks.

Callers authenticate with a session cookie or `Authorization: Bearer <token>`. Writes made with
a session cookie need the CSRF token (header `X-CSRFToken`), as forms do; token callers cannot be
forged by a browser, so they do not.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from kb import (
    articlelinks,
    auth,
    background,
    feedback,
    golden,
    history,
    lifecycle,
    limits,
    settings,
    store,
    verification,
    vocabulary,
)
from kb import attachments as kb_attachments
from kb import flags as kb_flags
from kb import health as kb_health
from kb import search as kb_search
from kb import tokens as kb_tokens
from kb.auth import is_bearer_request, role_required
from kb.db import get_session
from kb.loop import calls as loop_calls
from kb.loop import rootfix
from kb.models import Article, GoldenQuery, Revision, Role, Status, User
from kb.render import render_article, to_html
from kb.security import csrf, password_change_limit
from kb.views import jsonbody, loopjson, openapi, uploads
from kb.views.agent import query_too_long, run_search, search_request
from kb.views.articleinput import RequestError, based_on_version, fields_from
from kb.views.urls import public_url

bp = Blueprint("api", __name__, url_prefix="/api/v1")
MAX_COMMENT = 500  # a workflow move's comment, kept as its revision's message
csrf.exempt(bp)

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


@bp.before_request
def _csrf_for_cookie_sessions():
    if request.method not in SAFE_METHODS and current_user.is_authenticated and not is_bearer_request():
        csrf.protect()


def error(status: int, code: str, message: str, **extra):
    return jsonify(error=code, message=message, **extra), status


@bp.errorhandler(jsonbody.BodyError)
def _bad_body(exc: jsonbody.BodyError):
    return error(exc.status, exc.code, str(exc))


@bp.errorhandler(RequestError)
def _request_error(exc: RequestError):
    return error(exc.status, exc.code, str(exc), field=exc.field)


@bp.errorhandler(store.ArticleInvalid)
def _invalid(exc: store.ArticleInvalid):
    get_session().rollback()
    return error(400, "invalid", str(exc), fields={e.field: e.message for e in exc.errors})


@bp.errorhandler(store.ArticleNotFound)
def _not_found(exc: store.ArticleNotFound):
    return error(404, "not_found", f"No article '{exc.args[0]}' that you may read.")


# --- search and reading -------------------------------------------------------------------------


@bp.route("/search")
@role_required()
def search():
    text = search_request()[0]
    if not text.strip():
        return error(400, "bad_request", "Add a query: /api/v1/search?q=words")
    if query_too_long():
        raise RequestError("q", f"is longer than the limit of {query_too_long():,} characters")
    page = run_search(source="api")
    trust = verification.signals(get_session(), [hit.slug for hit in page.hits])
    return jsonify(
        query=page.query,
        total=page.total,
        total_exact=page.total_exact,
        took_ms=page.took_ms,
        suggestion=page.suggestion,
        facets={name: [{"value": f.value, "count": f.count} for f in values] for name, values in page.facets.items()},
        results=[_hit_json(hit, trust.get(hit.slug, {})) for hit in page.hits],
    )


def _hit_json(hit: kb_search.SearchHit, trust: dict) -> dict:
    return {
        "slug": hit.slug,
        "title": hit.title,
        "summary": hit.summary,
        "snippet": str(hit.snippet),
        "section": hit.section,
        "anchor": hit.anchor,
        "tags": hit.tags,
        "product": hit.product,
        "audience": hit.audience,
        "status": hit.status,
        "updated": hit.updated,
        "verified": hit.verified or None,
        "verified_by": trust.get("verified_by"),
        "review_overdue": trust.get("review_overdue", False),
        "score": hit.score,
        "weak": hit.weak,
        "url": _article_url(hit.slug) + (f"#{hit.anchor}" if hit.anchor else ""),
    }


@bp.route("/suggest", methods=["POST"])
@role_required()
def suggest():
    """The articles a customer's whole message (or a call transcript) needs, with the passage and why.

    A POST: a transcript does not belong in a URL (nor in logs of URLs). Not written to the
    search log either: a message is the customer's, and the gap report reads the agents' searches.
    """
    data = jsonbody.json_object()
    text = jsonbody.text(data, "text")
    if not text.strip():
        raise RequestError("text", "is empty: send the customer's message")
    if len(text) > kb_search.SUGGEST_MAX_CHARS:
        raise RequestError("text", f"is longer than the limit of {kb_search.SUGGEST_MAX_CHARS:,} characters")
    limit = data.get("limit", 5)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 20:
        raise RequestError("limit", "must be a whole number from 1 to 20")
    session = get_session()
    page = kb_search.service().suggest(
        text, statuses=[Status.PUBLISHED], limit=limit, vocabulary=vocabulary.current_vocabulary(session)
    )
    response = jsonify(took_ms=page.took_ms, results=[_suggestion_json(hit) for hit in page.hits])
    response.headers["Server-Timing"] = page.server_timing
    return response


def _suggestion_json(hit: kb_search.SearchHit) -> dict:
    return {
        "slug": hit.slug,
        "title": hit.title,
        "summary": hit.summary,
        "url": _article_url(hit.slug) + (f"#{hit.anchor}" if hit.anchor else ""),
        "passage": {"heading": hit.section, "anchor": hit.anchor, "html": str(hit.snippet)},
        "why": {"matched": hit.matched, "similar_meaning": hit.by_meaning},
        "score": hit.score,
        "weak": hit.weak,
    }


@bp.route("/articles")
@role_required()
def articles():
    status = request.args.get("status")
    chosen = Status(status) if status in {s.value for s in Status} else None
    session = get_session()
    found = store.list_articles(session, role=current_user.role, status=chosen)
    listed = [_article_summary(a) for a in found]
    if auth.has_role(current_user, Role.AUTHOR):
        broken = articlelinks.broken_counts(session, [a.id for a in found])
        for summary, article in zip(listed, found, strict=True):
            summary["score"] = articlelinks.score(article, broken.get(article.id, 0))
    return jsonify(articles=listed)


@bp.route("/links/broken")
@role_required(Role.AUTHOR)
def broken_links():
    """Links in articles to missing or archived articles (or to drafts, from published ones)."""
    return jsonify(
        broken=[
            {"source": b.source_slug, "title": b.source_title, "line": b.line, "target": b.target_slug, "why": b.why}
            for b in articlelinks.report(get_session())
        ]
    )


@bp.route("/articles/<slug>")
@role_required()
def article(slug: str):
    """One article; `?sid=` (the search episode it was found in) records that the search led here."""
    session = get_session()
    new_slug = store.renamed(session, slug, role=current_user.role)
    if new_slug:  # renamed: the old address still answers, pointing at the new one
        moved = public_url("api.article", slug=new_slug, **request.args)
        return jsonify(moved_to=new_slug, url=moved), 301, {"Location": moved}
    found = store.get_article(session, slug, role=current_user.role)
    episode = request.args.get("sid")
    if feedback.is_episode_id(episode):
        background.search_log().opened(episode, slug)
    body = article_json(found)
    body["calls"] = loopjson.usage_json(loop_calls.usage(session, [found.id]).get(found.id))  # reuse is review
    body["root_fix"] = rootfix.as_json(rootfix.of(session, found))
    if auth.has_role(current_user, Role.AUTHOR):
        body["golden_warnings"] = golden.warnings_for(session, found)
        body["checks"] = articlelinks.checks_for(session, found).as_json()
    return jsonify(body)


@bp.route("/articles/<slug>/feedback", methods=["POST"])
@role_required()
def article_feedback(slug: str):
    """A vote; a "not helpful" one's `comment` (what was missing) joins the knowledge gap it points at."""
    data = jsonbody.json_object()
    if not isinstance(data.get("helpful"), bool):
        raise jsonbody.BodyError('Send {"helpful": true} or {"helpful": false}.')
    comment = jsonbody.text(data, "comment")
    problem = limits.text_problem(comment, max_chars=feedback.MAX_VOTE_COMMENT)
    if problem:
        raise RequestError("comment", problem)
    session = get_session()
    found = store.get_article(session, slug, role=current_user.role)
    words = vocabulary.current_vocabulary(session)
    feedback.record_helpful(session, found, current_user, data["helpful"], comment=comment, vocabulary=words)
    session.commit()
    kb_search.votes_changed(session, [found.id])
    return jsonify(slug=slug, helpful=data["helpful"])


def _article_summary(article: Article) -> dict:
    return {
        "slug": article.slug,
        "title": article.title,
        "summary": article.summary,
        "tags": list(article.tags),
        "product": article.product,
        "audience": article.audience.value,
        "status": article.status.value,
        "version": article.version,
        "created_at": article.created_at.isoformat(),
        "created_by": article.created_by.username if article.created_by else None,
        "updated_at": article.updated_at.isoformat(),
        "updated_by": article.updated_by.username if article.updated_by else None,
        "verified_at": article.verified_at.isoformat() if article.verified_at else None,
        "verified_by": article.verified_by.username if article.verified_by else None,
        "owner": article.owner.username if article.owner else None,
        "review_by": article.review_by.isoformat() if article.review_by else None,
        "review_overdue": verification.is_overdue(article),
        "url": _article_url(article.slug),
    }


def _article_url(slug: str) -> str:
    return public_url("agent.article", slug=slug)


def article_json(article: Article) -> dict:
    return {
        **_article_summary(article),
        "extra": article.extra,
        "markdown": article.body,
        "html": str(to_html(article.body)),
    }


# --- authoring ----------------------------------------------------------------------------------


@bp.route("/articles", methods=["POST"])
@role_required(Role.AUTHOR)
def create_article():
    data = jsonbody.json_object()
    session = get_session()
    fields = fields_from(data, None)
    lifecycle.check_save(session, None, fields, current_user)
    try:
        result = store.create_article(session, fields, user=current_user, message=_message(data))
    except store.SlugTaken as taken:
        return _slug_taken(taken)
    session.commit()
    return jsonify(article=article_json(result.article), changed=True), 201


@bp.route("/articles/<slug>", methods=["PUT", "PATCH"])
@role_required(Role.AUTHOR)
def update_article(slug: str):
    """Save an edit based on the article's `version` (from GET): a stale one is refused with what changed."""
    session = get_session()
    existing = store.find_by_slug(session, slug)
    if existing is None:
        raise store.ArticleNotFound(slug)
    data = jsonbody.json_object()
    based_on = based_on_version(data)
    fields = fields_from(data, existing)
    if based_on == existing.version:  # a stale save is a 409 whatever it asks for
        lifecycle.check_save(session, existing, fields, current_user)
    owner_changed = _change_owner(session, existing, data)
    try:
        result = store.update_article(
            session,
            existing,
            fields,
            user=current_user,
            based_on=based_on,
            message=_message(data),
            verified=data.get("verified") is True,
        )
    except store.VersionConflict as conflict:
        return _conflict(conflict)
    except store.SlugTaken as taken:
        return _slug_taken(taken)
    session.commit()
    return jsonify(article=article_json(result.article), changed=result.changed or owner_changed)


def _change_owner(session, article: Article, data: dict) -> bool:
    """`"owner": USERNAME` gives the article to another author (or admin) to keep right."""
    if "owner" not in data:
        return False
    try:
        return verification.give_to(session, article, jsonbody.text(data, "owner"))
    except verification.OwnerError as bad:
        raise RequestError("owner", str(bad)) from None


def _message(data: dict) -> str:
    message = data.get("message", "")
    if not isinstance(message, str):
        raise RequestError("message", "must be text")
    return message


def _conflict(conflict: store.VersionConflict):
    session = get_session()
    article, based_on = conflict.article, conflict.based_on
    authors = [
        r.created_by.username if r.created_by else "an import" for r in store.changed_by(session, article, based_on)
    ]
    who = ", ".join(dict.fromkeys(authors)) or "someone"
    return error(
        409,
        "conflict",
        f"'{article.slug}' was saved by {who} after version {based_on}, which your edit is based on "
        f"(it is now at version {article.version}). Nothing was saved: merge the changes listed in "
        f"'changes' into your edit and send it again with \"version\": {article.version}.",
        current_version=article.version,
        changes=store.changes_since(session, article, based_on),
        changed_by=list(dict.fromkeys(authors)),
    )


def _slug_taken(taken: store.SlugTaken):
    return error(
        409,
        "slug_taken",
        f"The slug '{taken.slug}' belongs to the article '{taken.holder.title}'; choose another slug, or "
        f"edit that article with PUT /api/v1/articles/{taken.holder.slug}.",
        field="slug",
        holder={"slug": taken.holder.slug, "title": taken.holder.title, "url": _article_url(taken.holder.slug)},
    )


@bp.route("/articles/<slug>/revisions")
@role_required(Role.AUTHOR)
def revisions(slug: str):
    article = store.get_article(get_session(), slug, role=current_user.role)
    return jsonify(revisions=[_revision_json(r, with_body=False) for r in reversed(article.revisions)])


@bp.route("/articles/<slug>/revisions/<int:number>")
@role_required(Role.AUTHOR)
def revision(slug: str, number: int):
    session = get_session()
    article = store.get_article(session, slug, role=current_user.role)
    return jsonify(_revision_json(store.get_revision(session, article, number), with_body=True))


@bp.route("/preview", methods=["POST"])
@role_required(Role.AUTHOR)
def preview():
    """Markdown rendered exactly as the article page renders it, with the content checks."""
    data = jsonbody.json_object()
    body = jsonbody.text(data, "markdown")
    problem = limits.text_problem(body, max_bytes=limits.limit("MAX_ARTICLE_BYTES"))
    if problem:
        raise RequestError("markdown", problem)
    status = jsonbody.text(data, "status", Status.DRAFT.value)
    if status not in {s.value for s in Status}:
        raise RequestError("status", f"must be one of {', '.join(s.value for s in Status)}")
    rendered = render_article(store.normalize_body(body))
    found = articlelinks.checks_of_text(get_session(), rendered, body, status=Status(status))
    return jsonify(html=str(rendered.html), checks=found.as_json())


@bp.errorhandler(lifecycle.MoveRefused)
def _move_refused(exc: lifecycle.MoveRefused):
    get_session().rollback()
    return error(exc.status, "forbidden" if exc.status == 403 else "invalid", str(exc), field="status")


@bp.errorhandler(kb_flags.FlagError)
def _flag_error(exc: kb_flags.FlagError):
    get_session().rollback()
    code = {404: "not_found", 409: "conflict"}.get(exc.status, "invalid")
    return error(exc.status, code, str(exc), field=exc.field)


@bp.route("/articles/<slug>/flags", methods=["POST"])
@role_required()
def flag_article(slug: str):
    """Any reader: this article is wrong, outdated, unclear or missing something."""
    session = get_session()
    article = store.get_article(session, slug, role=current_user.role)
    data = jsonbody.json_object()
    flag = kb_flags.raise_flag(session, article, current_user, data.get("reason"), data.get("comment", ""))
    session.commit()
    return jsonify(flag=flag_json(flag)), 201


@bp.route("/flags")
@role_required()
def list_flags():
    """Authors: every flag (`state=open` by default, `resolved`, `all`); `mine=1`: the caller's own
    (all an agent may list); `owned=1` puts flags on the caller's articles first; `article=SLUG`."""
    session = get_session()
    state = request.args.get("state", "open")
    if state not in ("open", "resolved", "all"):
        raise RequestError("state", "must be open, resolved or all")
    is_author = auth.has_role(current_user, Role.AUTHOR)
    mine = request.args.get("mine") == "1" or not is_author
    slug = request.args.get("article")
    article = store.get_article(session, slug, role=current_user.role) if slug else None
    found = kb_flags.listed(
        session,
        state=state,
        raised_by=current_user if mine else None,
        article=article,
        owner=current_user if request.args.get("owned") == "1" else None,
    )
    return jsonify(flags=[flag_json(f) for f in found])


@bp.route("/flags/<int:flag_id>/resolve", methods=["POST"])
@role_required(Role.AUTHOR)
def resolve_flag(flag_id: int):
    """Close a flag with the revision that fixed it (`revision`) or why no change was needed (`reason`)."""
    session = get_session()
    data = jsonbody.json_object()
    flag = kb_flags.resolve(
        session, flag_id, user=current_user, fixed_in=data.get("revision"), resolution=data.get("reason")
    )
    session.commit()
    return jsonify(flag=flag_json(flag))


def flag_json(flag) -> dict:
    return {
        "id": flag.id,
        "article": flag.article.slug,
        "title": flag.article.title,
        "reason": flag.reason.value,
        "comment": flag.comment,
        "raised_by": flag.user.username if flag.user else None,
        "created_at": flag.created_at.isoformat(),
        "state": "resolved" if flag.resolved_at else "open",
        "resolved_at": flag.resolved_at.isoformat() if flag.resolved_at else None,
        "resolved_by": flag.resolved_by.username if flag.resolved_by else None,
        "revision": flag.fixed_in,
        "resolution": flag.resolution,
    }


@bp.route("/articles/<slug>/attachments")
@role_required(Role.AUTHOR)
def list_attachments(slug: str):
    session = get_session()
    article = store.get_article(session, slug, role=current_user.role)
    return jsonify(attachments=[attachment_json(a) for a in kb_attachments.of_article(session, article)])


@bp.route("/articles/<slug>/attachments", methods=["POST"])
@role_required(Role.AUTHOR)
def upload_attachment(slug: str):
    """Attach a file (multipart field `file`): an image to show or a document to offer."""
    session = get_session()
    article = store.get_article(session, slug, role=current_user.role)
    try:
        attachment = uploads.from_request(session, article)
    except kb_attachments.AttachmentRefused as refused:
        return error(
            refused.status, "request_too_large" if refused.status == 413 else "invalid", str(refused), field="file"
        )
    session.commit()
    return jsonify(attachment=attachment_json(attachment)), 201


def attachment_json(attachment) -> dict:
    url = public_url("agent.attachment", stored=attachment.stored, name=attachment.name)
    return {
        "id": attachment.id,
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "url": url,
        "markdown": kb_attachments.markdown_for(attachment),
    }


@bp.route("/articles/<slug>/verify", methods=["POST"])
@role_required(Role.AUTHOR)
def verify(slug: str):
    """Say the article, as of `version`, is still right: records who and when, sets the next review date."""
    session = get_session()
    article = store.get_article(session, slug, role=current_user.role)
    data = jsonbody.json_object()
    try:
        verification.verify(session, article, user=current_user, based_on=based_on_version(data))
    except store.VersionConflict as conflict:
        return _conflict(conflict)
    session.commit()
    return jsonify(article=article_json(article), changed=True)


@bp.route("/articles/<slug>/transition", methods=["POST"])
@role_required(Role.AUTHOR)
def transition(slug: str):
    """Move an article through the workflow (draft, review, published, archived) with a comment."""
    session = get_session()
    article = store.get_article(session, slug, role=current_user.role)
    data = jsonbody.json_object()
    to = _status_field(data, "to")
    comment = jsonbody.text(data, "comment")
    problem = limits.text_problem(comment, max_chars=MAX_COMMENT)
    if problem:
        raise RequestError("comment", problem)
    try:
        result = lifecycle.move(
            session, article, to, user=current_user, based_on=based_on_version(data), comment=comment
        )
    except store.VersionConflict as conflict:
        return _conflict(conflict)
    session.commit()
    return jsonify(article=article_json(result.article), changed=result.changed)


def _status_field(data: dict, name: str) -> Status:
    value = jsonbody.text(data, name)
    if value not in {s.value for s in Status}:
        raise RequestError(name, f"must be one of {', '.join(s.value for s in Status)}")
    return Status(value)


@bp.route("/settings")
@role_required(Role.ADMIN)
def all_settings():
    session = get_session()
    return jsonify(settings={key: _setting_json(settings.get(session, key)) for key in settings.EDITABLE})


@bp.route("/settings/<key>", methods=["PUT"])
@role_required(Role.ADMIN)
def change_setting(key: str):
    if key not in settings.EDITABLE:
        return error(404, "not_found", f"No setting '{key[:80]}'; the settings are {', '.join(settings.EDITABLE)}.")
    data = jsonbody.json_object()
    problem = settings.problem(key, data.get("value"))
    if problem:
        raise RequestError("value", problem)
    session = get_session()
    try:
        saved = settings.put(session, key, data["value"], user=current_user, based_on=_setting_version(data))
    except settings.SettingConflict as conflict:
        session.rollback()
        return error(409, "conflict", f"Nothing was saved: {conflict}.", current_version=conflict.current)
    session.commit()
    return jsonify(_setting_json(saved))


def _setting_json(current: settings.Current) -> dict:
    return {"value": current.value, "version": current.version, "updated_by": current.updated_by}


@bp.route("/template")
@role_required(Role.AUTHOR)
def article_template():
    """The text a new article starts from (admins change it with PUT)."""
    return jsonify(_template_json(settings.get(get_session(), settings.ARTICLE_TEMPLATE)))


@bp.route("/template", methods=["PUT"])
@role_required(Role.ADMIN)
def change_article_template():
    data = jsonbody.json_object()
    text = store.normalize_body(jsonbody.text(data, "markdown"))
    problem = settings.template_problem(text)
    if problem:
        raise RequestError("markdown", problem)
    session = get_session()
    try:
        saved = settings.put(
            session, settings.ARTICLE_TEMPLATE, text, user=current_user, based_on=_setting_version(data)
        )
    except settings.SettingConflict as conflict:
        session.rollback()
        return error(
            409,
            "conflict",
            f"Nothing was saved: {conflict}. Read it again and merge.",
            current_version=conflict.current,
        )
    session.commit()
    return jsonify(_template_json(saved))


def _setting_version(data: dict) -> int:
    """The setting's version as read (0 while it is kb's default): required, as for articles."""
    if type(data.get("version")) is int and data["version"] == 0:  # not False, which equals 0 in Python
        return 0
    return based_on_version(data)


def _template_json(current: settings.Current) -> dict:
    return {"markdown": current.value, "version": current.version, "updated_by": current.updated_by}


@bp.route("/articles/<slug>/diff")
@role_required(Role.AUTHOR)
def diff(slug: str):
    """Word-level changes between revisions `from` and `to` (default: the current one and the one before)."""
    session = get_session()
    article = store.get_article(session, slug, role=current_user.role)
    older, newer = _revision_arg("from"), _revision_arg("to")
    return jsonify(history.compare(session, article, older, newer).as_json())


def _revision_arg(name: str) -> int | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or not 0 < int(value) < 2**31:
        raise RequestError(name, f"must be a revision number (1, 2, ...), not {value[:40]!r}")
    return int(value)


@bp.route("/articles/<slug>/revisions/<int:number>/restore", methods=["POST"])
@role_required(Role.AUTHOR)
def restore_revision(slug: str, number: int):
    """Make a new revision equal to revision `number` (slug and status stay): nothing is destroyed."""
    session = get_session()
    article = store.get_article(session, slug, role=current_user.role)
    data = jsonbody.json_object()
    try:
        result = history.restore(
            session, article, number, user=current_user, based_on=based_on_version(data), message=_message(data)
        )
    except store.VersionConflict as conflict:
        return _conflict(conflict)
    session.commit()
    return jsonify(article=article_json(result.article), changed=result.changed)


def _revision_json(revision: Revision, *, with_body: bool) -> dict:
    data = {
        "number": revision.number,
        "created_at": revision.created_at.isoformat(),
        "created_by": revision.created_by.username if revision.created_by else None,
        "message": revision.message,
        "slug": revision.slug,
        "title": revision.title,
        "status": revision.status.value,
    }
    if with_body:
        data.update(
            summary=revision.summary,
            tags=list(revision.tags),
            product=revision.product,
            audience=revision.audience.value,
            extra=revision.extra,
            markdown=revision.body,
        )
    return data


# --- operations ---------------------------------------------------------------------------------


@bp.route("/health")
def health():
    """For load balancers and monitors: 200 when this process can serve, 503 when not (no login)."""
    if kb_health.is_healthy(current_app, get_session()):
        return jsonify(status="ok")
    return error(503, "unavailable", "This kb process cannot reach its database or its search index.")


@bp.route("/openapi.json")
def openapi_document():
    """This API described as OpenAPI 3.1 (kb.views.openapi); no login: it is documentation."""
    return jsonify(openapi.document())


@bp.route("/status")
@role_required(Role.ADMIN)
def status():
    """Database, index, index writer and search log of the process answering (see `kb doctor`)."""
    return jsonify(kb_health.status(current_app, get_session()))


# --- accounts -----------------------------------------------------------------------------------


@bp.route("/me")
@role_required()
def me():
    return jsonify(username=current_user.username, role=current_user.role.value)


@bp.route("/me/password", methods=["POST"])
@role_required()
@password_change_limit
def change_password():
    """The caller's own password, as on the account page: the other sessions end, tokens are revoked."""
    data = jsonbody.json_object()
    session, user = get_session(), current_user._get_current_object()
    try:
        revoked = auth.change_own_password(session, user, data.get("current"), data.get("new"))
    except auth.AuthError as exc:
        session.rollback()
        return _account_error(exc)
    session.commit()
    auth.stay_logged_in(user)  # a session-cookie caller; a token caller's tokens are all revoked
    message = f"Password changed: {auth.ended_access(revoked)}."
    return jsonify(changed=True, revoked_tokens=revoked, message=message)


@bp.route("/tokens")
@role_required()
def list_tokens():
    listed = kb_tokens.live_tokens(get_session(), current_user._get_current_object())
    return jsonify(tokens=[_token_json(t) for t in listed])


@bp.route("/tokens", methods=["POST"])
@role_required()
def create_token():
    data = jsonbody.json_object()
    session = get_session()
    try:
        issued = kb_tokens.issue_token(session, current_user._get_current_object(), jsonbody.text(data, "name"))
    except kb_tokens.TokenError as exc:
        session.rollback()
        return error(400, "invalid", str(exc), field=exc.field)
    session.commit()
    return jsonify(token=_token_json(issued.token), secret=issued.secret), 201


@bp.route("/tokens/<int:token_id>", methods=["DELETE"])
@role_required()
def revoke_token(token_id: int):
    session = get_session()
    try:
        token = kb_tokens.revoke_token(session, current_user._get_current_object(), token_id)
    except kb_tokens.TokenNotFound as exc:
        session.rollback()
        return error(404, "not_found", str(exc))
    session.commit()
    return jsonify(revoked=_token_json(token))


def _token_json(token) -> dict:
    return {
        "id": token.id,
        "prefix": token.prefix,
        "name": token.name,
        "created_at": token.created_at.isoformat(),
        "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
    }


@bp.route("/users")
@role_required(Role.ADMIN)
def users():
    listed = get_session().scalars(select(User).order_by(User.username))
    return jsonify(users=[_user_json(u) for u in listed])


@bp.route("/users", methods=["POST"])
@role_required(Role.ADMIN)
def create_user():
    data = jsonbody.json_object()
    session = get_session()
    chosen = jsonbody.text(data, "password")
    password = chosen or auth.generate_password()
    try:
        roles = _roles_asked(data) or [auth.role_named(jsonbody.text(data, "role", "agent"))]
        user = auth.create_user(session, jsonbody.text(data, "username"), roles[0], password, also=roles[1:])
    except auth.AuthError as exc:
        session.rollback()
        return _account_error(exc)
    session.commit()
    body = _user_json(user)
    if not chosen:
        body["password"] = password  # generated: shown this once
    return jsonify(user=body), 201


@bp.route("/users/<username>", methods=["PATCH"])
@role_required(Role.ADMIN)
def update_user(username: str):
    session = get_session()
    try:
        user = auth.find_user(session, username)
        auth.change_user(session, current_user._get_current_object(), user, _user_change(jsonbody.json_object()))
    except auth.AuthError as exc:
        session.rollback()
        return _account_error(exc)
    session.commit()
    auth.stay_logged_in(user)  # an admin who reset their own password keeps this session
    return jsonify(user=_user_json(user))


def _account_error(exc: auth.AuthError):
    if isinstance(exc, auth.UserNotFound):
        return error(404, "not_found", str(exc))
    return error(400, "invalid", str(exc), **({"field": exc.field} if exc.field else {}))


def _user_change(data: dict) -> auth.UserChange:
    """The JSON change, each value type-checked: `active` is a JSON true or false, nothing else."""
    if "active" in data and not isinstance(data["active"], bool):
        raise RequestError("active", "must be true or false")
    role = jsonbody.text(data, "role")
    roles = _roles_asked(data)
    return auth.UserChange(
        role=auth.role_named(role) if role else None,
        active=data.get("active"),
        password=jsonbody.text(data, "password") or None,
        roles=tuple(roles) if roles else None,
    )


def _roles_asked(data: dict) -> list[Role] | None:
    """`"roles": ["author", "trainer"]`: a user may hold several roles (kb.auth.arrange_roles)."""
    return auth.roles_named(data["roles"]) if "roles" in data else None


def _user_json(user: User) -> dict:
    return {
        "username": user.username,
        "role": user.role.value,
        "roles": sorted(r.value for r in user.roles),
        "active": user.is_active,
        "created_at": user.created_at.isoformat(),
    }


# --- search vocabulary and golden queries --------------------------------------------------------


@bp.route("/synonyms")
@role_required(Role.AUTHOR)
def synonyms():
    return jsonify(groups=[_group_json(g) for g in vocabulary.list_groups(get_session())])


@bp.route("/synonyms", methods=["POST"])
@role_required(Role.AUTHOR)
def create_synonyms():
    return _save_group(None, 201)


@bp.route("/synonyms/<int:group_id>", methods=["PUT", "DELETE"])
@role_required(Role.AUTHOR)
def change_synonyms(group_id: int):
    session = get_session()
    group = vocabulary.get_group(session, group_id)
    if group is None:
        return error(404, "not_found", f"No synonym group {group_id}.")
    if request.method == "DELETE":
        vocabulary.delete_group(session, group)
        session.commit()
        return jsonify(deleted=group_id, warnings=_golden_warnings())
    return _save_group(group, 200)


def _save_group(group, status: int):
    session = get_session()
    terms = jsonbody.json_object().get("terms")
    if not isinstance(terms, list):
        raise jsonbody.BodyError('Send {"terms": ["wifi", "wireless", ...]}.')
    try:
        saved = vocabulary.save_group(session, terms, user=current_user, group=group)
    except vocabulary.VocabularyError as exc:
        session.rollback()
        return error(400, "invalid", str(exc), fields={"terms": str(exc)})
    session.commit()
    return jsonify(group=_group_json(saved), warnings=_golden_warnings()), status


def _golden_warnings() -> list[str]:
    session = get_session()
    found = golden.regressions(session, kb_search.service())
    session.commit()
    return [golden.warning(r) for r in found]


def _group_json(group) -> dict:
    return {"id": group.id, "terms": list(group.terms), "updated_at": group.updated_at.isoformat()}


@bp.route("/golden")
@role_required(Role.AUTHOR)
def golden_queries():
    """Run every golden query now and report pass/fail with ranks."""
    session = get_session()
    results = golden.check(session, kb_search.service())
    session.commit()
    return jsonify(
        passed=sum(1 for r in results if r.passed),
        total=len(results),
        results=[
            {
                "id": r.golden.id,
                "query": r.golden.query,
                "article": r.golden.article.slug,
                "rank": r.rank,
                "passed": r.passed,
            }
            for r in results
        ],
    )


@bp.route("/golden", methods=["POST"])
@role_required(Role.AUTHOR)
def create_golden():
    data = jsonbody.json_object()
    session = get_session()
    try:
        found = golden.add_golden(
            session,
            jsonbody.text(data, "query"),
            jsonbody.text(data, "article"),
            service=kb_search.service(),
            user=current_user,
        )
    except golden.GoldenError as exc:
        session.rollback()
        return error(400, "invalid", str(exc))
    session.commit()
    return jsonify(id=found.id, query=found.query, article=found.article.slug), 201


@bp.route("/golden/<int:golden_id>", methods=["DELETE"])
@role_required(Role.AUTHOR)
def delete_golden(golden_id: int):
    session = get_session()
    found = session.get(GoldenQuery, golden_id)
    if found is None:
        return error(404, "not_found", f"No golden query {golden_id}.")
    golden.delete_golden(session, found)
    session.commit()
    return jsonify(deleted=golden_id)
