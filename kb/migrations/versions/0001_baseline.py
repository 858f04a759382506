"""Baseline: kb's tables as create_all made them before migrations.

Instances from before migrations are stamped at this revision rather than running it, so it has to
stay identical to what `Base.metadata.create_all` built from kb/models.py at commit 645fb0b: the
same tables, column types and lengths, nullability, indexes, unique constraints and foreign keys
with their ON DELETE. Never edit it; change the schema in a new revision.

Constraints are unnamed because create_all left them unnamed: SQLite keeps them anonymous and
PostgreSQL names them itself (`users_username_key`, `api_tokens_user_id_fkey`, ...). No column has
a server default: every default is applied by the ORM.

Revision ID: 0001
Revises: none (first revision)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Every table this revision creates, referenced tables first. kb.migrations also reads this to
# recognise a database made by create_all before migrations existed.
TABLES = (
    "users",
    "api_tokens",
    "articles",
    "revisions",
    "index_events",
    "feedback",
    "search_logs",
    "synonym_groups",
    "golden_queries",
)


def _label() -> sa.String:
    """A Role, Status or Audience value, stored as its text.

    models.py maps these with `Enum(native_enum=False, length=20)`: a plain VARCHAR(20) with no
    CHECK constraint, so adding a value later needs no migration. The database knows nothing more,
    so neither does this revision.
    """
    return sa.String(20)


def _timestamp() -> sa.DateTime:
    """UTCDateTime's storage: TIMESTAMP WITH TIME ZONE on PostgreSQL, DATETIME on SQLite."""
    return sa.DateTime(timezone=True)


def _user_ref(ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey("users.id", ondelete=ondelete)


def _article_ref() -> sa.ForeignKey:
    return sa.ForeignKey("articles.id", ondelete="CASCADE")


def upgrade() -> None:
    _create_accounts()
    _create_articles()
    _create_search_and_feedback()


def _create_accounts() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("username", sa.String(80), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", _label(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), _user_ref("CASCADE"), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("last_used_at", _timestamp(), nullable=True),
        sa.Column("revoked_at", _timestamp(), nullable=True),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])


def _create_articles() -> None:
    op.create_table(
        "articles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("slug", sa.String(120), nullable=False, unique=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("product", sa.String(120), nullable=False),
        sa.Column("audience", _label(), nullable=False),
        sa.Column("status", _label(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), _user_ref("SET NULL"), nullable=True),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), _user_ref("SET NULL"), nullable=True),
        sa.Column("verified_at", _timestamp(), nullable=True),
    )
    op.create_index("ix_articles_status", "articles", ["status"])
    op.create_table(
        "revisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("article_id", sa.Integer(), _article_ref(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), _user_ref("SET NULL"), nullable=True),
        sa.Column("message", sa.String(500), nullable=False),
        sa.Column("slug", sa.String(120), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("product", sa.String(120), nullable=False),
        sa.Column("audience", _label(), nullable=False),
        sa.Column("status", _label(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.UniqueConstraint("article_id", "number"),
    )
    op.create_index("ix_revisions_article_id", "revisions", ["article_id"])
    # No foreign key on purpose: an event about a deleted article must outlive the article.
    op.create_table(
        "index_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
    )
    op.create_index("ix_index_events_article_id", "index_events", ["article_id"])


def _create_search_and_feedback() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("article_id", sa.Integer(), _article_ref(), nullable=False),
        sa.Column("user_id", sa.Integer(), _user_ref("CASCADE"), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.UniqueConstraint("article_id", "user_id"),
    )
    op.create_index("ix_feedback_article_id", "feedback", ["article_id"])
    op.create_table(
        "search_logs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("episode", sa.String(40), nullable=True, unique=True),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("query", sa.String(500), nullable=False),
        sa.Column("role", _label(), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("results", sa.Integer(), nullable=False),
        sa.Column("opened_slug", sa.String(120), nullable=True),
        sa.Column("opened_at", _timestamp(), nullable=True),
    )
    op.create_index("ix_search_logs_created_at", "search_logs", ["created_at"])
    op.create_table(
        "synonym_groups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), _user_ref("SET NULL"), nullable=True),
    )
    op.create_table(
        "golden_queries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("query", sa.String(500), nullable=False),
        sa.Column("article_id", sa.Integer(), _article_ref(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), _user_ref("SET NULL"), nullable=True),
        sa.Column("last_rank", sa.Integer(), nullable=True),
        sa.Column("last_checked_at", _timestamp(), nullable=True),
        sa.UniqueConstraint("query", "article_id"),
    )
    op.create_index("ix_golden_queries_article_id", "golden_queries", ["article_id"])


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
