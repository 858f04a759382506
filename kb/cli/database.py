"""The database schema from the command line: `kb db upgrade` and `kb db current`.

`kb serve`, `kb init` and every command that uses the database upgrade it first (through
`ensure_database`), so `kb db upgrade` is for doing it on purpose: before starting several servers,
or to see what an upgrade did.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from kb import migrations
from kb.db import create_schema


def upgrade_database() -> migrations.Upgrade:
    """Bring the app's database to the newest revision; a database kb cannot upgrade is a ClickException."""
    try:
        return create_schema(current_app)
    except migrations.SchemaError as exc:
        raise click.ClickException(str(exc)) from None


def describe_upgrade(result: migrations.Upgrade) -> str:
    after = migrations.describe_revision(result.after)
    if result.stamped_legacy:
        done = f"then upgraded it to {after}" if result.after != migrations.BASELINE else "which is the newest"
        return f"Found tables from before kb had migrations: recorded them at {migrations.BASELINE}, {done}."
    if result.before is None:
        return f"Created the schema in an empty database: now at {after}."
    if result.before != result.after:
        return f"Upgraded the database from {result.before} to {after}."
    return f"The database is already at {after}: nothing to do."


@click.group("db")
def db_group() -> None:
    """The database schema: upgrade it, or show its revision."""


@db_group.command("upgrade")
@with_appcontext
def upgrade_command() -> None:
    """Apply the schema migrations this kb has and the database lacks (safe to repeat)."""
    click.echo(describe_upgrade(upgrade_database()))


@db_group.command("current")
@with_appcontext
def current_command() -> None:
    """Show the database's schema revision and whether it is the newest."""
    try:
        state = migrations.inspect_schema(current_app.extensions["kb.engine"])
    except migrations.SchemaError as exc:
        raise click.ClickException(str(exc)) from None
    if state.is_up_to_date:
        click.echo(f"{migrations.describe_revision(state.current)}: the newest.")
    elif state.is_legacy:
        click.echo(
            f"None: tables from before kb had migrations. `kb db upgrade` records them at {migrations.BASELINE}."
        )
    elif state.current is None:
        click.echo("None: the database is empty. `kb db upgrade` creates the schema.")
    else:
        click.echo(f"{migrations.describe_revision(state.current)}; the newest is {state.head}: run `kb db upgrade`.")
