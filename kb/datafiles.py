"""Reading kb's YAML data files (synonyms, golden queries) with errors that say where."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


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
    name = path.name
    try:
        # BaseLoader keeps every value as written: 0x80070643 is an error code, not a number.
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
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
    return data
