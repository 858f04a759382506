"""The path editor's form: read it, rearrange its steps without saving, fill it from a saved path.

Steps travel as repeated fields (`article`, `note`, `question`, once per step, in page order), so
the order the trainer sees is the order sent: a step moved in the page by pathedit.js needs no
renumbering to be saved where it now stands. Without JavaScript, "Move up", "Move down", "Add
step" and "Remove" are submit buttons (`move=up:3`, `add=1`, `remove=3`): the server answers with
the form rearranged and nothing saved, so the trainer keeps every word typed so far.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import zip_longest

from werkzeug.datastructures import MultiDict

from kb.learning import PathInput, StepInput
from kb.learning.paths import MAX_STEPS
from kb.models import PathRevision, ReadingPath
from kb.textdiff import Change, word_diff

_MOVE = re.compile(r"(up|down):([0-9]{1,4})")
_NUMBER = re.compile(r"[0-9]{1,4}")
_STEP_FIELD = re.compile(r"steps\[([0-9]+)\]\.(article|note|question)")


@dataclass
class PathForm:
    """The editor's values as the trainer left them (text, unchecked: kb.learning judges them)."""

    title: str = ""
    purpose: str = ""
    version: str = ""
    steps: list[StepInput] = field(default_factory=list)

    def to_input(self) -> PathInput:
        return PathInput(title=self.title, purpose=self.purpose, steps=list(self.steps))


@dataclass
class Rearranged:
    """What a step button did, said for the page's status line, and the element to focus next."""

    message: str
    focus: str


def read(form: MultiDict) -> PathForm:
    """The editor's fields; a step beyond one past the limit is dropped (kb.learning refuses the +1)."""
    columns = zip_longest(form.getlist("article"), form.getlist("note"), form.getlist("question"), fillvalue="")
    steps = [StepInput(article, note, question) for article, note, question in columns][: MAX_STEPS + 1]
    return PathForm(form.get("title", ""), form.get("purpose", ""), form.get("version", ""), steps)


def new_form() -> PathForm:
    """A new path's form: one empty step to start from."""
    return PathForm(steps=[StepInput("")])


def of_path(path: ReadingPath) -> PathForm:
    steps = [StepInput(s.article.slug, s.note, s.question) for s in path.steps]
    return PathForm(path.title, path.purpose, str(path.version), steps)


def rearrange(form: PathForm, sent: MultiDict) -> Rearranged | None:
    """Apply the step button that was pressed, if one was (None: the trainer pressed Save)."""
    if "add" in sent:
        form.steps.append(StepInput(""))
        n = len(form.steps)
        return Rearranged(f"Step {n} added at the end: choose its article. Not saved yet.", f"step-{n}-article")
    if "remove" in sent:
        return _remove(form, sent["remove"])
    if "move" in sent:
        return _move(form, sent["move"])
    return None


def _remove(form: PathForm, value: str) -> Rearranged:
    n = int(value) if _NUMBER.fullmatch(value) else 0
    if not 1 <= n <= len(form.steps):
        return Rearranged("There is no such step to remove.", "add-step")
    gone = form.steps.pop(n - 1)
    focus = f"step-{n}-article" if n <= len(form.steps) else "add-step"
    return Rearranged(f"Step {n} ({gone.article or 'no article'}) removed. Not saved yet.", focus)


def _move(form: PathForm, value: str) -> Rearranged:
    match = _MOVE.fullmatch(value)
    n = int(match.group(2)) if match else 0
    if not 1 <= n <= len(form.steps):
        return Rearranged("There is no such step to move.", "add-step")
    way = match.group(1)
    to = n - 1 if way == "up" else n + 1
    if not 1 <= to <= len(form.steps):
        edge = "first" if way == "up" else "last"
        return Rearranged(f"Step {n} is already the {edge} step.", f"move-{way}-{n}")
    form.steps[n - 1], form.steps[to - 1] = form.steps[to - 1], form.steps[n - 1]
    return Rearranged(
        f"Step {n} moved {way}: it is now step {to} of {len(form.steps)}. Not saved yet.", f"move-{way}-{to}"
    )


def anchor(field_name: str | None) -> str:
    """The id of the input a LearningError's field names: `steps[2].article` is `step-2-article`."""
    match = _STEP_FIELD.fullmatch(field_name or "")
    if match:
        return f"step-{match.group(1)}-{match.group(2)}"
    return f"f-{field_name}" if field_name in ("title", "purpose", "version") else "f-steps"


def changes_between(old: PathRevision, new: PathRevision, slugs: dict[int, str]) -> list[Change]:
    """What changed from one saved version of a path to another, word by word, as a trainer reads it."""
    return word_diff(_as_text(old.snapshot, slugs), _as_text(new.snapshot, slugs))


def _as_text(snapshot: dict, slugs: dict[int, str]) -> str:
    lines = [snapshot.get("title", ""), "", snapshot.get("purpose", ""), ""]
    for n, step in enumerate(snapshot.get("steps", []), start=1):
        lines.append(f"{n}. {slugs.get(step['article_id'], 'a deleted article')}")
        lines += [f"   {text}" for text in (step.get("note"), step.get("question")) if text]
    return "\n".join(lines)
