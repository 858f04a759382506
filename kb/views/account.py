"""Logging in and out, and a person's own account: their password and their API tokens."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, logout_user

from kb import auth, tokens
from kb.db import get_session
from kb.security import (
    is_failed_attempt,
    limiter,
    login_account_key,
    password_change_limit,
    password_guess_limit,
)

bp = Blueprint("account", __name__)


def _safe_next(target: str | None) -> str:
    """Only follow `next` to a path on this site, never to another host.

    A backslash counts as a slash in browsers ("/\\evil.example" is another host), and a control
    character (a CR/LF pair) cannot go into a Location header at all.
    """
    if not target or "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return url_for("agent.search")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("agent.search")
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(password_guess_limit, methods=["POST"])
@limiter.limit(password_guess_limit, methods=["POST"], key_func=login_account_key, deduct_when=is_failed_attempt)
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    if request.method == "GET":
        return render_template("account/login.html", username="")
    username = request.form.get("username", "")
    try:
        user = auth.authenticate(get_session(), username, request.form.get("password", ""))
    except auth.AuthError as exc:
        flash(str(exc), "error")
        return render_template("account/login.html", username=""), 400
    if user is None:
        flash("Wrong username or password.", "error")
        return render_template("account/login.html", username=username), 401
    auth.log_in(user, remember=bool(request.form.get("remember")))
    return redirect(_safe_next(request.args.get("next")))


@bp.route("/logout", methods=["POST"])
def logout():
    """Log out here and everywhere: a copy of this browser's cookies must not stay logged in."""
    if current_user.is_authenticated and not auth.is_bearer_request():
        session = get_session()
        auth.end_sessions(session, current_user._get_current_object())
        session.commit()
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("account.login"))


@bp.route("/account")
@login_required
def home():
    return _account_page()


def _account_page(*, new_token: tokens.IssuedToken | None = None, status: int = 200):
    listed = tokens.live_tokens(get_session(), current_user)
    return render_template("account/account.html", tokens=listed, new_token=new_token), status


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@password_change_limit
def password():
    if request.method == "GET":
        return redirect(url_for("account.home"))
    session = get_session()
    user = current_user._get_current_object()
    form = request.form
    try:
        revoked = auth.change_own_password(
            session, user, form.get("current", ""), form.get("new", ""), form.get("confirm", "")
        )
    except auth.AuthError as exc:
        session.rollback()
        flash(str(exc), "error")
        return _account_page(status=400)
    session.commit()
    auth.stay_logged_in(user)
    flash(f"Password changed. You stay logged in here; your other {auth.ended_access(revoked)}.", "info")
    return redirect(url_for("account.home"))


@bp.route("/account/tokens", methods=["POST"])
@login_required
def create_token():
    session = get_session()
    try:
        issued = tokens.issue_token(session, current_user._get_current_object(), request.form.get("name", ""))
    except tokens.TokenError as exc:
        session.rollback()
        flash(str(exc), "error")
        return _account_page(status=400)
    session.commit()
    # Shown in this answer only: a flashed message would travel in the session cookie.
    return _account_page(new_token=issued)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    session = get_session()
    try:
        token = tokens.revoke_token(session, current_user._get_current_object(), token_id)
    except tokens.TokenNotFound:
        session.rollback()
        abort(404)
    session.commit()
    flash(f"API token {token.prefix}… revoked: it no longer works.", "info")
    return redirect(url_for("account.home"))
