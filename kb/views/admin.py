"""What admins use: user accounts and roles, the new-article template, and the state of the search index."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from kb import auth, health, settings
from kb.auth import role_required
from kb.db import get_session
from kb.models import Role, User
from kb.views import loopforms

bp = Blueprint("admin", __name__, url_prefix="/admin")

# The form's checkbox: a hidden "0" and, when ticked, a "1" after it (so a form without the field
# leaves the flag alone). Nothing else is an answer.
FORM_BOOLEANS = {"0": False, "1": True}


@bp.before_request
@role_required(Role.ADMIN)
def _admins_only():
    return None


@bp.route("/users", methods=["GET", "POST"])
def users():
    session = get_session()
    if request.method == "GET":
        return _users_page()
    chosen = request.form.get("password", "")
    password = chosen or auth.generate_password()
    try:
        role = auth.role_named(request.form.get("role"))
        also = [auth.role_named(r, "also") for r in request.form.getlist("also")]
        user = auth.create_user(session, request.form.get("username", ""), role, password, also=also)
    except auth.AuthError as exc:
        session.rollback()
        flash(str(exc), "error")
        return _users_page(status=400)
    session.commit()
    flash(f"User '{user.username}' created with role {' + '.join([user.role.value, *user.extra_roles])}.", "info")
    return _users_page(new_password=None if chosen else (user.username, password))


def _users_page(*, new_password: tuple[str, str] | None = None, status: int = 200):
    listed = get_session().scalars(select(User).order_by(User.username)).all()
    page = render_template("admin/users.html", users=listed, roles=list(Role), new_password=new_password)
    return page, status


@bp.route("/users/<int:user_id>", methods=["POST"])
def update_user(user_id: int):
    session = get_session()
    user = session.get(User, user_id)
    if user is None:
        abort(404)
    try:
        message = auth.change_user(session, current_user._get_current_object(), user, change_from_form(request.form))
    except auth.AuthError as exc:
        session.rollback()
        flash(str(exc), "error")
        return _users_page(status=400)
    session.commit()
    auth.stay_logged_in(user)  # an admin who reset their own password stays logged in here
    flash(message, "info")
    return redirect(url_for("admin.users"))


def change_from_form(form: MultiDict) -> auth.UserChange:
    """The admin form's change, each value checked against exactly what the form sends."""
    answers = form.getlist("active")
    if any(answer not in FORM_BOOLEANS for answer in answers):
        raise auth.AuthError("active must be the form's checkbox: 0 or 1.", field="active")
    role = form.get("role", "")
    also = [auth.role_named(r, "also") for r in form.getlist("also")]
    return auth.UserChange(
        role=auth.role_named(role) if role else None,
        roles=(auth.role_named(role), *also) if role and "roles_shown" in form else None,
        active=FORM_BOOLEANS[answers[-1]] if answers else None,
        password=form.get("password", "") or None,
    )


@bp.route("/index")
def index_status():
    """The search index as the operator sees it: readable, keeping up, and what it set aside."""
    return render_template("admin/index.html", status=health.status(current_app, get_session()))


@bp.route("/template", methods=["GET", "POST"])
def article_template():
    """The text every new article starts from; authors see it in the editor."""
    session = get_session()
    if request.method == "GET":
        return _template_page(settings.get(session, settings.ARTICLE_TEMPLATE))
    text = request.form.get("template", "").replace("\r\n", "\n")
    problem = settings.template_problem(text)
    if problem:
        flash(f"Not saved: the template {problem}.", "error")
        return _template_page(settings.Current(text, _version_field()), status=400)
    try:
        settings.put(session, settings.ARTICLE_TEMPLATE, text, user=current_user, based_on=_version_field())
    except settings.SettingConflict as conflict:
        session.rollback()
        flash(f"Not saved: {conflict}. Your text is below; the saved one is on the right.", "error")
        saved = settings.get(session, settings.ARTICLE_TEMPLATE)
        return _template_page(settings.Current(text, saved.version), saved=saved, status=409)
    session.commit()
    flash("Template saved: new articles start from it.", "info")
    return redirect(url_for("admin.article_template"))


def _version_field() -> int:
    value = request.form.get("version", "")
    return int(value) if value.isascii() and value.isdigit() and int(value) < 2**31 else -1


def _template_page(current: settings.Current, *, saved: settings.Current | None = None, status: int = 200):
    page = render_template("admin/template.html", current=current, saved=saved, default=settings.DEFAULT_TEMPLATE)
    return page, status


@bp.route("/settings", methods=["GET", "POST"])
def settings_page():
    """The rules admins choose: whether publishing needs a second person, and the cause categories."""
    session = get_session()
    if request.method == "GET":
        return _settings_page()
    answers = request.form.getlist("review_required")
    if not answers or any(answer not in FORM_BOOLEANS for answer in answers):
        flash("review_required must be the form's checkbox: 0 or 1.", "error")
        return _settings_page(status=400)
    try:
        settings.put(
            session, settings.REVIEW_REQUIRED, FORM_BOOLEANS[answers[-1]], user=current_user, based_on=_version_field()
        )
    except settings.SettingConflict as conflict:
        session.rollback()
        flash(f"Not saved: {conflict}. The page now shows what is saved; choose again.", "error")
        return _settings_page(status=409)
    session.commit()
    flash("Settings saved.", "info")
    return redirect(url_for("admin.settings_page"))


@bp.route("/settings/causes", methods=["POST"])
def cause_categories():
    """The root causes' categories authors choose from (kb.loop.rootfix), one per line."""
    session = get_session()
    text = request.form.get("causes", "")
    causes = loopforms.causes_from_text(text)
    problem = settings.problem(settings.CAUSE_CATEGORIES, causes)
    if problem:
        return _settings_page(causes_text=text, causes_error=f"The list {problem}.", status=400)
    try:
        settings.put(session, settings.CAUSE_CATEGORIES, causes, user=current_user, based_on=_version_field())
    except settings.SettingConflict as conflict:
        session.rollback()
        message = f"Not saved: {conflict}. Your list is below; save again to replace the saved one."
        saved = settings.get(session, settings.CAUSE_CATEGORIES)
        return _settings_page(causes_text=text, causes_error=message, causes_version=saved.version, status=409)
    session.commit()
    flash("Cause categories saved: authors choose from them in the root-fix form.", "info")
    return redirect(url_for("admin.settings_page", _anchor="causes"), 303)


def _settings_page(
    *, causes_text: str | None = None, causes_error: str = "", causes_version: int | None = None, status: int = 200
):
    """The settings page; after a refused cause list, the admin's text and what is wrong with it."""
    session = get_session()
    causes = settings.get(session, settings.CAUSE_CATEGORIES)
    page = render_template(
        "admin/settings.html",
        review=settings.get(session, settings.REVIEW_REQUIRED),
        causes=causes,
        causes_text="\n".join(causes.value) if causes_text is None else causes_text,
        causes_error=causes_error,
        causes_version=causes.version if causes_version is None else causes_version,
    )
    return page, status
