"""Links between articles, the content checks' score and admins' settings.

- `article_links`: one row per article an article's current text links to (kb.links), kept by
  every save, for the broken-links report and the checks.
- `articles.quality`: the content checks' score (kb.checks) as of the last save, for lists.
- `settings`: values admins change in the UI (kb.settings), each with a version so that two
  admins saving at once cannot overwrite each other.

Existing articles are filled in here from their current bodies with kb's own link reader and
checks: both read the Markdown source line by line, with no rendering, so this takes seconds
even for tens of thousands of articles.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kb import checks

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BATCH = 500


def upgrade() -> None:
    op.create_table(
        "article_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("article_id", sa.Integer(), sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("target_slug", sa.String(120), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.UniqueConstraint("article_id", "target_slug"),
    )
    op.create_index("ix_article_links_article_id", "article_links", ["article_id"])
    op.create_index("ix_article_links_target_slug", "article_links", ["target_slug"])
    with op.batch_alter_table("articles") as table:
        table.add_column(sa.Column("quality", sa.Integer(), nullable=True))
    op.create_table(
        "settings",
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    _fill_in(op.get_bind())


def _fill_in(connection: sa.Connection) -> None:
    articles = sa.table("articles", sa.column("id", sa.Integer), sa.column("body", sa.Text), sa.column("quality"))
    links = sa.table("article_links", sa.column("article_id"), sa.column("target_slug"), sa.column("line"))
    last = 0
    while True:
        rows = connection.execute(
            sa.select(articles.c.id, articles.c.body).where(articles.c.id > last).order_by(articles.c.id).limit(BATCH)
        ).all()
        if not rows:
            return
        found = []
        for article_id, body in rows:
            body = body or ""
            connection.execute(
                articles.update().where(articles.c.id == article_id).values(quality=checks.check(body).score)
            )
            found += [
                {"article_id": article_id, "target_slug": slug[:120], "line": line}
                for slug, line in checks.linked_slugs(body)
            ]
        if found:
            connection.execute(links.insert(), found)
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_table("settings")
    with op.batch_alter_table("articles") as table:
        table.drop_column("quality")
    op.drop_index("ix_article_links_target_slug", "article_links")
    op.drop_index("ix_article_links_article_id", "article_links")
    op.drop_table("article_links")
