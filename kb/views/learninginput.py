"""Read the JSON bodies of the reading-path API into what kb.learning takes.

Types are checked here, each error naming the field as the body spells it (`steps[2].note`, steps
counted from 1 as kb.learning counts them), so a list where text belongs is a 400 and never reaches
the database. What the values mean (a published article, a known user, a title's length) is for
kb.learning to judge.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Mapping

from kb.learning import PathInput, StepInput
from kb.models import Role
from kb.views.articleinput import RequestError, based_on_version
from kb.views.jsonbody import text

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def path_input(data: Mapping[str, Any]) -> PathInput:
    """A path's title, purpose and steps (`[{"article": SLUG, "note", "question"}]`)."""
    steps = data.get("steps", [])
    if steps is None:
        steps = []
    if not isinstance(steps, list):
        raise RequestError("steps", 'must be a list of steps: [{"article": SLUG, "note": ..., "question": ...}]')
    return PathInput(
        title=text(data, "title"),
        purpose=text(data, "purpose"),
        steps=[_step(step, f"steps[{n}]") for n, step in enumerate(steps, start=1)],
    )


def _step(step: object, where: str) -> StepInput:
    if not isinstance(step, dict):
        raise RequestError(where, 'must be an object: {"article": SLUG, "note": ..., "question": ...}')
    return StepInput(
        article=_text(step, "article", where),
        note=_text(step, "note", where),
        question=_text(step, "question", where),
    )


def _text(data: Mapping[str, Any], name: str, where: str) -> str:
    try:
        return text(data, name)
    except RequestError as wrong:
        raise RequestError(f"{where}.{name}", str(wrong).removeprefix(f"{name}: ")) from None


def path_version(data: Mapping[str, Any]) -> int:
    """The path's `version` as the trainer read it: required (428), as for articles."""
    if data.get("version") in (None, ""):
        raise RequestError(
            "version",
            'is required: send the path\'s "version" as you read it (GET /api/v1/paths/<id>), so that '
            "your save cannot overwrite another trainer's newer edit",
            status=428,
            code="precondition_required",
        )
    return based_on_version(data)


def names(data: Mapping[str, Any], name: str) -> list[str]:
    """A list of usernames or team names (absent or null: none)."""
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RequestError(name, 'must be a list of names: ["..."]')
    for n, item in enumerate(value, start=1):
        if not isinstance(item, str):
            raise RequestError(f"{name}[{n}]", "must be a name (text)")
    return value


def due_date(data: Mapping[str, Any]) -> date | None:
    """`"due": "YYYY-MM-DD"`, or null (or absent) for no due date."""
    value = data.get("due")
    if value is None or value == "":
        return None
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise RequestError("due", f"must be a date as YYYY-MM-DD (or null), not {str(value)[:40]!r}")


def onboarding_role(data: Mapping[str, Any]) -> Role | None:
    """`"role"`: the role whose new users get the path, or null for none; required, to be explicit."""
    if "role" not in data:
        raise RequestError("role", "is required: a role (agent, author, trainer, admin), or null for none")
    value = data["role"]
    if value is None:
        return None
    if not isinstance(value, str) or value not in {r.value for r in Role}:
        raise RequestError("role", f"must be one of {', '.join(r.value for r in Role)}, or null")
    return Role(value)


def optional_text(data: Mapping[str, Any], name: str) -> str | None:
    """A text field that may be left out (None), as a step's answer may."""
    return text(data, name) if data.get(name) is not None else None
