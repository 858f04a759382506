"""Accounts: `kb user` and `kb token`."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from kb import auth
from kb.cli.instance import ensure_database
from kb.db import get_session
from kb.models import Role, User


@click.group("user")
def user_group() -> None:
    """Manage user accounts."""


@user_group.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--password", help="The password (generated and printed when omitted).")
@with_appcontext
def user_add(username: str, role: str, password: str | None) -> None:
    """Create a user."""
    ensure_database()
    session = get_session()
    chosen = password or auth.generate_password()
    try:
        auth.create_user(session, username, Role(role), chosen)
    except auth.AuthError as exc:
        raise click.ClickException(str(exc)) from None
    session.commit()
    click.echo(f"Created {role} '{username}'.")
    if password is None:
        click.echo(f"Password: {chosen}")


@user_group.command("list")
@with_appcontext
def user_list() -> None:
    """List users and their roles."""
    ensure_database()
    for user in get_session().scalars(select(User).order_by(User.username)):
        state = "" if user.is_active else "  (deactivated)"
        click.echo(f"{user.username:<24} {user.role.value}{state}")


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
        auth.set_password(session, user, password)
    except auth.AuthError as exc:
        raise click.ClickException(str(exc)) from None
    session.commit()
    click.echo(f"Password of '{username}' changed.")
    if generate:
        click.echo(f"Password: {password}")


@click.group("token")
def token_group() -> None:
    """Manage API tokens (for helpdesk tools that embed kb)."""


@token_group.command("create")
@click.argument("username")
@with_appcontext
def token_create(username: str) -> None:
    """Create an API token for USERNAME; it is printed once, on the last line."""
    session = get_session()
    user = _existing_user(username)
    secret = auth.create_token(session, user)
    session.commit()
    click.echo(f"Token for '{username}' ({user.role.value}). Store it now: it cannot be shown again.")
    click.echo(secret)


@token_group.command("revoke")
@click.argument("username")
@with_appcontext
def token_revoke(username: str) -> None:
    """Revoke every API token of USERNAME."""
    session = get_session()
    user = _existing_user(username)
    count = auth.revoke_tokens(session, user)
    session.commit()
    click.echo(f"Revoked {count} token(s) of '{username}'.")


def _existing_user(username: str) -> User:
    ensure_database()
    try:
        return auth.find_user(get_session(), username)
    except auth.AuthError as exc:
        raise click.ClickException(str(exc)) from None
