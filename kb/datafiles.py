"""Reading kb's YAML data files (synonyms, golden queries) with errors that say where."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class YAMLRefused(yaml.MarkedYAMLError):
    """Valid YAML that kb will not load (see RefusingComposer), with the place it starts."""


class RefusingComposer:
    """Loader mixin refusing anchors, aliases and deep nesting, which kb's files never need.

    An alias repeats a value without copying it in the file: ten levels of ten aliases each make a
    500-byte file stand for 10^10 values, which anything walking the result (JSON, the database)
    copies out in full. PyYAML also composes nesting recursively, so a few thousand '[' end in
    RecursionError. Both are refused where they start, with the line. Refusing every anchor is
    enough: an alias can then only name an undefined anchor, which PyYAML reports as an error.
    """

    MAX_DEPTH = 20

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if not isinstance(event, yaml.AliasEvent) and event.anchor is not None:
            raise YAMLRefused(
                problem="anchors and aliases ('&name', '*name') are not accepted: write the value out",
                problem_mark=event.start_mark,
            )
        depth = getattr(self, "_kb_depth", 0)
        if depth >= self.MAX_DEPTH:
            raise YAMLRefused(problem=f"nested deeper than {self.MAX_DEPTH} levels", problem_mark=event.start_mark)
        self._kb_depth = depth + 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._kb_depth = depth

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:  # an integer of 5,000 digits, a date with month 13
            raise YAMLRefused(problem=f"a value kb cannot read ({exc})", problem_mark=node.start_mark) from None


class _ListLoader(RefusingComposer, yaml.BaseLoader):
    """BaseLoader keeps every value as written: 0x80070643 is an error code, not a number."""


@dataclass
class DataFileError(Exception):
    """A file kb cannot use: `path:line: reason` (the line when known)."""

    path: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.reason}"


def load_list(path: Path, *, expected: str) -> list[Any]:
    """Load a YAML file holding a list, every scalar as text; `expected` describes an entry."""
    return [entry for _line, entry in load_list_with_lines(path, expected=expected)]


def load_list_with_lines(path: Path, *, expected: str) -> list[tuple[int, Any]]:
    """Like load_list, each entry with the line it starts on, for messages that say where."""
    name = path.name
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"), Loader=_ListLoader)
        data = _ListLoader("").construct_document(node) if node is not None else None
    except UnicodeDecodeError:
        raise DataFileError(name, None, "not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DataFileError(
            name, mark.line + 1 if mark else None, f"not valid YAML ({getattr(exc, 'problem', exc)})"
        ) from None
    if data is None:
        return []
    if not isinstance(data, list):
        raise DataFileError(name, 1, f"expected a list of {expected}")
    return [(item.start_mark.line + 1, entry) for item, entry in zip(node.value, data, strict=True)]
