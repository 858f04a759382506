"""Hold the JSON API to its OpenAPI document (kb.views.openapi) with a JSON-schema validator.

`recording()` collects every response an in-process kb app sends for /api/v1 while a test runs
(through Flask's `request_finished` signal, so the test client, threads and error handlers are all
seen); `problems()` says which of them the document does not describe: an operation that is not
there, a status code it does not list, or a body its schema refuses. conftest.py applies this to
every test, so the responses the whole suite gets keep the document honest.
"""

from __future__ import annotations

import json
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any, Iterator
from urllib.parse import quote

from flask import Flask, Response, request, request_finished
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from kb.views import openapi

PREFIX = "/api/v1"
DOCUMENT_URI = "urn:kb:openapi"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


@dataclass(frozen=True)
class Seen:
    method: str
    rule: str | None  # the URL rule that matched, None when none did (404, 405)
    path: str
    status: int
    body: Any  # parsed JSON, or the raw text when it was not JSON
    media_type: str = openapi.MEDIA_TYPE  # the response's Content-Type, without its parameters

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


@cache
def document() -> dict[str, Any]:
    # Through JSON, as a client sees it: tuples become lists, keys become strings.
    return json.loads(json.dumps(openapi.document()))


def spec_path(rule: str) -> str:
    """`/api/v1/articles/<slug>/revisions/<int:number>` -> `/articles/{slug}/revisions/{number}`."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.removeprefix(PREFIX))


def operations() -> dict[str, set[str]]:
    """The document's paths, each with its methods in upper case."""
    return {path: {m.upper() for m in item if m in HTTP_METHODS} for path, item in document()["paths"].items()}


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local `$ref` ("#/components/...") to what it names."""
    while "$ref" in node:
        target: Any = document()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


@cache
def _registry() -> Registry:
    return Registry().with_resource(DOCUMENT_URI, Resource(contents=document(), specification=DRAFT202012))


def validator(pointer: str) -> Draft202012Validator:
    """A validator for the schema at JSON `pointer` in the document, its `$ref`s resolved within it."""
    schema = {"$ref": f"{DOCUMENT_URI}#{quote(pointer, safe='/~')}"}
    return Draft202012Validator(schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def _pointer(*parts: str) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def schema_errors(pointer: str, body: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message}" for e in validator(pointer).iter_errors(body)
    ]


def problem(seen: Seen) -> str | None:
    """What is wrong with a response according to the document, or None.

    A JSON body is checked against the schema of its status; another kind (text/csv) only against
    the media types the document lists for that status.
    """
    if seen.media_type == openapi.MEDIA_TYPE and not isinstance(seen.body, (dict, list)):
        return f"{seen}: not a JSON object or array: {str(seen.body)[:200]!r}"
    if seen.rule is None:  # no such route: the shared error shape still applies
        errors = schema_errors(_pointer("components", "schemas", "Error"), seen.body)
        return f"{seen}: {errors}" if errors else None
    path, method = spec_path(seen.rule), seen.method.lower()
    if method == "head":
        method = "get"
    item = document()["paths"].get(path, {})
    if method not in item:
        return f"{seen}: {method.upper()} {path} is not in the OpenAPI document"
    responses = item[method]["responses"]
    if str(seen.status) not in responses:
        return f"{seen}: status {seen.status} is not documented for {method.upper()} {path} (only {sorted(responses)})"
    response = responses[str(seen.status)]
    if seen.media_type not in resolve(response).get("content", {}):
        return f"{seen}: {seen.media_type} is not documented for {method.upper()} {path} with status {seen.status}"
    if seen.media_type != openapi.MEDIA_TYPE:
        return None  # text, such as a CSV file: the document gives its media type, not a JSON schema
    if "$ref" in response:
        pointer = _pointer(*response["$ref"].removeprefix("#/").split("/"), "content", openapi.MEDIA_TYPE, "schema")
    else:
        pointer = _pointer(
            "paths", path, method, "responses", str(seen.status), "content", openapi.MEDIA_TYPE, "schema"
        )
    errors = schema_errors(pointer, seen.body)
    return f"{seen}: the body does not match the document: {errors}" if errors else None


@contextmanager
def recording() -> Iterator[list[Seen]]:
    """Collect the API responses of every kb app in this process while the block runs."""
    seen: list[Seen] = []
    lock = threading.Lock()

    def record(sender: Flask, response: Response, **_: Any) -> None:
        if not request.path.startswith(PREFIX + "/"):
            return
        text = response.get_data(as_text=True)
        try:
            body: Any = json.loads(text) if response.mimetype == openapi.MEDIA_TYPE else text
        except ValueError:
            body = text
        rule = request.url_rule.rule if request.url_rule is not None else None
        with lock:
            seen.append(Seen(request.method, rule, request.path, response.status_code, body, response.mimetype))

    request_finished.connect(record)
    try:
        yield seen
    finally:
        request_finished.disconnect(record)


def problems(seen: list[Seen]) -> list[str]:
    return [p for p in map(problem, seen) if p]
