"""How one operation of kb's OpenAPI document is written: security, parameters, and every status
code it can answer, the ones that follow from its role and method added by `operation()`."""

from __future__ import annotations

from typing import Iterable

from kb.views.jsonbody import MAX_DEPTH
from kb.views.openapi.schema import MEDIA_TYPE, STRING, Schema, error_response, ref

# Any one of these authenticates a request; writes with the cookie also need the CSRF header.
READ_SECURITY = [{"bearerToken": []}, {"sessionCookie": []}]
WRITE_SECURITY = [{"bearerToken": []}, {"sessionCookie": [], "csrfHeader": []}]

SECURITY_SCHEMES: dict[str, Schema] = {
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token from `kb token create USER`, sent as `Authorization: Bearer <token>`.",
    },
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "session",
        "description": "The session cookie of a browser logged in to kb.",
    },
    "csrfHeader": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRFToken",
        "description": "With the session cookie, every write needs the page's CSRF token "
        '(`<meta name="csrf-token">`) in this header. Token callers do not send it.',
    },
}

ROLE_NOTES = {
    None: "No login needed.",
    "any": "Any logged-in role.",
    "author": "Authors and admins.",
    "trainer": "Trainers and admins.",
    "admin": "Admins only.",
}


def ok(status: int, description: str, schema: Schema) -> dict[int, Schema]:
    return {status: {"description": description, "content": {MEDIA_TYPE: {"schema": schema}}}}


def path_param(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


def query_param(name: str, schema: Schema, description: str, *, required: bool = False) -> Schema:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


SLUG = {**path_param("slug", STRING, "The article's slug."), "example": "printer-shows-offline"}


def operation(
    operation_id: str,
    summary: str,
    *,
    tag: str,
    role: str | None,
    responses: dict[int, Schema],
    params: Iterable[Schema] = (),
    body: str | None = None,
    write: bool = False,
    errors: dict[int, Schema] | None = None,
    description: str = "",
) -> Schema:
    """One operation with every status code it can answer.

    The codes that follow from how it is called are added here: 400 for a NUL in the URL (any
    operation), 401 and 503 (no database) when it needs a login, 403 when only some roles may use
    it, 400 (CSRF, body) and 413 for writes with a body. `errors` adds the operation's own, and replaces these where it names the same code.
    """
    codes: dict[int, Schema] = dict(responses)
    bad_request = ["a NUL character (%00) in the path or a query parameter, which kb refuses everywhere (`invalid`)"]
    if write:
        bad_request.append("a session-cookie write without a valid `X-CSRFToken` header (`csrf`)")
    if body:
        bad_request.append(
            "a body that is not a JSON object, is not valid JSON, is nested deeper than "
            f"{MAX_DEPTH} levels (`bad_request`), or holds text that cannot be stored: a lone surrogate "
            "such as \\ud800, or a NUL (`invalid`, with `field`)"
        )
        codes[413] = {"$ref": "#/components/responses/TooLarge"}
    if role is not None:  # a login is a database read: it can find the database gone (kb.views)
        codes[401] = {"$ref": "#/components/responses/Unauthorized"}
        codes[503] = {"$ref": "#/components/responses/DatabaseUnavailable"}
    if role not in (None, "any"):
        codes[403] = {"$ref": "#/components/responses/Forbidden"}
    for status, response in (errors or {}).items():
        if status == 400:
            bad_request.insert(0, response["description"])
        else:
            codes[status] = response
    if bad_request:
        codes[400] = error_response("Refused: " + "; or ".join(bad_request) + ".")
    result: Schema = {
        "operationId": operation_id,
        "summary": summary,
        "description": " ".join(filter(None, [description, ROLE_NOTES[role]])),
        "tags": [tag],
        "responses": {str(status): codes[status] for status in sorted(codes)},
    }
    if role is None:
        result["security"] = []
    elif write:
        result["security"] = WRITE_SECURITY
    if params:
        result["parameters"] = list(params)
    if body:
        result["requestBody"] = {"required": True, "content": {MEDIA_TYPE: {"schema": ref(body)}}}
    return result


def invalid(description: str) -> dict[int, Schema]:
    return {400: error_response(description)}


def not_found(description: str) -> dict[int, Schema]:
    return {404: error_response(description)}


# For operations that search: the index can fail them as well as the database.
INDEX_UNAVAILABLE = {503: {"$ref": "#/components/responses/Unavailable"}}
