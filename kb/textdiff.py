"""Word-level differences between two texts, for "what changed since you loaded it".

Authors compare prose, so the unit is the word (with the whitespace and punctuation between
words kept as their own tokens, so joining every part gives back the text exactly).
"""

from __future__ import annotations

import difflib
import re
from typing import TypedDict

_TOKENS = re.compile(r"\s+|\w+|[^\w\s]")
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
