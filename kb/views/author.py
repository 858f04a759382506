"""What authors use: the article list with drafts, the editor and the revision history."""

from __future__ import annotations

import json

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from kb import articlelinks, golden, history, lifecycle, limits, settings, store, verification, vocabulary
from kb import attachments as kb_attachments
from kb import flags as kb_flags
from kb import search as kb_search
from kb.auth import role_required
from kb.db import get_session, utcnow
from kb.models import Article, Audience, GoldenQuery, Role, Status
from kb.render import render_article
from kb.textdiff import around_changes
from kb.views import uploads
from kb.views.articleinput import RequestError, based_on_version, fields_from

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


@bp.app_context_processor
def _review_queue() -> dict:
    """`waiting_for_review()`: how many articles wait for review, for the menu of authors and admins.

    A function the template calls, not a value, so the count query runs only on pages that show
    it: the search results fragment sent on every keystroke renders without it.
    """
    return {"waiting_for_review": _waiting_for_review}


def _waiting_for_review() -> int:
    if not current_user.is_authenticated or current_user.role not in (Role.AUTHOR, Role.ADMIN):
        return 0
    try:
        return store.count_in_status(get_session(), Status.REVIEW)
    except SQLAlchemyError:  # an error page about the database must still render
        return 0


@bp.route("/articles")
def articles():
    status = request.args.get("status")
    chosen = Status(status) if status in {s.value for s in Status} else None
    mine = request.args.get("mine") == "1"
    session = get_session()
    found = store.list_articles(
        session, role=current_user.role, status=chosen, created_by=current_user if mine else None
    )
    broken = articlelinks.broken_counts(session, [a.id for a in found])
    scores = {a.id: articlelinks.score(a, broken.get(a.id, 0)) for a in found}
    return render_template("author/articles.html", articles=found, scores=scores, status=chosen, mine=mine)


@bp.route("/links")
def broken_links():
    """Every link in an article that leads to a missing or archived article (or a draft, from a published one)."""
    return render_template("author/links.html", broken=articlelinks.report(get_session()))


@bp.route("/articles/new", methods=["GET", "POST"])
def new():
    return _edit(None)


@bp.route("/articles/<slug>/edit", methods=["GET", "POST"])
def edit(slug: str):
    return _edit(_article_or_404(slug))


def _edit(article: Article | None):
    if request.method == "GET":
        return _form(article, _values_of(article))
    session = get_session()
    try:
        result = _save(session, article)
    except store.SlugTaken as taken:
        return _form(article, request.form.to_dict(), taken.errors, taken=taken.holder), 409
    except store.ArticleInvalid as invalid:
        return _form(article, request.form.to_dict(), invalid.errors), 400
    except RequestError as bad:
        return _form(article, request.form.to_dict(), [store.FieldError(bad.field, str(bad))]), bad.status
    except lifecycle.MoveRefused as refused:
        session.rollback()
        return _form(article, request.form.to_dict(), [store.FieldError("status", str(refused))]), refused.status
    except store.VersionConflict as conflict:
        return _conflict_form(session, conflict), 409
    session.commit()
    if result.changed:
        flash(f"Saved revision {result.article.version}. Agents' searches find it within a second.", "info")
    else:
        flash("Nothing changed, so no new revision was saved.", "info")
    return redirect(url_for("agent.article", slug=result.article.slug))


def _save(session, article: Article | None) -> store.SaveResult:
    data = fields_from(request.form, article)
    message = request.form.get("message", "")
    if article is None or based_on_version(request.form) == article.version:
        lifecycle.check_save(session, article, data, current_user)
    if article is not None and request.form.get("owner", "").strip():
        try:
            verification.give_to(session, article, request.form["owner"].strip())
        except verification.OwnerError as bad:
            raise RequestError("owner", str(bad)) from None
    if article is None:
        return store.create_article(session, data, user=current_user, message=message)
    return store.update_article(
        session,
        article,
        data,
        user=current_user,
        based_on=based_on_version(request.form),
        message=message,
        verified=bool(request.form.get("verified")),
    )


def _conflict_form(session, conflict: store.VersionConflict):
    """The editor again with the author's text untouched, and what the other person changed."""
    article, based_on = conflict.article, conflict.based_on
    revisions = store.changed_by(session, article, based_on)
    values = request.form.to_dict()
    values["version"] = str(article.version)  # saving again now is a deliberate choice
    return _form(
        article,
        values,
        conflict={
            "who": ", ".join(dict.fromkeys(r.created_by.username if r.created_by else "an import" for r in revisions)),
            "version": article.version,
            "based_on": based_on,
            "changes": around_changes(store.changes_since(session, article, based_on)),
        },
    )


def _values_of(article) -> dict[str, str]:
    template = settings.get(get_session(), settings.ARTICLE_TEMPLATE).value
    data = store.ArticleFields.of(article) if article else store.ArticleFields(slug="", title="", body=template)
    values = {name: getattr(data, name) for name in ("title", "slug", "summary", "body", "product")}
    values.update(tags=", ".join(data.tags), audience=data.audience.value, status=data.status.value)
    if article is not None:
        values["version"] = str(article.version)
        values["owner"] = article.owner.username if article.owner else ""
    return values


def _form(article, values: dict[str, str], errors: list[store.FieldError] | None = None, **context):
    if article is None:
        statuses = [Status.DRAFT, Status.REVIEW] + ([Status.PUBLISHED] if current_user.role == Role.ADMIN else [])
    else:
        statuses = [article.status, *lifecycle.moves_for(article, current_user)]
    files = kb_attachments.of_article(get_session(), article) if article is not None else []
    return render_template(
        "author/edit.html",
        article=article,
        values=values,
        errors=errors or [],
        statuses=statuses,
        attachments=[(a, kb_attachments.markdown_for(a)) for a in files],
        audiences=list(Audience),
        **context,
    )


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


@bp.route("/articles/<slug>/verify", methods=["POST"])
def verify(slug: str):
    session = get_session()
    article = _article_or_404(slug)
    try:
        verification.verify(session, article, user=current_user, based_on=based_on_version(request.form))
    except RequestError as bad:
        flash(f"Not verified: {bad}", "error")
        return redirect(url_for("agent.article", slug=slug)), 303
    except store.VersionConflict as conflict:
        return _stale(session, conflict, "Not verified", "read the change before saying it is still right")
    session.commit()
    flash(f"Verified: next review by {article.review_by:%Y-%m-%d}.", "info")
    return redirect(url_for("agent.article", slug=slug)), 303


@bp.route("/flags")
def fix_queue():
    """Open flags, those on one's own articles first."""
    found = kb_flags.listed(get_session(), owner=current_user)
    return render_template("author/flags.html", flags=found)


@bp.route("/flags/<int:flag_id>/resolve", methods=["POST"])
def resolve_flag(flag_id: int):
    session = get_session()
    try:
        flag = kb_flags.resolve(
            session,
            flag_id,
            user=current_user,
            fixed_in=request.form.get("revision") if not request.form.get("reason") else None,
            resolution=request.form.get("reason"),
        )
    except kb_flags.FlagError as bad:
        session.rollback()
        if bad.status == 404:
            abort(404)
        flash(f"Not resolved: {bad}", "error")
        return redirect(request.referrer if _local(request.referrer) else url_for("author.fix_queue")), 303
    session.commit()
    flash(f"Flag resolved: {flag.user.username if flag.user else 'the agent'} sees the outcome.", "info")
    return redirect(url_for("agent.article", slug=flag.article.slug)), 303


def _local(target: str | None) -> bool:
    return bool(target) and target.startswith(request.host_url)


@bp.route("/due")
def due_for_review():
    """Published articles overdue or due soon: one's own, or (admins) everyone's."""
    mine = current_user.role != Role.ADMIN or request.args.get("mine") == "1"
    found = verification.due(get_session(), owner=current_user if mine else None)
    return render_template("author/due.html", articles=found, mine=mine, now=utcnow())


@bp.route("/articles/<slug>/transition", methods=["POST"])
def transition(slug: str):
    """A workflow button on the article page: move it on, with a comment, as the version shown."""
    session = get_session()
    article = _article_or_404(slug)
    to = request.form.get("to", "")
    comment = request.form.get("comment", "")
    problem = limits.text_problem(comment, max_chars=500)
    try:
        if to not in {s.value for s in Status} or problem:
            raise RequestError("comment" if problem else "to", problem or "is not a state")
        result = lifecycle.move(
            session, article, Status(to), user=current_user, based_on=based_on_version(request.form), comment=comment
        )
    except (lifecycle.MoveRefused, RequestError) as refused:
        session.rollback()
        flash(f"Not moved: {refused}", "error")
        return redirect(url_for("agent.article", slug=slug)), 303
    except store.VersionConflict as conflict:
        return _stale(session, conflict, "Not moved", "read the change, then decide again")
    session.commit()
    flash(f"{lifecycle.VERBS[Status(to)]}: done. It is now {result.article.status.value}.", "info")
    return redirect(url_for("agent.article", slug=slug)), 303


def _stale(session, conflict: store.VersionConflict, what: str, then: str, older: int | None = None):
    """Someone saved after the version the button was pressed on: show them what changed."""
    slug, current = conflict.article.slug, conflict.article.version
    session.rollback()
    flash(f"{what}: someone saved this article after you opened it (it is now at revision {current}); {then}.", "error")
    return redirect(url_for("author.diff", slug=slug, to=current, **({"from": older} if older else {}))), 303


@bp.route("/articles/<slug>/attachments", methods=["POST"])
def upload_attachment(slug: str):
    session = get_session()
    article = _article_or_404(slug)
    try:
        attachment = uploads.from_request(session, article)
    except kb_attachments.AttachmentRefused as refused:
        session.rollback()
        flash(f"Not attached: {refused}", "error")
        return redirect(url_for("author.edit", slug=slug, _anchor="attachments")), 303
    session.commit()
    flash(f"Attached {attachment.name}: paste its line below into the article where it belongs.", "info")
    return redirect(url_for("author.edit", slug=slug, _anchor="attachments")), 303


@bp.route("/articles/<slug>/diff")
def diff(slug: str):
    """Two revisions side by side in one text: `from` and `to` (default: the latest change)."""
    article = _article_or_404(slug)
    try:
        compared = history.compare(get_session(), article, _number_arg("from"), _number_arg("to") or article.version)
    except store.ArticleNotFound:
        abort(404)
    full = request.args.get("full") == "1"
    changes = compared.changes if full else around_changes(compared.changes)
    rows = [(name, _shown(change["from"]), _shown(change["to"])) for name, change in compared.fields.items()]
    return render_template(
        "author/diff.html", article=article, diff=compared, changes=changes, full=full, field_rows=rows
    )


def _shown(value) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "(none)"
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else "(none)"
    return str(value) if value != "" else "(empty)"


def _number_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and 0 < int(value) < 2**31 else None


@bp.route("/articles/<slug>/revisions/<int:number>/restore", methods=["POST"])
def restore(slug: str, number: int):
    session = get_session()
    article = _article_or_404(slug)
    try:
        result = history.restore(session, article, number, user=current_user, based_on=based_on_version(request.form))
    except store.ArticleNotFound:
        abort(404)
    except store.VersionConflict as conflict:
        return _stale(session, conflict, "Not restored", "restore again from here if it should still go", number)
    except (store.ArticleInvalid, RequestError) as invalid:
        session.rollback()
        flash(f"Not restored: {invalid}", "error")
        return redirect(url_for("author.revision", slug=slug, number=number)), 303
    session.commit()
    if result.changed:
        flash(f"Restored revision {number} as revision {result.article.version}; nothing was deleted.", "info")
    else:
        flash(f"The article already equals revision {number}: nothing to restore.", "info")
    return redirect(url_for("author.revisions", slug=slug)), 303


# --- search vocabulary and golden queries --------------------------------------------------------


@bp.route("/synonyms", methods=["GET", "POST"])
def synonyms():
    session = get_session()
    if request.method == "POST":
        _change_vocabulary(
            lambda: vocabulary.save_group(
                session, vocabulary.parse_terms(request.form.get("terms", "")), user=current_user
            )
        )
        return redirect(url_for("author.synonyms"))
    return render_template("author/synonyms.html", groups=vocabulary.list_groups(session))


@bp.route("/synonyms/<int:group_id>", methods=["POST"])
def synonym(group_id: int):
    session = get_session()
    group = vocabulary.get_group(session, group_id)
    if group is None:
        abort(404)
    if request.form.get("action") == "delete":
        _change_vocabulary(lambda: vocabulary.delete_group(session, group))
    else:
        _change_vocabulary(
            lambda: vocabulary.save_group(
                session, vocabulary.parse_terms(request.form.get("terms", "")), user=current_user, group=group
            )
        )
    return redirect(url_for("author.synonyms"))


def _change_vocabulary(change) -> None:
    """Apply a vocabulary change, commit, and warn about golden queries it broke."""
    session = get_session()
    try:
        change()
    except vocabulary.VocabularyError as exc:
        session.rollback()
        flash(f"Not saved: {exc}.", "error")
        return
    session.commit()
    flash("Vocabulary saved: it applies to the next search.", "info")
    for regression in golden.regressions(session, kb_search.service()):
        flash(golden.warning(regression), "warning")
    session.commit()


@bp.route("/golden", methods=["GET", "POST"])
def golden_queries():
    session = get_session()
    if request.method == "POST":
        try:
            golden.add_golden(
                session,
                request.form.get("query", ""),
                request.form.get("article", ""),
                service=kb_search.service(),
                user=current_user,
            )
        except golden.GoldenError as exc:
            session.rollback()
            flash(f"Not added: {exc}.", "error")
        else:
            session.commit()
            flash("Golden query added.", "info")
        return redirect(url_for("author.golden_queries"))
    results = golden.check(session, kb_search.service())
    session.commit()
    slugs = store.list_articles(session, role=current_user.role, status=Status.PUBLISHED)
    return render_template("author/golden.html", results=results, articles=slugs, top=golden.TOP)


@bp.route("/golden/<int:golden_id>/delete", methods=["POST"])
def delete_golden(golden_id: int):
    session = get_session()
    found = session.get(GoldenQuery, golden_id)
    if found is None:
        abort(404)
    golden.delete_golden(session, found)
    session.commit()
    flash("Golden query removed.", "info")
    return redirect(url_for("author.golden_queries"))
