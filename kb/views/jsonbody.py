"""The JSON body of an API request, read once and checked before any view looks at it.

Every JSON API write goes through `json_object()`, so every endpoint refuses the same hostile
bodies the same way, with a 400 or 413 that says what is wrong rather than a 500 from deep below:

- larger than the request limit (413, `KB_MAX_REQUEST_BYTES`): it would otherwise be read into memory whole;
- not JSON, or JSON with NaN/Infinity (which Python accepts but JSON does not, and which kb could
  not send back as JSON);
- nested deeper than MAX_DEPTH: Python's parser recurses, and no kb body nests beyond two levels;
- a text holding a lone surrogate (`"\\ud800"`): valid JSON escape syntax, but not Unicode text,
  so the database driver, the index and UTF-8 encoding all fail on it; or a NUL (`"\\u0000"`),
  which PostgreSQL cannot store in text. The error names the field.
"""

from __future__ import annotations

import json
from typing import IO, Any, Iterator, Mapping

from flask import request

from kb import limits
from kb.views.articleinput import RequestError

MAX_DEPTH = 16


class BodyError(Exception):
    """A request body kb cannot read or that is not shaped as the endpoint needs, with the HTTP
    status and error code that say so."""

    def __init__(self, message: str, *, status: int = 400, code: str = "bad_request"):
        super().__init__(message)
        self.status, self.code = status, code


def json_object() -> dict[str, Any]:
    """The request's body as a JSON object, or BodyError/RequestError saying what is wrong."""
    if not request.is_json:
        raise BodyError("Send a JSON object in the request body (Content-Type: application/json).")
    most = limits.limit("MAX_REQUEST_BYTES")
    if (request.content_length or 0) > most:
        raise _too_large(most)
    raw = _read_at_most(request.stream, most + 1)
    if len(raw) > most:
        raise _too_large(most)
    data = parse(raw)
    if not isinstance(data, dict):
        raise BodyError("Send a JSON object in the request body (Content-Type: application/json).")
    return data


def _read_at_most(stream: IO[bytes], limit: int) -> bytes:
    """Up to `limit` bytes of `stream`: one read() may return less than asked (a socket under gunicorn),
    and a chunked body has no Content-Length to stop at."""
    chunks, size = [], 0
    while size < limit:
        chunk = stream.read(min(64 * 1024, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _too_large(most: int) -> BodyError:
    return BodyError(
        f"The request body is larger than the limit of {most:,} bytes.", status=413, code="request_too_large"
    )


def parse(raw: bytes) -> Any:
    """Parse JSON text strictly and check its depth and strings (see the module's docstring)."""
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        raise BodyError(f"The JSON body is nested more than {MAX_DEPTH} levels deep.") from None
    except ValueError as exc:  # includes UnicodeDecodeError: the body is not UTF-8 (or -16, -32)
        raise BodyError(f"The request body is not valid JSON: {_short(exc)}") from None
    for path, value, depth in _walk(data):
        if depth > MAX_DEPTH:
            raise BodyError(f"The JSON body is nested more than {MAX_DEPTH} levels deep.")
        problem = _text_problem(value) if isinstance(value, str) else None
        if problem:
            raise RequestError(path or "body", problem)
    return data


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _short(exc: ValueError) -> str:
    return str(exc)[:200]


def _text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None."""
    if "\x00" in value:
        return "holds a NUL character (\\u0000), which cannot be stored as text"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return (
            "is not valid Unicode text: it holds a lone surrogate escape (such as \\ud800) that no "
            "character pair completes"
        )
    return None


def _walk(data: Any) -> Iterator[tuple[str, Any, int]]:
    """Every value and object key in `data` with its path ("terms[2]", "holder.slug") and depth.

    Iterative, so that a body nested as deep as the parser allows cannot exhaust the stack here.
    """
    stack: list[tuple[str, Any, int]] = [("", data, 0)]
    while stack:
        path, value, depth = stack.pop()
        yield path, value, depth
        if isinstance(value, Mapping):
            for key, item in value.items():
                child = f"{path}.{key}" if path else key
                if _text_problem(key):
                    yield (path or "body"), key, depth + 1  # the key itself is the bad text
                    continue
                stack.append((child, item, depth + 1))
        elif isinstance(value, list):
            stack.extend((f"{path}[{index}]", item, depth + 1) for index, item in enumerate(value))


def text(data: Mapping[str, Any], name: str, default: str = "") -> str:
    """The text field `name` of a JSON body (`default` when absent or null); RequestError otherwise.

    For fields that are stored or looked up as text: `str()` would quietly turn 12 into "12" and a
    list into "[...]".
    """
    value = data.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise RequestError(name, f"must be text, not {_json_type(value)}")
    return value


def _json_type(value: Any) -> str:
    return {bool: "true/false", int: "a number", float: "a number", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )
