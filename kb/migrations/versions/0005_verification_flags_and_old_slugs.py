"""Knowledge that expires, agents' flags, and the old addresses of renamed articles.

- `articles.owner_id`, `review_by`, `verified_by_id`: who answers for the article, when it is due
  a check, and who last checked it (kb.verification). Existing articles get their creator as owner
  and, when published, a review date 180 days after their last check or, never checked, their
  last update: an article nobody looked at for a long time shows as overdue at once, which it is.
- `flags`: agents' flags and how they were resolved (kb.flags).
- `slug_aliases`: slugs an article had before a rename, so its old addresses still lead to it.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

STAMP = sa.DateTime(timezone=True)
DEFAULT_REVIEW_DAYS = 180


def upgrade() -> None:
    with op.batch_alter_table("articles") as table:
        table.add_column(sa.Column("verified_by_id", sa.Integer(), nullable=True))
        table.add_column(sa.Column("owner_id", sa.Integer(), nullable=True))
        table.add_column(sa.Column("review_by", STAMP, nullable=True))
        table.create_foreign_key("fk_articles_verified_by_id", "users", ["verified_by_id"], ["id"], ondelete="SET NULL")
        table.create_foreign_key("fk_articles_owner_id", "users", ["owner_id"], ["id"], ondelete="SET NULL")
        table.create_index("ix_articles_owner_id", ["owner_id"])
        table.create_index("ix_articles_review_by", ["review_by"])
    _fill_in(op.get_bind())
    op.create_table(
        "flags",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("article_id", sa.Integer(), sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column(
            "reason",
            sa.Enum("wrong", "outdated", "unclear", "missing", name="flagreason", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("resolved_at", STAMP, nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("fixed_in", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=False),
    )
    op.create_index("ix_flags_article_id", "flags", ["article_id"])
    op.create_index("ix_flags_user_id", "flags", ["user_id"])
    op.create_index("ix_flags_resolved_at", "flags", ["resolved_at"])
    op.create_table(
        "slug_aliases",
        sa.Column("slug", sa.String(120), primary_key=True),
        sa.Column("article_id", sa.Integer(), sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
    )
    op.create_index("ix_slug_aliases_article_id", "slug_aliases", ["article_id"])


def _fill_in(connection: sa.Connection) -> None:
    articles = sa.table(
        "articles",
        sa.column("id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("created_by_id", sa.Integer),
        sa.column("owner_id", sa.Integer),
        sa.column("updated_at", STAMP),
        sa.column("verified_at", STAMP),
        sa.column("review_by", STAMP),
    )
    connection.execute(articles.update().values(owner_id=articles.c.created_by_id))
    rows = connection.execute(
        sa.select(articles.c.id, articles.c.updated_at, articles.c.verified_at).where(articles.c.status == "published")
    ).all()
    for article_id, updated_at, verified_at in rows:
        checked = verified_at or updated_at
        connection.execute(
            articles.update()
            .where(articles.c.id == article_id)
            .values(review_by=checked + timedelta(days=DEFAULT_REVIEW_DAYS) if checked else None)
        )


def downgrade() -> None:
    op.drop_index("ix_slug_aliases_article_id", "slug_aliases")
    op.drop_table("slug_aliases")
    op.drop_index("ix_flags_resolved_at", "flags")
    op.drop_index("ix_flags_user_id", "flags")
    op.drop_index("ix_flags_article_id", "flags")
    op.drop_table("flags")
    with op.batch_alter_table("articles") as table:
        table.drop_index("ix_articles_review_by")
        table.drop_index("ix_articles_owner_id")
        table.drop_constraint("fk_articles_owner_id", type_="foreignkey")
        table.drop_constraint("fk_articles_verified_by_id", type_="foreignkey")
        table.drop_column("review_by")
        table.drop_column("owner_id")
        table.drop_column("verified_by_id")
