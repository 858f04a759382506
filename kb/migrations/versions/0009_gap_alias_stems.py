"""The stems of each gap wording, indexed: a new wording finds the wordings sharing a stem with it
without scanning them all. Filled in from the wordings already there.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

STAMP = sa.DateTime(timezone=True)
BATCH = 2_000


def upgrade() -> None:
    stems = op.create_table(
        "gap_alias_stems",
        sa.Column("stem", sa.String(200), primary_key=True),
        sa.Column(
            "signature",
            sa.String(200),
            sa.ForeignKey("gap_aliases.signature", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("gap_id", sa.Integer(), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
    )
    op.create_index("ix_gap_alias_stems_recent", "gap_alias_stems", ["stem", "created_at"])
    aliases = sa.table(
        "gap_aliases",
        sa.column("signature", sa.String),
        sa.column("gap_id", sa.Integer),
        sa.column("created_at", STAMP),
    )
    connection = op.get_bind()
    last = ""
    while True:  # a batch at a time, in signature order: the wordings of years may be many
        rows = connection.execute(
            sa.select(aliases.c.signature, aliases.c.gap_id, aliases.c.created_at)
            .where(aliases.c.signature > last)
            .order_by(aliases.c.signature)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        connection.execute(
            stems.insert(),
            [
                {"stem": stem, "signature": signature, "gap_id": gap_id, "created_at": created_at}
                for signature, gap_id, created_at in rows
                for stem in set(signature.split())
            ],
        )
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_gap_alias_stems_recent", "gap_alias_stems")
    op.drop_table("gap_alias_stems")
