"""Where an article is in its life, and who may move it on.

    draft → review → published → archived, and back to draft from any of them.

Agents read only published articles, so publishing is the moment knowledge reaches a live call:
a second pair of eyes decides it. An author cannot publish what they last changed themselves
(self-approval, a 403 that says who may); an admin can, and an admin can turn the rule off in
the settings (`review_required`). A move is a save: a new revision with the comment as its
message, so the history shows who moved it, when and why, and a stale move (the article changed
after the mover read it) is refused like any stale save: nobody approves text they have not seen.

The import from files is the operator's and follows the files: it does not pass through here.
"""

from __future__ import annotations

from dataclasses import fields, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb import settings, store
from kb.models import Article, Revision, Role, Status, User

# The moves the workflow allows; admins may also publish a draft straight away.
MOVES: dict[Status, tuple[Status, ...]] = {
    Status.DRAFT: (Status.REVIEW,),
    Status.REVIEW: (Status.PUBLISHED, Status.DRAFT),
    Status.PUBLISHED: (Status.ARCHIVED, Status.DRAFT),
    Status.ARCHIVED: (Status.DRAFT,),
}
# What each move is called on its button.
VERBS = {
    Status.REVIEW: "Send for review",
    Status.PUBLISHED: "Publish",
    Status.DRAFT: "Back to draft",
    Status.ARCHIVED: "Archive",
}
_CONTENT = [f.name for f in fields(store.ArticleFields) if f.name != "status"]


class MoveRefused(Exception):
    """The move is not allowed: `status` 403 (not this person) or 400 (not from this state)."""

    def __init__(self, message: str, *, status: int = 403):
        super().__init__(message)
        self.status = status


def moves_for(article: Article, user: User) -> list[Status]:
    """The states `user` may move `article` to now (for the buttons)."""
    allowed = list(MOVES[article.status])
    if user.role == Role.ADMIN and article.status == Status.DRAFT:
        allowed.append(Status.PUBLISHED)
    return allowed


def last_editor(session: Session, article: Article) -> User | None:
    """Who last changed what the article says (not only its state): the author of the newest
    revision whose content differs from the revision before it."""
    # Newest first, a few at a time: the answer is nearly always among the last revisions, and
    # each revision holds a whole body.
    newest_first = select(Revision).where(Revision.article_id == article.id).order_by(Revision.number.desc())
    newer = None
    revisions = session.scalars(newest_first.execution_options(yield_per=4))
    try:
        for older in revisions:
            if newer is not None and any(getattr(newer, name) != getattr(older, name) for name in _CONTENT):
                return newer.created_by
            newer = older
    finally:
        revisions.close()  # the save that follows must not find a cursor still open
    return newer.created_by if newer is not None else None


def check_move(session: Session, article: Article, to: Status, user: User, *, editing: bool = False) -> None:
    """Raise MoveRefused unless `user` may move `article` (as it is now) to `to`.

    `editing`: the same save also changes the content, so its author is the last editor.
    """
    if to == article.status:
        return
    if to not in moves_for(article, user):
        reachable = ", ".join(s.value for s in moves_for(article, user))
        raise MoveRefused(
            f"An article in {article.status.value} cannot go to {to.value} directly; from here it can go to {reachable}.",
            status=400,
        )
    if to == Status.PUBLISHED:
        _check_approver(session, article, user, editing=editing)


def _check_approver(session: Session, article: Article, user: User, *, editing: bool) -> None:
    if user.role == Role.ADMIN or not settings.get(session, settings.REVIEW_REQUIRED).value:
        return
    editor = user if editing else last_editor(session, article)
    if editor is not None and editor.id == user.id:
        raise MoveRefused(
            "You made the last change to this article, so another author (or an admin) must review and publish "
            "it: agents rely on a second pair of eyes. Ask a colleague to open it from 'Waiting for review'."
        )


def move(
    session: Session, article: Article, to: Status, *, user: User, based_on: int, comment: str = ""
) -> store.SaveResult:
    """Move `article` to `to` as a new revision whose message is the comment."""
    check_move(session, article, to, user)
    if to == article.status:
        return store.SaveResult(article, created=False, changed=False)
    note = f"{article.status.value} → {to.value}" + (f": {comment}" if comment else "")
    data = replace(store.ArticleFields.of(article), status=to)
    return store.update_article(session, article, data, user=user, based_on=based_on, message=note)


def check_save(session: Session, article: Article | None, data: store.ArticleFields, user: User) -> None:
    """Raise MoveRefused when a save (form or API) would change the state in a way `move` would refuse.

    A new article starts as a draft or in review (an admin may publish it at once); an edit
    that also changes the state is a move whose author is the last editor.
    """
    data = data.normalized()
    if article is None:
        starts = (Status.DRAFT, Status.REVIEW) + ((Status.PUBLISHED,) if user.role == Role.ADMIN else ())
        if data.status not in starts:
            raise MoveRefused(
                f"A new article starts as {' or '.join(s.value for s in starts)}, not {data.status.value}: "
                "save it, then send it for review.",
                status=403 if data.status == Status.PUBLISHED else 400,
            )
        return
    editing = any(getattr(data, name) != getattr(article, name) for name in _CONTENT)
    check_move(session, article, data.status, user, editing=editing)
