"""Alembic's entry point for kb: run the revisions on the connection kb hands over.

kb configures Alembic in code (`kb.migrations.alembic_config`) and always passes a connection that
is already inside the transaction and lock serializing upgrades, so there is no alembic.ini, no
database URL here and no offline (`--sql`) mode. Alembic then leaves the commit to kb.
"""

from __future__ import annotations

from alembic import context

from kb import models  # noqa: F401  (registers the tables on Base.metadata)
from kb.db import Base


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if connection is None or context.is_offline_mode():
        raise RuntimeError("kb's migrations run through kb with an open connection: use `kb db upgrade`")
    context.configure(
        connection=connection,
        # Compared against by autogenerate; tests/test_migrations.py checks the two agree.
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things: autogenerate then writes batch operations, which
        # rebuild the table on SQLite and are plain ALTERs on PostgreSQL.
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
