"""The building blocks of kb's OpenAPI document: JSON Schema helpers, and the error shape every
failure shares (`{"error": code, "message": text, ...}`)."""

from __future__ import annotations

from typing import Any, Iterable

from kb.limits import DEFAULT_LIMITS

Schema = dict[str, Any]

MEDIA_TYPE = "application/json"

STRING: Schema = {"type": "string"}
TEXT_OR_NULL: Schema = {"type": ["string", "null"]}
INTEGER: Schema = {"type": "integer"}
COUNT: Schema = {"type": "integer", "minimum": 0}
BOOLEAN: Schema = {"type": "boolean"}
NUMBER: Schema = {"type": "number"}
TIMESTAMP: Schema = {"type": "string", "format": "date-time"}
TIMESTAMP_OR_NULL: Schema = {"type": ["string", "null"], "format": "date-time"}
# Absolute under KB_BASE_URL, else relative to kb's root ("/articles/vpn"): see kb/views/urls.py.
URL: Schema = {"type": "string", "format": "uri-reference"}
STRINGS: Schema = {"type": "array", "items": STRING}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def described(schema: Schema, description: str) -> Schema:
    return {**schema, "description": description}


def one_of_values(values: Iterable[str], description: str | None = None) -> Schema:
    schema: Schema = {"type": "string", "enum": list(values)}
    return described(schema, description) if description else schema


def obj(properties: dict[str, Schema], *, required: Iterable[str] | None = None, closed: bool = True) -> Schema:
    """An object schema; every property is required unless `required` says otherwise.

    Responses are `closed` (no property beyond those listed), so a field added to a view without
    being documented here fails the tests; request bodies stay open because kb ignores unknown keys.
    """
    schema: Schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties if required is None else required),
    }
    if closed:
        schema["additionalProperties"] = False
    return schema


def with_examples(schema: Schema, *examples: Any) -> Schema:
    """`schema` with sample values: for readers, and the first values schemathesis tries."""
    return {**schema, "examples": list(examples)}


def array_of(name: str) -> Schema:
    return {"type": "array", "items": ref(name)}


# --- errors --------------------------------------------------------------------------------------

ERROR_CODES = {
    "bad_request": "the body is not a JSON object, is not valid JSON or is nested too deeply; or a required "
    "parameter is missing",
    "invalid": "a field has the wrong type or an unusable value: `field` or `fields` names it",
    "csrf": "a write sent with a session cookie lacks a valid `X-CSRFToken` header",
    "unauthorized": "no session cookie and no valid bearer token",
    "forbidden": "the caller's role may not do this",
    "not_found": "no such article, revision, user, API token, synonym group, golden query, reading path, step, "
    "team or knowledge gap (or one the caller may not see)",
    "method_not_allowed": "the path exists, but not with this method",
    "request_too_large": f"the body is larger than the request limit ({DEFAULT_LIMITS['MAX_REQUEST_BYTES']:,} bytes by default)",
    "too_many_requests": "too many password attempts: wait the seconds the `Retry-After` header gives",
    "conflict": "the article (or setting, reading path or root fix) was saved by someone else after the version "
    "the edit is based on; or a team of that name exists; or the knowledge gap was closed already",
    "slug_taken": "the slug belongs to another article",
    "precondition_required": "an article or path update without the `version` it is based on",
    "index_unavailable": "the search index is damaged; the message names the command that repairs it",
    "database_unavailable": "kb cannot reach its database right now; try again in a moment",
    "unavailable": "this process cannot reach its database or its search index",
}


def error_schema(code: str | None = None, extra: dict[str, Schema] | None = None) -> Schema:
    """The error shape every failure shares, narrowed to one `code` with its extra fields."""
    properties: dict[str, Schema] = {
        "error": {"const": code} if code else one_of_values(ERROR_CODES),
        "message": described(STRING, "What went wrong and what to do about it, for a person to read."),
    }
    if extra:
        return obj({**properties, **extra})
    return obj(
        {
            **properties,
            "field": described(STRING, "The request field that is wrong."),
            "fields": described({"type": "object", "additionalProperties": STRING}, "Each wrong field's problem."),
        },
        required=["error", "message"],
    )


CHANGE = obj({"op": one_of_values(["equal", "insert", "delete"]), "text": STRING})

ERROR_SCHEMAS: dict[str, Schema] = {
    "Error": error_schema(),
    "Conflict": error_schema(
        "conflict",
        {
            "current_version": described(INTEGER, "The version to base the next attempt on."),
            "changes": described(
                {"type": "array", "items": CHANGE},
                "Word by word, what changed since the version the edit was based on.",
            ),
            "changed_by": described(STRINGS, "Who saved in between."),
        },
    ),
    "SlugTaken": error_schema(
        "slug_taken",
        {"field": {"const": "slug"}, "holder": obj({"slug": STRING, "title": STRING, "url": URL})},
    ),
    "SettingConflict": error_schema(
        "conflict", {"current_version": described(INTEGER, "The version to read and base the next attempt on.")}
    ),
    "PreconditionRequired": error_schema("precondition_required", {"field": {"const": "version"}}),
}


def error_response(description: str, schema: Schema | None = None) -> Schema:
    return {"description": description, "content": {MEDIA_TYPE: {"schema": schema or ref("Error")}}}


# Responses that many operations share, by status code.
COMMON_RESPONSES: dict[str, Schema] = {
    "Unauthorized": error_response("Not logged in: send a session cookie or `Authorization: Bearer <token>`."),
    "Forbidden": error_response("The caller's role may not do this."),
    "NotFound": error_response("Nothing here that the caller may see."),
    "TooLarge": error_response(
        f"The body is larger than the request limit ({DEFAULT_LIMITS['MAX_REQUEST_BYTES']:,} bytes by default)."
    ),
    "DatabaseUnavailable": error_response("kb cannot reach its database right now (`database_unavailable`)."),
    "Unavailable": error_response(
        "The search index is damaged (`index_unavailable`: the message says how to rebuild it), or kb cannot "
        "reach its database right now (`database_unavailable`)."
    ),
}
