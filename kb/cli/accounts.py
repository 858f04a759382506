"""Accounts: `kb user` and `kb token`."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from kb import auth, tokens
from kb.cli.instance import ensure_database
from kb.db import get_session
from kb.models import Role, User


@click.group("user")
def user_group() -> None:
    """Manage user accounts."""


@user_group.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--also", multiple=True, type=click.Choice([r.value for r in Role]), help="A further role (repeatable).")
@click.option("--password", help="The password (generated and printed when omitted).")
@with_appcontext
def user_add(username: str, role: str, also: tuple[str, ...], password: str | None) -> None:
    """Create a user (an author who also trains: --role author --also trainer)."""
    ensure_database()
    session = get_session()
    chosen = password or auth.generate_password()
    try:
        user = auth.create_user(session, username, Role(role), chosen, also=[Role(r) for r in also])
    except auth.AuthError as exc:
        raise click.ClickException(str(exc)) from None
    session.commit()
    click.echo(f"Created {' + '.join([user.role.value, *user.extra_roles])} '{username}'.")
    if password is None:
        click.echo(f"Password: {chosen}")


@user_group.command("list")
@with_appcontext
def user_list() -> None:
    """List users and their roles."""
    ensure_database()
    for user in get_session().scalars(select(User).order_by(User.username)):
        state = "" if user.is_active else "  (deactivated)"
        click.echo(f"{user.username:<24} {' + '.join([user.role.value, *user.extra_roles])}{state}")


@user_group.command("passwd")
@click.argument("username")
@click.option("--password", help="The new password (prompted for when omitted; generated with --generate).")
@click.option("--generate", is_flag=True, help="Generate a password and print it.")
@with_appcontext
def user_passwd(username: str, password: str | None, generate: bool) -> None:
    """Set a user's password."""
    ensure_database()
    session = get_session()
    try:
        user = auth.find_user(session, username)
        if generate:
            password = auth.generate_password()
        elif password is None:
            password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
        revoked = auth.set_password(session, user, password)
    except auth.AuthError as exc:
        raise click.ClickException(str(exc)) from None
    session.commit()
    click.echo(f"Password of '{username}' changed: {auth.ended_access(revoked)}.")
    if generate:
        click.echo(f"Password: {password}")


@click.group("token")
def token_group() -> None:
    """Manage API tokens (for helpdesk tools that embed kb)."""


@token_group.command("create")
@click.argument("username")
@click.option("--name", default="", help="What the token is for (shown where tokens are listed).")
@with_appcontext
def token_create(username: str, name: str) -> None:
    """Create an API token for USERNAME; it is printed once, on the last line."""
    session = get_session()
    user = _existing_user(username)
    try:
        issued = tokens.issue_token(session, user, name)
    except tokens.TokenError as exc:
        raise click.ClickException(str(exc)) from None
    session.commit()
    click.echo(f"Token {issued.token.id} for '{username}' ({user.role.value}). Store it now: it cannot be shown again.")
    click.echo(issued.secret)


@token_group.command("list")
@click.argument("username")
@with_appcontext
def token_list(username: str) -> None:
    """List the API tokens of USERNAME that still work."""
    listed = tokens.live_tokens(get_session(), _existing_user(username))
    for token in listed:
        used = token.last_used_at.strftime("%Y-%m-%d %H:%M") if token.last_used_at else "never"
        created = token.created_at.strftime("%Y-%m-%d %H:%M")
        click.echo(f"{token.id:>6}  {token.prefix}…  created {created}  last used {used}  {token.name}".rstrip())
    if not listed:
        click.echo(f"'{username}' has no API tokens.")


@token_group.command("revoke")
@click.argument("username")
@click.option(
    "--id",
    "token_id",
    type=click.IntRange(1, auth.MAX_DATABASE_ID),
    help="Revoke only this token (see `kb token list`).",
)
@with_appcontext
def token_revoke(username: str, token_id: int | None) -> None:
    """Revoke the API tokens of USERNAME: every one, or the one given with --id."""
    session = get_session()
    user = _existing_user(username)
    if token_id is None:
        count = tokens.revoke_tokens(session, user)
        session.commit()
        click.echo(f"Revoked {count} token(s) of '{username}'.")
        return
    try:
        token = tokens.revoke_token(session, user, token_id)
    except tokens.TokenNotFound:
        raise click.ClickException(f"'{username}' has no API token {token_id} that is not already revoked.") from None
    session.commit()
    click.echo(f"Revoked token {token.id} ({token.prefix}…) of '{username}'.")


def _existing_user(username: str) -> User:
    ensure_database()
    try:
        return auth.find_user(get_session(), username)
    except auth.AuthError as exc:
        raise click.ClickException(str(exc)) from None
