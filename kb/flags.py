"""Agents' flags: "flag it or fix it".

An agent who finds an article wrong, outdated, unclear or missing something says so from the
article, with a comment; a "Not helpful" vote leads there too. Open flags show on the article for
authors and in the fix queue (those on articles one owns first); resolving a flag names the
revision that fixed it, or why no change was needed, and the agent who raised it sees the outcome.
A flag is resolved once: of two authors resolving it at the same moment, the second is told.
"""

from __future__ import annotations

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session, selectinload

from kb import limits, store
from kb.db import begin_write, utcnow
from kb.models import Article, Flag, FlagReason, User

MAX_COMMENT = 2000


class FlagError(ValueError):
    """A flag request that cannot be done: `field` names what is wrong; `status` the HTTP answer."""

    def __init__(self, field: str, message: str, *, status: int = 400):
        super().__init__(f"{field}: {message}")
        self.field, self.status = field, status


def reason_named(value: object) -> FlagReason:
    if not isinstance(value, str) or value not in {r.value for r in FlagReason}:
        raise FlagError("reason", f"must be one of {', '.join(r.value for r in FlagReason)}")
    return FlagReason(value)


def _checked_text(field: str, value: object) -> str:
    problem = limits.text_problem(value, max_chars=MAX_COMMENT)
    if problem:
        raise FlagError(field, problem)
    return str(value).strip()


def raise_flag(session: Session, article: Article, user: User, reason: object, comment: object) -> Flag:
    reason, comment = reason_named(reason), _checked_text("comment", comment or "")
    begin_write(session)
    flag = Flag(article=article, user=user, reason=reason, comment=comment)
    flag.created_at = utcnow()
    flag.resolution = ""
    session.add(flag)
    session.flush()
    return flag


def listed(
    session: Session,
    *,
    state: str = "open",
    raised_by: User | None = None,
    article: Article | None = None,
    owner: User | None = None,
) -> list[Flag]:
    """Flags newest first; with `owner`, those on the owner's articles come first."""
    query = select(Flag).join(Flag.article).options(selectinload(Flag.article), selectinload(Flag.user))
    if state == "open":
        query = query.where(Flag.resolved_at.is_(None))
    elif state == "resolved":
        query = query.where(Flag.resolved_at.is_not(None))
    if raised_by is not None:
        query = query.where(Flag.user_id == raised_by.id)
    if article is not None:
        query = query.where(Flag.article_id == article.id)
    order = [Flag.created_at.desc(), Flag.id.desc()]
    if owner is not None:
        order.insert(0, case((Article.owner_id == owner.id, 0), else_=1))
    return list(session.scalars(query.order_by(*order)))


def resolve(session: Session, flag_id: int, *, user: User, fixed_in: object = None, resolution: object = None) -> Flag:
    """Close flag `flag_id` with the revision that fixed it or the reason no change was needed."""
    flag = session.get(Flag, flag_id)
    if flag is None:
        raise FlagError("flag", f"no flag {flag_id}", status=404)
    revision, why = _outcome(session, flag, fixed_in, resolution)
    begin_write(session)
    done = session.execute(
        update(Flag)
        .where(Flag.id == flag_id, Flag.resolved_at.is_(None))
        .values(resolved_at=utcnow(), resolved_by_id=user.id, fixed_in=revision, resolution=why)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise FlagError("flag", f"flag {flag_id} was already resolved", status=409)
    session.refresh(flag)
    return flag


def _outcome(session: Session, flag: Flag, fixed_in: object, resolution: object) -> tuple[int | None, str]:
    if fixed_in in (None, "") and resolution in (None, ""):
        raise FlagError(
            "revision", 'send "revision" (the revision that fixed it) or "reason" (why no change is needed)'
        )
    why = _checked_text("reason", resolution or "")
    if fixed_in in (None, ""):
        return None, why
    if isinstance(fixed_in, str) and fixed_in.strip().isdigit():
        fixed_in = int(fixed_in.strip())
    if isinstance(fixed_in, bool) or not isinstance(fixed_in, int) or not 0 < fixed_in < 2**31:
        raise FlagError("revision", "must be a revision number of the flagged article")
    try:
        store.get_revision(session, flag.article, fixed_in)
    except store.ArticleNotFound:
        raise FlagError("revision", f"'{flag.article.slug}' has no revision {fixed_in}") from None
    return fixed_in, why
