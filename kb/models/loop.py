"""The tables of the knowledge loop: calls linked to articles, knowledge gaps, root fixes.

A call record keeps the outcome, the article used (if any), a case reference and the customer's
words with personal data blanked; nothing else about the customer. Gaps group what failed
(searches, calls, votes) by what the customer meant; each failing record points at its gap, so
counting a gap is one indexed GROUP BY however many searches are logged.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kb.db import Base, UTCDateTime, utcnow
from kb.models import Article, User, _enum


class Outcome(str, enum.Enum):
    SOLVED = "solved"
    PARTLY = "partly"
    NOT_SOLVED = "not_solved"
    NO_ARTICLE = "no_article"


class Call(Base):
    """One support call (or chat, or ticket) as an agent recorded it in kb."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"), index=True)
    outcome: Mapped[Outcome] = mapped_column(_enum(Outcome))
    case_ref: Mapped[str] = mapped_column(String(120), default="")
    words: Mapped[str] = mapped_column(String(500), default="")  # blanked like the search log
    gap_id: Mapped[int | None] = mapped_column(ForeignKey("gaps.id", ondelete="SET NULL"), index=True)

    user: Mapped[User | None] = relationship()
    article: Mapped[Article | None] = relationship()


class GapState(str, enum.Enum):
    OPEN = "open"
    CLOSED = "closed"  # a draft was written for it, or it was attached to an article
    DISMISSED = "dismissed"


class Gap(Base):
    """Something customers needed that kb did not answer, and what an author did about it."""

    __tablename__ = "gaps"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(200))  # the first wording seen: what it is about
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[GapState] = mapped_column(_enum(GapState), default=GapState.OPEN, index=True)
    # How it was closed ("draft", "attach", "dismiss"), when, by whom, the article that closed it
    # and the author's reason for dismissing it.
    action: Mapped[str] = mapped_column(String(20), default="")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=0)

    closed_by: Mapped[User | None] = relationship()
    article: Mapped[Article | None] = relationship()

    # Two authors acting on one gap at once: the second is told (a 409), as for articles.
    __mapper_args__ = {"version_id_col": version}


class GapAlias(Base):
    """A normalized wording (stems, synonyms folded, sorted) and the gap it belongs to.

    Wordings are matched to gaps once, when first seen: an exact wording finds its gap by this
    primary key, a new one joins the most similar gap or starts its own.
    """

    __tablename__ = "gap_aliases"

    signature: Mapped[str] = mapped_column(String(200), primary_key=True)
    gap_id: Mapped[int] = mapped_column(ForeignKey("gaps.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GapAliasStem(Base):
    """One stem of a wording (a GapAlias), so the wordings sharing a stem with a new one are read
    from an index, newest first, instead of scanning every wording ever seen (a LIKE over 100,000
    of them took a quarter of a second per logged search). A wording's gap and time are copied:
    a wording is written once and never changed."""

    __tablename__ = "gap_alias_stems"
    __table_args__ = (Index("ix_gap_alias_stems_recent", "stem", "created_at"),)

    stem: Mapped[str] = mapped_column(String(200), primary_key=True)
    signature: Mapped[str] = mapped_column(
        String(200), ForeignKey("gap_aliases.signature", ondelete="CASCADE"), primary_key=True
    )
    gap_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FixStatus(str, enum.Enum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    FIXED = "fixed"
    WONT_FIX = "wont_fix"


class RootFix(Base):
    """Why an article's problem happens and what would stop it recurring, pushed upstream."""

    __tablename__ = "root_fixes"

    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    cause: Mapped[str] = mapped_column(String(60), default="")
    fix: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(120), default="")  # a person or team, maybe outside kb
    status: Mapped[FixStatus] = mapped_column(_enum(FixStatus), default=FixStatus.PROPOSED)
    link: Mapped[str] = mapped_column(String(500), default="")
    fixed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when it was first marked fixed
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # "resolved at the root"
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(Integer, default=0)

    article: Mapped[Article] = relationship()
    updated_by: Mapped[User | None] = relationship()

    __mapper_args__ = {"version_id_col": version}


class RootFixChange(Base):
    """Each saved state of a root fix: an edit never destroys what was recorded before."""

    __tablename__ = "root_fix_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
