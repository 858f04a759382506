"""/api/v1/openapi.json describes the `api` blueprint exactly: every route with exactly its methods
and nothing else, who may call each operation, and the error shape of every failure. (That every
response the tests get matches it is checked for every test, in conftest.py.)"""

from __future__ import annotations

from dataclasses import replace

import apispec
import pytest
from conftest import make_app
from openapi_spec_validator import validate

from kb.views import openapi

AUTOMATIC_METHODS = {"HEAD", "OPTIONS"}  # Flask answers these for every route itself


def api_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("openapi"), serving=False)
    return app, app.test_client().get("/api/v1/openapi.json")


def test_the_document_is_served_without_login_as_valid_openapi_3_1(served):
    _, response = served
    assert response.status_code == 200 and response.is_json
    document = response.get_json()
    validate(document)  # raises, saying where, when the document breaks the OpenAPI 3.1 schema
    assert document["openapi"].startswith("3.1.") and document["servers"] == [{"url": "/api/v1"}]
    assert document == apispec.document()


def test_every_api_route_is_documented_with_exactly_its_methods_and_nothing_else(served):
    app, _ = served
    routes: dict[str, set[str]] = {}
    for rule in api_rules(app):
        routes.setdefault(apispec.spec_path(rule.rule), set()).update(rule.methods - AUTOMATIC_METHODS)
    assert routes, "no api routes found"
    assert routes == apispec.operations()


def test_each_operation_says_who_may_call_it(served):
    """Login (401), roles (403), public operations and the CSRF header follow the views' role checks."""
    app, _ = served
    for rule in api_rules(app):
        roles = getattr(app.view_functions[rule.endpoint], "kb_roles", None)  # None: no login needed
        for method in rule.methods - AUTOMATIC_METHODS:
            operation = apispec.document()["paths"][apispec.spec_path(rule.rule)][method.lower()]
            codes, where = set(operation["responses"]), (method, rule.rule)
            assert ("401" in codes) == (roles is not None), where
            # An operation any role may call answers 403 only as it says itself (listPaths: `retired=1`
            # is for trainers), never with the shared "the caller's role may not do this".
            own_403 = roles == () and "$ref" not in operation["responses"].get("403", {"$ref": ""})
            assert ("403" in codes) == bool(roles) or own_403, where
            if roles is None:
                assert operation["security"] == [], where
            elif method == "GET":
                assert "security" not in operation, where  # the document's default: token or cookie
            else:
                assert operation["security"] == openapi.WRITE_SECURITY and "400" in codes, where


def error_alternatives(schema: dict) -> list[dict]:
    schema = apispec.resolve(schema)
    if "oneOf" in schema:
        return [alternative for s in schema["oneOf"] for alternative in error_alternatives(s)]
    return [schema]


def test_every_failure_is_documented_with_the_error_shape():
    for path, item in apispec.document()["paths"].items():
        for method, operation in item.items():
            if method not in apispec.HTTP_METHODS:
                continue
            assert any(code.startswith("2") for code in operation["responses"]), (method, path)
            for code, response in operation["responses"].items():
                if int(code) < 400:
                    continue
                schema = apispec.resolve(response)["content"][openapi.MEDIA_TYPE]["schema"]
                for alternative in error_alternatives(schema):
                    assert {"error", "message"} <= set(alternative["required"]), (method, path, code)


def test_an_unknown_api_path_and_a_wrong_method_get_the_error_shape(served):
    app, _ = served
    client = app.test_client()
    for response in (client.get("/api/v1/nothing"), client.delete("/api/v1/me")):
        assert response.status_code in (404, 405)
        assert apispec.schema_errors("/components/schemas/Error", response.get_json()) == []


def test_the_response_check_sees_responses_and_catches_undocumented_ones(served):
    """The check conftest.py runs after every test is not vacuous: it records, and it refuses."""
    app, _ = served
    with apispec.recording() as seen:
        app.test_client().get("/api/v1/me")
    assert [str(s) for s in seen] == ["GET /api/v1/me -> 401"] and apispec.problems(seen) == []
    assert "not documented" in apispec.problem(replace(seen[0], status=418))
    assert "does not match" in apispec.problem(replace(seen[0], body={"error": "unauthorized"}))
    assert "does not match" in apispec.problem(replace(seen[0], status=200, body={"username": "x", "role": "king"}))
    assert "not in the OpenAPI document" in apispec.problem(replace(seen[0], method="PUT"))
