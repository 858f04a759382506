"""The `kb` command: a thin click layer over the same services the web app uses.

Every command that can fail raises `click.ClickException` with a message saying what is wrong,
so the exit status is non-zero and no traceback reaches the terminal. Commands live with what
they work on: `instance` (init, serve), `content` (import, export, reindex, search, golden),
`accounts` (user, token), `database` (db upgrade, db current), `operations` (doctor, backup,
restore, prune).
"""

from __future__ import annotations

from flask import Flask
from flask.cli import FlaskGroup, routes_command, shell_command


def register_cli(app: Flask) -> None:
    from kb.cli.accounts import token_group, user_group
    from kb.cli.content import export_command, golden_group, import_command, reindex_command, search_command
    from kb.cli.database import db_group
    from kb.cli.instance import init_command, serve_command, worker_command
    from kb.cli.operations import backup_command, doctor_command, prune_command, restore_command

    commands = (
        init_command,
        serve_command,
        worker_command,
        import_command,
        export_command,
        reindex_command,
        search_command,
        doctor_command,
        backup_command,
        restore_command,
        prune_command,
    )
    for command in (*commands, user_group, token_group, golden_group, db_group):
        app.cli.add_command(command)


def main() -> None:
    from kb import create_app

    group = FlaskGroup(
        create_app=create_app, add_default_commands=False, help="kb: a scriptless agent-assist knowledge base."
    )
    group.add_command(shell_command)
    group.add_command(routes_command)
    group.main(prog_name="kb")
