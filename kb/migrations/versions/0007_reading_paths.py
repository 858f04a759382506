"""Reading paths: paths and steps, their revisions, teams, assignments and readers' progress; users
may hold more than one role (an author who is also a trainer).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

STAMP = sa.DateTime(timezone=True)
ROLE = sa.Enum("agent", "author", "trainer", "admin", name="role", native_enum=False, length=20)


def _user(name: str, ondelete: str = "SET NULL", nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.Integer(), sa.ForeignKey("users.id", ondelete=ondelete), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("users") as table:
        table.add_column(sa.Column("extra_roles", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    op.create_table(
        "reading_paths",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("onboarding_role", ROLE, nullable=True),
        sa.Column("retired_at", STAMP, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        _user("created_by_id"),
        sa.Column("updated_at", STAMP, nullable=False),
        _user("updated_by_id"),
    )
    _paths_children()
    _teams_and_assignments()
    _progress()


def _paths_children() -> None:
    op.create_table(
        "path_steps",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("path_id", sa.Integer(), sa.ForeignKey("reading_paths.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.UniqueConstraint("path_id", "article_id"),
    )
    op.create_index("ix_path_steps_path_id", "path_steps", ["path_id"])
    op.create_index("ix_path_steps_article_id", "path_steps", ["article_id"])
    op.create_table(
        "path_revisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("path_id", sa.Integer(), sa.ForeignKey("reading_paths.id", ondelete="CASCADE"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("created_at", STAMP, nullable=False),
        _user("created_by_id"),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.UniqueConstraint("path_id", "number"),
    )
    op.create_index("ix_path_revisions_path_id", "path_revisions", ["path_id"])


def _teams_and_assignments() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False, unique=True),
        sa.Column("created_at", STAMP, nullable=False),
        _user("created_by_id"),
    )
    op.create_table(
        "team_members",
        sa.Column("team_id", sa.Integer(), sa.ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("added_at", STAMP, nullable=False),
    )
    op.create_index("ix_team_members_user_id", "team_members", ["user_id"])
    op.create_table(
        "path_assignments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("path_id", sa.Integer(), sa.ForeignKey("reading_paths.id", ondelete="CASCADE"), nullable=False),
        _user("user_id", "CASCADE"),
        sa.Column("team_id", sa.Integer(), sa.ForeignKey("teams.id", ondelete="CASCADE"), nullable=True),
        sa.Column("due", sa.Date(), nullable=True),
        sa.Column("assigned_at", STAMP, nullable=False),
        _user("assigned_by_id"),
        sa.UniqueConstraint("path_id", "user_id"),
        sa.UniqueConstraint("path_id", "team_id"),
    )
    for column in ("path_id", "user_id", "team_id"):
        op.create_index(f"ix_path_assignments_{column}", "path_assignments", [column])


def _progress() -> None:
    op.create_table(
        "step_progress",
        sa.Column("id", sa.Integer(), primary_key=True),
        _user("user_id", "CASCADE", nullable=False),
        sa.Column("path_id", sa.Integer(), sa.ForeignKey("reading_paths.id", ondelete="CASCADE"), nullable=False),
        sa.Column("article_id", sa.Integer(), sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("opened_at", STAMP, nullable=True),
        sa.Column("read_at", STAMP, nullable=True),
        sa.Column("read_revision", sa.Integer(), nullable=True),
        sa.Column("seconds", sa.Integer(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("answered_at", STAMP, nullable=True),
        sa.Column("feedback", sa.Text(), nullable=False),
        sa.Column("feedback_at", STAMP, nullable=True),
        _user("feedback_by_id"),
        sa.UniqueConstraint("user_id", "path_id", "article_id"),
    )
    op.create_index("ix_step_progress_user_id", "step_progress", ["user_id"])
    op.create_index("ix_step_progress_path_id", "step_progress", ["path_id"])


def downgrade() -> None:
    for table in ("step_progress", "path_assignments", "team_members", "teams", "path_revisions", "path_steps"):
        op.drop_table(table)
    op.drop_table("reading_paths")
    with op.batch_alter_table("users") as table:
        table.drop_column("extra_roles")
