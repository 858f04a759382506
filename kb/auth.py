"""Who is asking and what they may do: passwords, sessions, API tokens and role checks.

A request is authenticated either by the session cookie (flask-login) or by an
`Authorization: Bearer <token>` header; both end up as `current_user`, so every route checks
roles the same way whichever door the caller came through.

A session (and its remember-me cookie) names the user, the user's session generation and when
it began. Raising the generation ends every session issued before, wherever its cookie went: a
password change or reset, logging out and deactivation do so (and the first two and deactivation
also revoke the user's API tokens). A login lasts at most KB_REMEMBER_DAYS, however it is kept.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import cache, wraps
from typing import Any, Callable, Iterable, TypeVar

from flask import Flask, Request, current_app, g, jsonify, redirect, request, url_for
from flask import session as cookie_session
from flask_login import LoginManager, current_user, login_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from kb import learning, tokens
from kb.db import begin_write, get_session
from kb.limits import text_problem
from kb.models import ApiToken, Role, User

login_manager = LoginManager()

F = TypeVar("F", bound=Callable)

TOKEN_PREFIX = tokens.TOKEN_PREFIX
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_CHARS = 1000  # hashing is linear in the length: no pass phrase needs more
MAX_USERNAME_CHARS = 80
MAX_DATABASE_ID = 2**31 - 1


class AuthError(Exception):
    """A user or token operation that cannot be done, with a message for the person asking.

    `field` names the input that is wrong, when one is.
    """

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class UserNotFound(AuthError):
    pass


def init_app(app: Flask) -> None:
    app.config["REMEMBER_COOKIE_DURATION"] = login_lifetime(app)
    app.before_request(_authenticate_bearer)
    login_manager.init_app(app)
    login_manager.login_view = "account.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.session_protection = "strong"


def login_lifetime(app: Flask) -> timedelta:
    """How long a login lasts (KB_REMEMBER_DAYS): the remember-me cookie's life, enforced here too."""
    days = app.config.get("REMEMBER_DAYS", 30)
    try:
        lifetime = timedelta(days=float(days))
    except (TypeError, ValueError, OverflowError):
        lifetime = timedelta(0)
    if lifetime <= timedelta(0):
        raise ValueError(f"KB_REMEMBER_DAYS must be a positive number of days, not {days!r}.")
    return lifetime


# --- sessions ----------------------------------------------------------------------------------


@login_manager.user_loader
def _load_user(identity: str) -> User | None:
    """The user a session or remember-me cookie names, if that session has not ended.

    `identity` is "<user id>:<session generation>:<unix time of the login>", signed by Flask (the
    session) or flask-login (the remember cookie). Sessions from before generations existed
    hold only the id, and end.
    """
    parts = identity.split(":")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts):
        return None
    user_id, generation, began = (int(p) for p in parts)
    lifetime = current_app.config["REMEMBER_COOKIE_DURATION"].total_seconds()
    if user_id > MAX_DATABASE_ID or time.time() - began > lifetime:
        return None
    user = get_session().get(User, user_id)
    if user is None or not user.is_active or user.session_generation != generation:
        return None
    return user


def log_in(user: User, *, remember: bool = False) -> None:
    """Start a session for `user` in this browser (and a remember-me cookie when asked)."""
    login_user(user, remember=remember)
    cookie_session["_user_id"] = f"{user.get_id()}:{int(time.time())}"


def end_sessions(session: Session, user: User) -> None:
    """End every session and remember-me cookie of `user`, in the caller's write transaction.

    Raised in SQL, so two ends at once both count; the attribute reloads on next access.
    """
    begin_write(session)
    user.session_generation = User.session_generation + 1  # type: ignore[assignment]
    session.flush()


def stay_logged_in(user: User) -> None:
    """After `user`'s sessions ended, keep this browser logged in with a new one, if it is theirs.

    The person who changed their own password should not have to log in again; every other
    browser and every copy of their cookies should. A token caller has no session to keep.
    """
    if is_bearer_request() or not current_user.is_authenticated or current_user.id != user.id:
        return
    remember_cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    log_in(user, remember=remember_cookie in request.cookies)


def _authenticate_bearer() -> None:
    """A request that sends a token is that token's user, whatever session cookie it also carries.

    Left to flask-login, a session cookie holding only a CSRF token (a page viewed with the
    token) fails its strong session protection and the token is never looked at.
    """
    secret = bearer_token(request)
    if secret is None:
        return
    token = tokens.token_for_secret(get_session(), secret)
    g.kb_bearer_auth = token is not None
    g.kb_token = token  # held, so this request's session keeps the object record_use updates
    login_manager._update_request_context_with_user(token.user if token else None)
    if token is not None:
        tokens.record_use(current_app.extensions["kb.engine"], token)


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
    held = getattr(user, "roles", frozenset())
    return bool(getattr(user, "is_authenticated", False)) and (Role.ADMIN in held or not held.isdisjoint(roles))


# Which role a user's `role` column holds when they hold several: the one that reads the most
# articles (kb.store.VISIBLE_STATUSES), so that reading needs no more than that column.
ROLE_STRENGTH = {Role.AGENT: 0, Role.TRAINER: 1, Role.AUTHOR: 2, Role.ADMIN: 3}


def arrange_roles(roles: Iterable[Role]) -> tuple[Role, list[str]]:
    """The strongest of `roles` and the others as stored in `extra_roles` (every user is an agent)."""
    held = set(roles) or {Role.AGENT}
    strongest = max(held, key=ROLE_STRENGTH.__getitem__)
    if strongest == Role.ADMIN:
        return strongest, []
    return strongest, sorted(r.value for r in held - {strongest, Role.AGENT})


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


def check_text(value: Any, field: str, *, max_chars: int) -> str:
    """`value` if it is text kb can store and compare (kb.limits), else AuthError naming `field`."""
    problem = text_problem(value, max_chars=max_chars)
    if problem:
        raise AuthError(f"{field} {problem}.", field=field)
    return value


def check_password_strength(password: Any, field: str = "password") -> None:
    check_text(password, field, max_chars=MAX_PASSWORD_CHARS)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"Password too short: use at least {MIN_PASSWORD_LENGTH} characters.", field=field)


def authenticate(session: Session, username: Any, password: Any) -> User | None:
    """Return the user for these credentials, or None without saying which part was wrong.

    Text that no account can hold (a control character, a lone surrogate) is an AuthError
    naming the field instead: it says nothing about any account.
    """
    username = check_text(username, "username", max_chars=MAX_PASSWORD_CHARS).strip()
    check_text(password, "password", max_chars=MAX_PASSWORD_CHARS)
    user = session.scalar(select(User).where(User.username == username)) if username else None
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


def create_user(session: Session, username: Any, role: Role, password: Any, *, also: Iterable[Role] = ()) -> User:
    """Create an account holding `role` (and the roles in `also`), with the onboarding paths of its role."""
    username = check_text(username, "username", max_chars=MAX_USERNAME_CHARS).strip()
    if not username or any(c.isspace() for c in username):
        raise AuthError(f"Username must be 1-{MAX_USERNAME_CHARS} characters without spaces.", field="username")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AuthError(f"A user named '{username}' already exists.", field="username")
    check_password_strength(password)
    password_hash = hash_password(password)  # slow on purpose: before the write transaction starts
    begin_write(session)
    role, extra = arrange_roles([role, *also])
    user = User(username=username, role=role, extra_roles=extra, password_hash=password_hash)
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError:  # created by someone else a moment ago
        raise AuthError(f"A user named '{username}' already exists.", field="username") from None
    learning.assign_onboarding(session, user)
    return user


def set_password(session: Session, user: User, password: str) -> int:
    """Set `user`'s password, end their sessions and revoke their tokens; return how many tokens.

    Whoever knew the old password may have logged in or made a token with it: a new password
    that left those working would not lock them out. The caller keeps its own browser logged in
    with `stay_logged_in`.
    """
    check_password_strength(password)
    password_hash = hash_password(password)  # slow on purpose: before the write transaction starts
    begin_write(session)
    user.password_hash = password_hash
    end_sessions(session, user)
    return tokens.revoke_tokens(session, user)


def change_own_password(session: Session, user: User, current: Any, new: Any, confirm: Any = None) -> int:
    """Change `user`'s password, proven by the current one; return how many tokens were revoked.

    The account page and the API both come here; `confirm` is the page's second copy.
    """
    check_text(current, "current", max_chars=MAX_PASSWORD_CHARS)
    if authenticate(session, user.username, current) is None:
        raise AuthError("Your current password is not right.", field="current")
    check_password_strength(new, "new")
    if confirm is not None and new != confirm:
        raise AuthError("The two new passwords differ.", field="confirm")
    return set_password(session, user, new)


def ended_access(revoked: int) -> str:
    """What ending a user's access did, in the words the pages and the API use."""
    return f"sessions ended, {revoked} API token{'' if revoked == 1 else 's'} revoked"


def role_named(value: object, field: str = "role") -> Role:
    """The role called `value`, or AuthError naming `field` and the roles there are."""
    try:
        return Role(value)
    except (ValueError, TypeError):
        roles = ", ".join(r.value for r in Role)
        raise AuthError(f"Unknown role {str(value)[:40]!r}: use one of {roles}.", field=field) from None


def roles_named(values: object, field: str = "roles") -> list[Role]:
    """The roles in the list `values` (["author", "trainer"]), or AuthError naming `field`."""
    if not isinstance(values, list) or not values:
        raise AuthError('Give a list of one or more roles, such as ["author", "trainer"].', field=field)
    return [role_named(value, field) for value in values]


@dataclass(frozen=True)
class UserChange:
    """What an admin asks to change about a user, already parsed: None (or "") leaves it as it is."""

    role: Role | None = None
    active: bool | None = None
    password: str | None = None
    roles: tuple[Role, ...] | None = None  # every role the user is to hold; replaces `role` when given


def change_user(session: Session, actor: User, user: User, change: UserChange) -> str:
    """Apply an admin's change to `user`; return what was done, for the admin to read.

    The guards look at the parsed values, so no spelling of "false" slips past them: an admin
    cannot demote or deactivate themself, and kb always keeps one active admin.
    """
    if change.roles is not None:
        change = replace(change, role=arrange_roles(change.roles)[0])
    demotes = change.role not in (None, Role.ADMIN) or change.active is False
    if demotes and user.id == actor.id:
        field = "active" if change.active is False else "role"
        raise AuthError("You cannot remove your own admin role or deactivate yourself.", field=field)
    done = []
    if change.password:
        done.append(f"password changed ({ended_access(set_password(session, user, change.password))})")
    begin_write(session)
    if demotes:
        _keep_an_admin(session, user)
    _change_roles(user, change, done)
    if change.active is not None and change.active != user.is_active:
        user.is_active = change.active
        if change.active:
            done.append("active again")
        else:
            end_sessions(session, user)
            done.append(f"deactivated ({ended_access(tokens.revoke_tokens(session, user))})")
    return f"{user.username}: " + ("; ".join(done) if done else "nothing changed")


def _change_roles(user: User, change: UserChange, done: list[str]) -> None:
    if change.roles is not None:
        role, extra = arrange_roles(change.roles)
    elif change.role is not None:
        role, extra = arrange_roles([change.role])  # one role named: the user holds that one only
    else:
        return
    if (role, extra) != (user.role, list(user.extra_roles or ())):
        user.role, user.extra_roles = role, extra
        done.append("role " + " + ".join([role.value, *extra]))


def _keep_an_admin(session: Session, leaving: User) -> None:
    """Refuse to leave kb without an active admin once `leaving` is no longer one.

    Sequentially the admin making the change is one, so this guards against races: the other
    admins' rows are locked (PostgreSQL; SQLite's write transaction already excludes every other
    writer), so two admins demoting each other at once cannot both succeed.
    """
    others = select(User.id).where(User.role == Role.ADMIN, User.is_active.is_(True), User.id != leaving.id)
    if not session.scalars(others.with_for_update()).first():
        raise AuthError(f"{leaving.username} is the last active admin: make someone else admin first.")


# --- API tokens (kb.tokens) ---------------------------------------------------------------------


def create_token(session: Session, user: User, name: str = "") -> str:
    """Create an API token for `user` and return its secret; only its hash is stored."""
    return tokens.issue_token(session, user, name).secret


def revoke_tokens(session: Session, user: User) -> int:
    """Revoke every live token of `user`; return how many were revoked."""
    return tokens.revoke_tokens(session, user)


def user_for_token(session: Session, secret: str) -> User | None:
    token: ApiToken | None = tokens.token_for_secret(session, secret)
    return token.user if token else None
