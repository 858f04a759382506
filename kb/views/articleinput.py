"""Read article fields sent by a form or a JSON body, the same way for the UI and the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from flask import current_app
from sqlalchemy.orm import Session

from kb import golden, store
from kb import search as kb_search
from kb.models import Article, Audience, Status, User

_ENUMS = {"audience": Audience, "status": Status}


def fields_from(data: Mapping[str, Any], existing: Article | None) -> store.ArticleFields:
    """Merge submitted values over the existing article (or the defaults for a new one).

    Raises ArticleInvalid naming the field when a value has the wrong type or is not allowed.
    """
    base = store.ArticleFields.of(existing) if existing else store.ArticleFields(slug="", title="")
    errors: list[store.FieldError] = []
    values: dict[str, Any] = {}
    for name in ("title", "slug", "summary", "body", "product"):
        if name in data:
            if not isinstance(data[name], str):
                errors.append(store.FieldError(name, "must be text"))
            else:
                values[name] = data[name]
    if "tags" in data:
        tags = data["tags"]
        if isinstance(tags, str):
            values["tags"] = [t for t in (p.strip() for p in tags.split(",")) if t]
        elif isinstance(tags, list) and all(isinstance(t, str) for t in tags):
            values["tags"] = tags
        else:
            errors.append(store.FieldError("tags", "must be a list of words or a comma-separated text"))
    for name, enum in _ENUMS.items():
        if name in data:
            try:
                values[name] = enum(str(data[name]).strip().lower())
            except ValueError:
                allowed = ", ".join(m.value for m in enum)
                errors.append(store.FieldError(name, f"'{data[name]}' is not one of: {allowed}"))
    if errors:
        raise store.ArticleInvalid(errors)
    merged = store.ArticleFields(**{**base.__dict__, **values})
    if not merged.slug.strip():
        merged.slug = store.slugify(merged.title)
    if "audience" in values and existing is not None and values["audience"] != existing.audience:
        merged.extra = {k: v for k, v in merged.extra.items() if k != "audience"}  # the author chose
    return merged


@dataclass
class SaveOutcome:
    result: store.SaveResult
    indexed: bool
    regressions: list[golden.GoldenResult] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return [f"This change pushed a golden query out of the top 3: {r.describe()}" for r in self.regressions]


def save_and_index(
    session: Session,
    data: store.ArticleFields,
    *,
    user: User,
    message: str,
    article: Article | None,
    verified: bool = False,
) -> SaveOutcome:
    """Save, commit, update the search index, then re-check the golden queries.

    Should the index be busy, the change is still committed and its index event stays pending:
    the next save or search applies it.
    """
    before = _searchable_text(article) if article is not None else ""
    result = store.save_article(session, data, user=user, message=message, article=article, verified=verified)
    session.commit()
    if not result.changed:
        return SaveOutcome(result, indexed=True)
    changed = golden.ChangedArticle.of(result.article.id, before, _searchable_text(result.article))
    return after_search_change(session, SaveOutcome(result, indexed=True), changed)


def _searchable_text(article: Article) -> str:
    return "\n".join([article.title, article.summary, " ".join(article.tags), article.body])


def after_search_change(session: Session, outcome: SaveOutcome, changed: golden.ChangedArticle) -> SaveOutcome:
    """Bring the index up to date and find golden queries that a just-committed change broke."""
    try:
        kb_search.sync(session)
    except Exception:  # noqa: BLE001  the change is safe in the database; say so instead of failing
        current_app.logger.exception("Index update failed; it stays pending")
        outcome.indexed = False
        return outcome
    outcome.regressions = golden.regressions(session, changed)
    session.commit()
    return outcome
