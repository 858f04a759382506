"""The tables. The database is kb's source of truth; the search index is derived from it."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kb.db import Base, UTCDateTime, utcnow


class Role(str, enum.Enum):
    AGENT = "agent"
    AUTHOR = "author"
    TRAINER = "trainer"
    ADMIN = "admin"


ROLE_VALUES = frozenset(r.value for r in Role)


class Status(str, enum.Enum):
    DRAFT = "draft"
    REVIEW = "review"
    PUBLISHED = "published"
    ARCHIVED = "archived"


class Audience(str, enum.Enum):
    INTERNAL = "internal"
    EXTERNAL = "external"


def _enum(cls: type[enum.Enum]) -> Enum:
    # Store the readable value ("published"), not the Python member name, and skip native enums
    # so that adding a status later is not a schema migration on PostgreSQL.
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # The strongest role the user holds (admin, author, trainer, agent: what decides which articles
    # they may read); `extra_roles` holds the others, so an author can also be a trainer.
    role: Mapped[Role] = mapped_column(_enum(Role))
    extra_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Raised whenever every session of the user must end (password change, logout, deactivation):
    # a session or remember-me cookie is only good for the generation it was issued in (kb.auth).
    session_generation: Mapped[int] = mapped_column(Integer, default=0)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @property
    def roles(self) -> frozenset[Role]:
        """Every role the user holds."""
        return frozenset([self.role, *(Role(r) for r in self.extra_roles or () if r in ROLE_VALUES)])

    # flask-login's user protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        # flask-login's "alternative token": the id alone would stay valid in a copied cookie for good.
        return f"{self.id}:{self.session_generation}"


class ApiToken(Base):
    """A bearer token for the JSON API. Only a SHA-256 of the secret is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(80), default="")  # what its owner uses it for
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")


class Article(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    product: Mapped[str] = mapped_column(String(120), default="")
    audience: Mapped[Audience] = mapped_column(_enum(Audience), default=Audience.INTERNAL)
    status: Mapped[Status] = mapped_column(_enum(Status), default=Status.DRAFT, index=True)
    # Front-matter keys kb does not interpret, kept so that export gives them back.
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Incremented on every saved change; the base for optimistic locking.
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Who answers for the article being right (its creator unless changed), and when it is next due
    # a check (kb.verification); both apply to published articles.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    review_by: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # The content checks' score when last saved (kb.checks), for lists; links are counted apart.
    quality: Mapped[int | None] = mapped_column(Integer)

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    revisions: Mapped[list[Revision]] = relationship(
        back_populates="article", order_by="Revision.number", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[Attachment]] = relationship(order_by="Attachment.id", viewonly=True)

    # Every UPDATE carries "WHERE version = <the version this session read>": of two people
    # saving the same article at once, the second gets StaleDataError (a 409), never a silent
    # overwrite. kb sets the new number itself (it is also the revision number).
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class Revision(Base):
    """A full snapshot of an article as saved: nothing is ever overwritten."""

    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("article_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    message: Mapped[str] = mapped_column(String(500), default="")
    slug: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON)
    product: Mapped[str] = mapped_column(String(120))
    audience: Mapped[Audience] = mapped_column(_enum(Audience))
    status: Mapped[Status] = mapped_column(_enum(Status))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON)

    article: Mapped[Article] = relationship(back_populates="revisions")
    created_by: Mapped[User | None] = relationship()


class Setting(Base):
    """A value admins change in the UI (the new-article template, ...), with kb.settings' defaults."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    updated_by: Mapped[User | None] = relationship()

    # Two admins saving the same setting: the second gets StaleDataError (a 409), as for articles.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class FlagReason(str, enum.Enum):
    WRONG = "wrong"
    OUTDATED = "outdated"
    UNCLEAR = "unclear"
    MISSING = "missing"


class Flag(Base):
    """An agent's "this article is wrong / outdated / unclear / missing something", until an author
    resolves it with the revision that fixed it (or a reason it needs no change)."""

    __tablename__ = "flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    reason: Mapped[FlagReason] = mapped_column(_enum(FlagReason))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    fixed_in: Mapped[int | None] = mapped_column(Integer)  # the revision that fixed it
    resolution: Mapped[str] = mapped_column(Text, default="")  # or why no change was needed

    article: Mapped[Article] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])


class Attachment(Base):
    """A file an article shows or offers; the bytes live under the instance folder (kb.attachments)."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))  # as shown and served: safe characters only
    stored: Mapped[str] = mapped_column(String(80))  # <sha256>.<extension>
    content_type: Mapped[str] = mapped_column(String(80))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    created_by: Mapped[User | None] = relationship()


class SlugAlias(Base):
    """A slug an article had before it was renamed: its old addresses keep leading to it."""

    __tablename__ = "slug_aliases"

    slug: Mapped[str] = mapped_column(String(120), primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ArticleLink(Base):
    """A link in an article's current text to another article, by slug (kb.links).

    Kept on every save, so "what links to a missing or archived article" is a query, not a scan
    of every body. The target is a slug, not an id: a link to an article not written yet is
    still a link (a broken one).
    """

    __tablename__ = "article_links"
    __table_args__ = (UniqueConstraint("article_id", "target_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    target_slug: Mapped[str] = mapped_column(String(120), index=True)
    line: Mapped[int] = mapped_column(Integer)


class IndexEvent(Base):
    """A change the search index has to catch up with, written in the article's own transaction.

    Every index (one per kb machine) applies these by what was committed, not by id order: see
    kb.changelog for why ids alone lose events on PostgreSQL and what `txid` is for.
    """

    __tablename__ = "index_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(Integer, index=True)  # no FK: deletions are events too
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # PostgreSQL: the id of the transaction that wrote the event (pg_current_xact_id). NULL on
    # SQLite, where one writer at a time makes id order the commit order.
    txid: Mapped[int | None] = mapped_column(BigInteger, index=True)


class Feedback(Base):
    """An agent's verdict on whether an article helped; one per agent and article, the latest wins."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("article_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    helpful: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What the agent needed when it did not help (customer data blanked), and the knowledge gap it
    # counts towards (kb.loop.gaps): a "not helpful" vote is one of the gap queue's sources.
    comment: Mapped[str] = mapped_column(Text, default="")
    gap_id: Mapped[int | None] = mapped_column(ForeignKey("gaps.id", ondelete="SET NULL"), index=True)


class SearchLog(Base):
    """One search as an agent experienced it, for the knowledge-gap report.

    Search-as-you-type sends many queries; those of one episode (one `episode` id) update a single
    row, so the row holds what the agent finally searched for. Only the query, time, role and
    outcome are kept: no user, no customer data.
    """

    __tablename__ = "search_logs"
    # The insights and the gap queue read a time range of the log: this index answers them
    # without touching the table (its first column also serves what the plain time index did).
    __table_args__ = (Index("ix_search_logs_window", "created_at", "gap_id", "results", "opened_slug", "episode"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    episode: Mapped[str | None] = mapped_column(String(40), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    query: Mapped[str] = mapped_column(String(500))
    role: Mapped[Role] = mapped_column(_enum(Role))
    source: Mapped[str] = mapped_column(String(10), default="ui")
    results: Mapped[int] = mapped_column(Integer, default=0)
    opened_slug: Mapped[str | None] = mapped_column(String(120))
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    gap_id: Mapped[int | None] = mapped_column(ForeignKey("gaps.id", ondelete="SET NULL"), index=True)


class SynonymGroup(Base):
    """Words and phrasings that mean the same to a customer ("wifi", "wireless", "wlan")."""

    __tablename__ = "synonym_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    terms: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class GoldenQuery(Base):
    """A query in customer words and the article that must be in its top 3."""

    __tablename__ = "golden_queries"
    __table_args__ = (UniqueConstraint("query", "article_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(String(500))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The outcome of the last check: rank 1-10, or None when not in the top 10 (or never checked).
    last_rank: Mapped[int | None] = mapped_column(Integer)
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The article whose save pushed this query out of the top 3, while it stays out: the
    # warning its author sees (checks run after the save's response, see kb.golden).
    broken_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("articles.id", ondelete="SET NULL", name="fk_golden_queries_broken_by_id"), index=True
    )
    broken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    article: Mapped[Article] = relationship(foreign_keys=[article_id])


from kb.models.learning import (  # noqa: E402  (the tables of reading paths, registered on the same Base)
    PathAssignment,
    PathRevision,
    PathStep,
    ReadingPath,
    StepProgress,
    Team,
    TeamMember,
)
from kb.models.loop import (  # noqa: E402  (calls, gaps and root fixes, registered on the same Base)
    Call,
    FixStatus,
    Gap,
    GapAlias,
    GapAliasStem,
    GapState,
    Outcome,
    RootFix,
    RootFixChange,
)

__all__ = [
    "ApiToken",
    "Article",
    "ArticleLink",
    "Attachment",
    "Audience",
    "Call",
    "Feedback",
    "Flag",
    "FixStatus",
    "FlagReason",
    "Gap",
    "GapAlias",
    "GapAliasStem",
    "GapState",
    "GoldenQuery",
    "IndexEvent",
    "Outcome",
    "PathAssignment",
    "PathRevision",
    "PathStep",
    "ReadingPath",
    "Revision",
    "Role",
    "RootFix",
    "RootFixChange",
    "SearchLog",
    "Setting",
    "SlugAlias",
    "Status",
    "StepProgress",
    "SynonymGroup",
    "Team",
    "TeamMember",
    "User",
]
