"""Word-level differences between two texts, for "what changed since you loaded it".

Authors compare prose, so the unit is the word, with the whitespace after it (so that
matching spaces do not chop a rewritten sentence into single words, and joining every part
gives back the text exactly).
"""

from __future__ import annotations

import difflib
import re
from typing import TypedDict

_TOKENS = re.compile(r"\s+|\S+\s*")
# Beyond this many tokens on a side, compare lines instead: the word diff's cost grows faster
# than the text, and a diff that large is read by lines anyway.
MAX_WORD_TOKENS = 20_000


class Change(TypedDict):
    op: str  # "equal" | "insert" | "delete"
    text: str


def word_diff(old: str, new: str) -> list[Change]:
    """The edit from `old` to `new` as equal/delete/insert runs; a replacement is a delete then an insert."""
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    if max(len(a), len(b)) > MAX_WORD_TOKENS:
        a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    changes: list[Change] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag in ("delete", "replace"):
            _append(changes, "delete", "".join(a[i1:i2]))
        if tag in ("insert", "replace"):
            _append(changes, "insert", "".join(b[j1:j2]))
        if tag == "equal":
            _append(changes, "equal", "".join(a[i1:i2]))
    return changes


def _append(changes: list[Change], op: str, text: str) -> None:
    if not text:
        return
    if changes and changes[-1]["op"] == op:
        changes[-1]["text"] += text
    else:
        changes.append({"op": op, "text": text})


def has_changes(changes: list[Change]) -> bool:
    return any(change["op"] != "equal" for change in changes)


def around_changes(changes: list[Change], lines: int = 2) -> list[Change]:
    """The diff for reading: unchanged runs cut to `lines` lines on each side of a change.

    Cut parts become an "equal" run holding only "…", so a reader sees where text was skipped.
    """
    shown: list[Change] = []
    for index, change in enumerate(changes):
        if change["op"] != "equal":
            shown.append(change)
            continue
        parts = change["text"].split("\n")
        keep_head = lines if index < len(changes) - 1 else 0  # context before the next change
        keep_tail = lines if index > 0 else 0  # context after the previous change
        if len(parts) <= keep_head + keep_tail + 1:
            shown.append(change)
            continue
        tail = "\n".join(parts[: keep_tail + 1]) if keep_tail else ""
        head = "\n".join(parts[-(keep_head + 1) :]) if keep_head else ""
        text = (tail + "\n" if tail else "") + "…" + ("\n" + head if head else "")
        shown.append({"op": "equal", "text": text})
    return shown
