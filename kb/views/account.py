"""Logging in and out, and a user's own password."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from kb import auth
from kb.db import get_session
from kb.security import limiter

bp = Blueprint("account", __name__)


def _safe_next(target: str | None) -> str:
    """Only follow `next` to a path on this site, never to another host."""
    if not target:
        return url_for("agent.search")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("agent.search")
    return target


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    if request.method == "POST":
        user = auth.authenticate(get_session(), request.form.get("username", ""), request.form.get("password", ""))
        if user is not None:
            login_user(user, remember=bool(request.form.get("remember")))
            return redirect(_safe_next(request.args.get("next")))
        flash("Wrong username or password.", "error")
        return render_template("account/login.html", username=request.form.get("username", "")), 401
    return render_template("account/login.html", username="")


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("account.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password():
    if request.method == "POST":
        session = get_session()
        if auth.authenticate(session, current_user.username, request.form.get("current", "")) is None:
            flash("Your current password is not right.", "error")
        elif request.form.get("new") != request.form.get("confirm"):
            flash("The two new passwords differ.", "error")
        else:
            try:
                auth.set_password(session, current_user, request.form.get("new", ""))
            except auth.AuthError as exc:
                flash(str(exc), "error")
            else:
                session.commit()
                flash("Password changed.", "info")
                return redirect(url_for("agent.search"))
    return render_template("account/password.html")
