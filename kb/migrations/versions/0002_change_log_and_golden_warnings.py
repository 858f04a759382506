"""The change log applied by commit, and golden-query warnings recorded after a save.

- `index_events.txid`: on PostgreSQL the id of the transaction that wrote the event, so an index
  can tell a committed event it has not seen from one still in flight (kb.changelog). Events
  written before this revision have none; an index of the old format is rebuilt anyway, because
  the search schema version changed with it.
- `golden_queries.broken_by_id` and `broken_at`: the article whose save pushed the query out of
  the top 3, while it stays out (checks now run after the save's response).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("index_events") as table:
        table.add_column(sa.Column("txid", sa.BigInteger(), nullable=True))
        table.create_index("ix_index_events_txid", ["txid"])
    with op.batch_alter_table("golden_queries") as table:
        table.add_column(
            sa.Column(
                "broken_by_id",
                sa.Integer(),
                # Named: SQLite's table rebuild (batch mode) can only create a named constraint.
                sa.ForeignKey("articles.id", ondelete="SET NULL", name="fk_golden_queries_broken_by_id"),
                nullable=True,
            )
        )
        table.add_column(sa.Column("broken_at", sa.DateTime(timezone=True), nullable=True))
        table.create_index("ix_golden_queries_broken_by_id", ["broken_by_id"])


def downgrade() -> None:
    with op.batch_alter_table("golden_queries") as table:
        table.drop_index("ix_golden_queries_broken_by_id")
        table.drop_column("broken_at")
        table.drop_column("broken_by_id")
    with op.batch_alter_table("index_events") as table:
        table.drop_index("ix_index_events_txid")
        table.drop_column("txid")
