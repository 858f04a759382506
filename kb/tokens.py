"""API tokens: issued to a user, listed and revoked one by one, and recognised from their secret.

A token is 256 random bits shown once; only its SHA-256 and a short prefix (to recognise it by in
a list) are stored. A token works while it is not revoked and its user is active. Every way a
user's access should end (a password change or reset, deactivation) revokes their tokens here.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from kb.db import begin_write, utcnow
from kb.limits import text_problem
from kb.models import ApiToken, User

log = logging.getLogger(__name__)

TOKEN_PREFIX = "kb_"
PREFIX_LENGTH = 10  # "kb_" and 7 characters of the secret: enough to tell a user's tokens apart
MAX_NAME_CHARS = 80
# `last_used_at` is a hint for people deciding what to revoke, not an audit log: writing it on
# every request would make every token call a write.
USE_RECORDED_EVERY = timedelta(minutes=1)


class TokenError(Exception):
    """A token operation that cannot be done, with a message for the person asking."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class TokenNotFound(TokenError):
    pass


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown to its owner this once


def _digest(secret: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough; a slow KDF would only slow the API.
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def check_name(name: object) -> str:
    problem = text_problem(name, max_chars=MAX_NAME_CHARS)
    if problem:
        raise TokenError(f"name {problem}.", field="name")
    return str(name).strip()


def issue_token(session: Session, user: User, name: str = "") -> IssuedToken:
    """Create an API token for `user`; only its hash is stored."""
    name = check_name(name)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    begin_write(session)
    token = ApiToken(user=user, token_hash=_digest(secret), prefix=secret[:PREFIX_LENGTH], name=name)
    session.add(token)
    session.flush()
    return IssuedToken(token, secret)


def live_tokens(session: Session, user: User) -> list[ApiToken]:
    """The user's tokens that still work, oldest first."""
    return list(
        session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at, ApiToken.id)
        )
    )


def revoke_token(session: Session, user: User, token_id: int) -> ApiToken:
    """Revoke one of `user`'s live tokens; another user's token is as unknown as a missing one."""
    begin_write(session)
    token = session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    )
    if token is None:
        raise TokenNotFound(f"You have no API token {token_id} that is not already revoked.")
    token.revoked_at = utcnow()
    session.flush()
    return token


def revoke_tokens(session: Session, user: User) -> int:
    """Revoke every live token of `user`; return how many were revoked."""
    begin_write(session)
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount or 0


def token_for_secret(session: Session, secret: str) -> ApiToken | None:
    """The live token of an active user that `secret` is, or None."""
    # With its user in the same query: every API request asks, a helpdesk tool on every keystroke.
    query = select(ApiToken).options(joinedload(ApiToken.user)).where(ApiToken.token_hash == _digest(secret))
    token = session.scalar(query)
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    return token


def record_use(engine: Engine, token: ApiToken) -> None:
    """Note that `token` was used now, at most once per USE_RECORDED_EVERY.

    Its own short transaction, so the caller's unit of work stays a read; the WHERE makes two
    requests with the same token at once write it once, the other updating no row. Best effort:
    a database too busy to take the write does not fail the request the token authenticated.
    """
    now = utcnow()
    stale = now - USE_RECORDED_EVERY
    if token.last_used_at is not None and token.last_used_at > stale:
        return
    statement = (
        update(ApiToken)
        .where(ApiToken.id == token.id, or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < stale))
        .values(last_used_at=now)
    )
    try:
        with engine.begin() as connection:
            connection.execute(statement)
    except OperationalError as exc:
        log.warning("Could not record the use of API token %s: %s", token.prefix, exc.orig)
        return
    # What this request shows agrees with what was written, without making its session a writer.
    set_committed_value(token, "last_used_at", now)
