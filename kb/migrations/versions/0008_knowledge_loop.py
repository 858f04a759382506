"""The knowledge loop: calls linked to articles, knowledge gaps (with the searches, calls and votes
that point at them), root fixes and their history; a comment on "not helpful" votes; an index
that answers a time range of the search log by itself.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

STAMP = sa.DateTime(timezone=True)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=20)


def _fk(name: str, table: str, ondelete: str = "SET NULL", nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.Integer(), sa.ForeignKey(f"{table}.id", ondelete=ondelete), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "gaps",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        sa.Column("state", _enum("gapstate", "open", "closed", "dismissed"), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("closed_at", STAMP, nullable=True),
        _fk("closed_by_id", "users"),
        _fk("article_id", "articles"),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_gaps_state", "gaps", ["state"])
    op.create_index("ix_gaps_article_id", "gaps", ["article_id"])
    op.create_table(
        "gap_aliases",
        sa.Column("signature", sa.String(200), primary_key=True),
        _fk("gap_id", "gaps", "CASCADE", nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
    )
    op.create_index("ix_gap_aliases_gap_id", "gap_aliases", ["gap_id"])
    _calls()
    _root_fixes()
    _gap_columns()


def _calls() -> None:
    op.create_table(
        "calls",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", STAMP, nullable=False),
        _fk("user_id", "users"),
        _fk("article_id", "articles"),
        sa.Column("outcome", _enum("outcome", "solved", "partly", "not_solved", "no_article"), nullable=False),
        sa.Column("case_ref", sa.String(120), nullable=False),
        sa.Column("words", sa.String(500), nullable=False),
        _fk("gap_id", "gaps"),
    )
    for column in ("created_at", "user_id", "article_id", "gap_id"):
        op.create_index(f"ix_calls_{column}", "calls", [column])


def _root_fixes() -> None:
    op.create_table(
        "root_fixes",
        sa.Column("article_id", sa.Integer(), sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("cause", sa.String(60), nullable=False),
        sa.Column("fix", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(120), nullable=False),
        sa.Column("status", _enum("fixstatus", "proposed", "accepted", "fixed", "wont_fix"), nullable=False),
        sa.Column("link", sa.String(500), nullable=False),
        sa.Column("fixed_at", STAMP, nullable=True),
        sa.Column("resolved_at", STAMP, nullable=True),
        sa.Column("updated_at", STAMP, nullable=False),
        _fk("updated_by_id", "users"),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_table(
        "root_fix_changes",
        sa.Column("id", sa.Integer(), primary_key=True),
        _fk("article_id", "articles", "CASCADE", nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        _fk("created_by_id", "users"),
        sa.Column("snapshot", sa.JSON(), nullable=False),
    )
    op.create_index("ix_root_fix_changes_article_id", "root_fix_changes", ["article_id"])


WINDOW = ["created_at", "gap_id", "results", "opened_slug", "episode"]


def _gap_columns() -> None:
    with op.batch_alter_table("search_logs") as table:
        table.add_column(sa.Column("gap_id", sa.Integer(), nullable=True))
        table.create_foreign_key("fk_search_logs_gap_id", "gaps", ["gap_id"], ["id"], ondelete="SET NULL")
        table.create_index("ix_search_logs_gap_id", ["gap_id"])
        # A time range of the log read from the index alone (kb.loop.insights, kb.loop.gaps).
        table.drop_index("ix_search_logs_created_at")
        table.create_index("ix_search_logs_window", WINDOW)
    with op.batch_alter_table("feedback") as table:
        table.add_column(sa.Column("comment", sa.Text(), nullable=False, server_default=""))
        table.add_column(sa.Column("gap_id", sa.Integer(), nullable=True))
        table.create_foreign_key("fk_feedback_gap_id", "gaps", ["gap_id"], ["id"], ondelete="SET NULL")
        table.create_index("ix_feedback_gap_id", ["gap_id"])


def downgrade() -> None:
    with op.batch_alter_table("feedback") as table:
        table.drop_index("ix_feedback_gap_id")
        table.drop_constraint("fk_feedback_gap_id", type_="foreignkey")
        table.drop_column("gap_id")
        table.drop_column("comment")
    with op.batch_alter_table("search_logs") as table:
        table.drop_index("ix_search_logs_window")
        table.create_index("ix_search_logs_created_at", ["created_at"])
        table.drop_index("ix_search_logs_gap_id")
        table.drop_constraint("fk_search_logs_gap_id", type_="foreignkey")
        table.drop_column("gap_id")
    op.drop_index("ix_root_fix_changes_article_id", "root_fix_changes")
    op.drop_table("root_fix_changes")
    op.drop_table("root_fixes")
    for column in ("created_at", "user_id", "article_id", "gap_id"):
        op.drop_index(f"ix_calls_{column}", "calls")
    op.drop_table("calls")
    op.drop_index("ix_gap_aliases_gap_id", "gap_aliases")
    op.drop_table("gap_aliases")
    op.drop_index("ix_gaps_article_id", "gaps")
    op.drop_index("ix_gaps_state", "gaps")
    op.drop_table("gaps")
