"""The JSON API described for tools, as an OpenAPI 3.1 document served at /api/v1/openapi.json.

Why 3.1 rather than 3.0.3: a 3.1 document's schemas are plain JSON Schema (2020-12), so the very
same dicts validate responses in the tests with an ordinary JSON-schema validator, and null is
written as JSON Schema writes it (`"type": ["string", "null"]`) instead of 3.0's `nullable`.

Why by hand, as data, rather than with a generator such as apispec: the views read their JSON
bodies by hand (kb.views.jsonbody, kb.views.articleinput), with no marshmallow-style schema layer
to generate from, so apispec would only move the same facts into YAML docstrings spread over the
views. Here each schema is written once and composed with small helpers, limits and enums come from
the code that enforces them, and the tests hold the document to the app: tests/test_openapi.py fails
when a route of the `api` blueprint is missing, has other methods or other role checks, and
tests/conftest.py and tests/test_schemathesis.py fail when a response is not described here.

The parts: `schema` (JSON Schema helpers, the error shape), `bodies` (request and response bodies),
`operations` (how one operation is written: security and status codes) and `paths` (the API).
"""

from __future__ import annotations

from kb.views.openapi import learning, loop, paths
from kb.views.openapi.bodies import INPUT_SCHEMAS, SCHEMAS
from kb.views.openapi.operations import READ_SECURITY, SECURITY_SCHEMES, WRITE_SECURITY
from kb.views.openapi.schema import COMMON_RESPONSES, ERROR_CODES, MEDIA_TYPE, Schema

__all__ = ["document", "MEDIA_TYPE", "OPENAPI_VERSION", "WRITE_SECURITY"]

OPENAPI_VERSION = "3.1.0"


def document() -> Schema:
    """The whole OpenAPI document; paths are relative to the server, /api/v1."""
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "kb JSON API",
            "version": "1",
            "description": "Everything a person can do in kb's pages, with the same role checks. Every error "
            'is JSON: `{"error": code, "message": text, ...}`; the codes are '
            + "; ".join(f"`{code}`: {meaning}" for code, meaning in ERROR_CODES.items())
            + ".",
        },
        "servers": [{"url": "/api/v1"}],
        "security": READ_SECURITY,
        "tags": [
            {"name": "search", "description": "Finding articles during a call."},
            {"name": "articles", "description": "Reading, writing and rating articles, and their history."},
            {"name": "flags", "description": "Agents flag articles; authors resolve the flags."},
            {"name": "vocabulary", "description": "Synonym groups and golden queries, which keep search right."},
            {
                "name": "accounts",
                "description": "The caller, their password and API tokens, and, for admins, the users.",
            },
            {
                "name": learning.TAG,
                "description": "Reading paths: trainers build them, assign them to people and teams and watch "
                "progress; everyone follows the paths they were given.",
            },
            {
                "name": loop.TAG,
                "description": "The knowledge loop: calls linked to articles, the knowledge-gap queue, root fixes, "
                "the recurring-problems board and the insights dashboard's figures.",
            },
            {"name": "operations", "description": "Health, status and this document."},
        ],
        "paths": {
            **paths.search(),
            **paths.articles(),
            **paths.vocabulary(),
            **paths.accounts(),
            **learning.operations(),
            **loop.operations(),
            **paths.operations(),
        },
        "components": {
            "schemas": {
                **SCHEMAS,
                **INPUT_SCHEMAS,
                **learning.SCHEMAS,
                **learning.INPUT_SCHEMAS,
                **loop.SCHEMAS,
                **loop.INPUT_SCHEMAS,
            },
            "responses": COMMON_RESPONSES,
            "securitySchemes": SECURITY_SCHEMES,
        },
    }
