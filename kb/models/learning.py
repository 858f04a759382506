"""The tables of reading paths: paths and their steps, teams, assignments and each reader's progress.

Progress is kept per (reader, path, article), not per step row: a trainer who reorders, edits or
removes and re-adds a step keeps what the reader already did, and a path's steps can be rewritten
whole on every save.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kb.db import Base, UTCDateTime, utcnow
from kb.models import Article, Role, User, _enum


class ReadingPath(Base):
    """Ordered articles with a trainer's reasons, assigned to agents and teams."""

    __tablename__ = "reading_paths"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    purpose: Mapped[str] = mapped_column(Text, default="")  # what the reader understands afterwards
    # New users with this role get the path assigned when their account is created.
    onboarding_role: Mapped[Role | None] = mapped_column(_enum(Role))
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    steps: Mapped[list[PathStep]] = relationship(
        back_populates="path", order_by="PathStep.position", cascade="all, delete-orphan"
    )
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    # Two trainers saving the same path: the second gets StaleDataError (a 409), as for articles.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class PathStep(Base):
    __tablename__ = "path_steps"
    __table_args__ = (UniqueConstraint("path_id", "article_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    path_id: Mapped[int] = mapped_column(ForeignKey("reading_paths.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 1, 2, ...
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")  # why it matters, what to notice
    question: Mapped[str] = mapped_column(Text, default="")  # a reflection question, optional

    path: Mapped[ReadingPath] = relationship(back_populates="steps")
    article: Mapped[Article] = relationship()


class PathRevision(Base):
    """A path as saved: no edit destroys an earlier version of a path either."""

    __tablename__ = "path_revisions"
    __table_args__ = (UniqueConstraint("path_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    path_id: Mapped[int] = mapped_column(ForeignKey("reading_paths.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    members: Mapped[list[TeamMember]] = relationship(
        back_populates="team", cascade="all, delete-orphan", order_by="TeamMember.added_at"
    )


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    team: Mapped[Team] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class PathAssignment(Base):
    """A path given to one person or to a team (then to whoever is in the team, now or later)."""

    __tablename__ = "path_assignments"
    __table_args__ = (UniqueConstraint("path_id", "user_id"), UniqueConstraint("path_id", "team_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    path_id: Mapped[int] = mapped_column(ForeignKey("reading_paths.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    due: Mapped[date | None] = mapped_column(Date)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    path: Mapped[ReadingPath] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    team: Mapped[Team | None] = relationship()


class StepProgress(Base):
    """What one reader did with one article of one path: opened, read (which revision), time, answer."""

    __tablename__ = "step_progress"
    __table_args__ = (UniqueConstraint("user_id", "path_id", "article_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    path_id: Mapped[int] = mapped_column(ForeignKey("reading_paths.id", ondelete="CASCADE"), index=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the open not yet ended by a read
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The article's newest published revision when the reader marked it read: a later published
    # revision that changes what they read makes the step "updated since you read it".
    read_revision: Mapped[int | None] = mapped_column(Integer)
    seconds: Mapped[int] = mapped_column(Integer, default=0)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    feedback: Mapped[str] = mapped_column(Text, default="")
    feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    feedback_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    feedback_by: Mapped[User | None] = relationship(foreign_keys=[feedback_by_id])
