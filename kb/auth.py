"""Who is asking and what they may do: passwords, API tokens, sessions and role checks.

A request is authenticated either by the session cookie (flask-login) or by an
`Authorization: Bearer <token>` header; both end up as `current_user`, so every route checks
roles the same way whichever door the caller came through.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import cache, wraps
from typing import Callable, TypeVar

from flask import Flask, Request, g, jsonify, redirect, request, url_for
from flask_login import LoginManager, current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from kb.db import begin_write, get_session, utcnow
from kb.models import ApiToken, Role, User

login_manager = LoginManager()

F = TypeVar("F", bound=Callable)

TOKEN_PREFIX = "kb_"
MIN_PASSWORD_LENGTH = 8


class AuthError(Exception):
    """A user or token operation that cannot be done, with a message for the person asking."""


class UserNotFound(AuthError):
    pass


def init_app(app: Flask) -> None:
    app.before_request(_authenticate_bearer)
    login_manager.init_app(app)
    login_manager.login_view = "account.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.session_protection = "strong"


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    user = get_session().get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.is_active else None


def _authenticate_bearer() -> None:
    """A request that sends a token is that token's user, whatever session cookie it also carries.

    Left to flask-login, a session cookie holding only a CSRF token (a page viewed with the
    token) fails its strong session protection and the token is never looked at.
    """
    secret = bearer_token(request)
    if secret is None:
        return
    user = user_for_token(get_session(), secret)
    g.kb_bearer_auth = user is not None
    login_manager._update_request_context_with_user(user)


@login_manager.unauthorized_handler
def _unauthorized():
    if wants_json():
        return jsonify(error="unauthorized", message="Log in or send 'Authorization: Bearer <token>'."), 401
    return redirect(url_for("account.login", next=request.full_path.rstrip("?")))


def wants_json() -> bool:
    return request.blueprint == "api" or request.path.startswith("/api/")


def bearer_token(req: Request) -> str | None:
    header = req.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def is_bearer_request() -> bool:
    """True when this request authenticated with an API token rather than a session cookie."""
    return bool(g.get("kb_bearer_auth"))


# --- roles -------------------------------------------------------------------------------------


def has_role(user: object, *roles: Role) -> bool:
    """Whether `user` holds one of `roles`; admins hold every role."""
    role = getattr(user, "role", None)
    return bool(getattr(user, "is_authenticated", False)) and (role == Role.ADMIN or role in roles)


def role_required(*roles: Role) -> Callable[[F], F]:
    """Restrict a view to logged-in users with one of `roles` (admins always pass).

    With no roles, any logged-in user passes. Anonymous callers get the login page (HTML) or a
    401 (API); logged-in callers without the role get 403.
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if roles and not has_role(current_user, *roles):
                return forbidden()
            return view(*args, **kwargs)

        wrapped.kb_roles = roles  # read by the route-permission test
        return wrapped  # type: ignore[return-value]

    return decorator


def forbidden():
    from flask import abort

    if wants_json():
        return jsonify(error="forbidden", message="Your role may not do this."), 403
    abort(403)


# --- passwords and users -----------------------------------------------------------------------


def hash_password(password: str) -> str:
    # Werkzeug's default is scrypt with a per-password salt.
    return generate_password_hash(password)


def generate_password() -> str:
    return secrets.token_urlsafe(12)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"Password too short: use at least {MIN_PASSWORD_LENGTH} characters.")


def authenticate(session: Session, username: str, password: str) -> User | None:
    """Return the user for these credentials, or None without saying which part was wrong."""
    user = session.scalar(select(User).where(User.username == username.strip()))
    if user is None or not user.is_active:
        # Spend the same time as a real check so response time does not reveal valid usernames.
        check_password_hash(_dummy_hash(), password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


@cache
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(8))


def find_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise UserNotFound(f"No user named '{username}'.")
    return user


def create_user(session: Session, username: str, role: Role, password: str) -> User:
    username = username.strip()
    if not username or len(username) > 80 or any(c.isspace() for c in username):
        raise AuthError("Username must be 1-80 characters without spaces.")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AuthError(f"A user named '{username}' already exists.")
    check_password_strength(password)
    password_hash = hash_password(password)  # slow on purpose: before the write transaction starts
    begin_write(session)
    user = User(username=username, role=role, password_hash=password_hash)
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError:  # created by someone else a moment ago
        raise AuthError(f"A user named '{username}' already exists.") from None
    return user


def set_password(session: Session, user: User, password: str) -> None:
    check_password_strength(password)
    password_hash = hash_password(password)  # slow on purpose: before the write transaction starts
    begin_write(session)
    user.password_hash = password_hash


# --- API tokens --------------------------------------------------------------------------------


def _digest(secret: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough; a slow KDF would only slow the API.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(session: Session, user: User) -> str:
    """Create an API token for `user` and return its secret; only its hash is stored."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    begin_write(session)
    session.add(ApiToken(user=user, token_hash=_digest(secret), prefix=secret[:10]))
    session.flush()
    return secret


def revoke_tokens(session: Session, user: User) -> int:
    """Revoke every live token of `user`; return how many were revoked."""
    begin_write(session)
    live = [t for t in user.tokens if t.revoked_at is None]
    for token in live:
        token.revoked_at = utcnow()
    session.flush()
    return len(live)


def user_for_token(session: Session, secret: str) -> User | None:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(secret)))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    return token.user
