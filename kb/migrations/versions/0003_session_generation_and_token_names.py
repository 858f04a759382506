"""Sessions that can be ended, and API tokens with a name.

- `users.session_generation`: raised when every session of the user must end (a password change
  or reset, logging out, deactivation). Sessions and remember-me cookies carry the generation they
  were issued in, so a copied cookie stops working the moment it is raised (kb.auth). Existing
  users start at 0; sessions from before this revision carry no generation and end once.
- `api_tokens.name`: what the owner uses the token for, shown where tokens are listed and revoked.

Both columns get a server default only while existing rows are filled in, then lose it: every
default is applied by the ORM (see the baseline revision).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as table:
        table.add_column(sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("api_tokens") as table:
        table.add_column(sa.Column("name", sa.String(80), nullable=False, server_default=""))
    with op.batch_alter_table("users") as table:
        table.alter_column("session_generation", server_default=None)
    with op.batch_alter_table("api_tokens") as table:
        table.alter_column("name", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as table:
        table.drop_column("name")
    with op.batch_alter_table("users") as table:
        table.drop_column("session_generation")
