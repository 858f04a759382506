"""What admins use: user accounts and roles."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from kb import auth
from kb.auth import role_required
from kb.db import begin_write, get_session
from kb.models import Role, User

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@role_required(Role.ADMIN)
def _admins_only():
    return None


@bp.route("/users", methods=["GET", "POST"])
def users():
    session = get_session()
    new_password = None
    if request.method == "POST":
        password = request.form.get("password") or auth.generate_password()
        try:
            user = auth.create_user(
                session, request.form.get("username", ""), _role(request.form.get("role")), password
            )
        except auth.AuthError as exc:
            session.rollback()
            flash(str(exc), "error")
        else:
            session.commit()
            flash(f"User '{user.username}' created with role {user.role.value}.", "info")
            if not request.form.get("password"):
                new_password = (user.username, password)
    listed = session.scalars(select(User).order_by(User.username)).all()
    return render_template("admin/users.html", users=listed, roles=list(Role), new_password=new_password)


@bp.route("/users/<int:user_id>", methods=["POST"])
def update_user(user_id: int):
    session = get_session()
    user = session.get(User, user_id)
    if user is None:
        abort(404)
    try:
        form = {
            "role": request.form.get("role", ""),
            "active": "1" if request.form.get("active") else "0",
            "password": request.form.get("password", ""),
        }
        message = apply_user_change(session, user, form)
    except auth.AuthError as exc:
        session.rollback()
        flash(str(exc), "error")
    else:
        session.commit()
        flash(message, "info")
    return redirect(url_for("admin.users"))


def apply_user_change(session, user: User, data) -> str:
    """Change role, active flag or password of `user` from form or JSON data; return what was done."""
    if user.id == current_user.id and (
        data.get("role", "admin") != "admin" or str(data.get("active", "1")) in ("0", "False", "false")
    ):
        raise auth.AuthError("You cannot remove your own admin role or deactivate yourself.")
    done = []
    if data.get("password"):
        auth.set_password(session, user, data["password"])  # first: it starts the write transaction
        done.append("password changed")
    begin_write(session)
    if data.get("role"):
        user.role = _role(data["role"])
        done.append(f"role {user.role.value}")
    if "active" in data:
        user.is_active = str(data["active"]).lower() in ("1", "true", "on")
        done.append("active" if user.is_active else "deactivated")
    return f"{user.username}: " + (", ".join(done) if done else "nothing changed")


def _role(value: str | None) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise auth.AuthError(f"Unknown role '{value}': use one of {', '.join(r.value for r in Role)}.") from None
