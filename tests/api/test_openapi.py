"""The OpenAPI 3.1 document is valid, and real responses match the schemas it declares."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
import openapi_spec_validator as spec_validator
import pytest

from tests.factories import valid_payload


@pytest.fixture
def document(client) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def _check(document: dict[str, Any], path: str, response: Any) -> None:
    """Validate a real response against the schema the document gives for its status."""
    declared = document["paths"][path]["post"]["responses"]
    assert str(response.status_code) in declared, (path, response.status_code)
    content = declared[str(response.status_code)]["content"]
    assert response.mimetype in content, (path, response.mimetype)
    schema = {**content[response.mimetype]["schema"], "components": document["components"]}
    jsonschema.validate(
        response.get_json(force=True),
        schema,
        cls=jsonschema.Draft202012Validator,
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    )


def test_the_document_is_valid_openapi_31(document):
    spec_validator.validate(document)
    assert document["openapi"] == "3.1.0"
    assert {"/api/v1/applications", "/api/v1/applications/status"} <= set(document["paths"])
    assert document["servers"] == [{"url": "/", "description": "This deployment (ETA_PUBLIC_URL)"}]


def test_the_request_schema_accepts_the_valid_example(document):
    schema = {"$ref": "#/components/schemas/ApplicationRequest", **document}
    jsonschema.validate(valid_payload(), schema, cls=jsonschema.Draft202012Validator)


def test_real_responses_match_their_schemas(client, document, no_rate_limits):
    accepted = client.post("/api/v1/applications", json=valid_payload())
    _check(document, "/api/v1/applications", accepted)
    _check(document, "/api/v1/applications", client.post("/api/v1/applications", json={}))
    _check(document, "/api/v1/applications", client.post("/api/v1/applications", data=b"{"))
    _check(
        document,
        "/api/v1/applications",
        client.post("/api/v1/applications", data=b"x", content_type="text/plain"),
    )
    query = {
        "reference": accepted.get_json()["reference"],
        "passport_number": "L898902C3",
        "date_of_birth": "1974-08-12",
    }
    found = client.post("/api/v1/applications/status", json=query)
    assert found.status_code == 200
    _check(document, "/api/v1/applications/status", found)
    missing = client.post(
        "/api/v1/applications/status", json={**query, "date_of_birth": "1974-08-13"}
    )
    _check(document, "/api/v1/applications/status", missing)
    _check(
        document, "/api/v1/applications/status", client.post("/api/v1/applications/status", json={})
    )


def test_a_rate_limited_answer_matches_too(client, document, monkeypatch):
    monkeypatch.setitem(client.application.config, "ETA_APPLY_RATE_LIMIT", "1/day")
    client.post("/api/v1/applications", json={})
    limited = client.post("/api/v1/applications", json={})
    assert limited.status_code == 429
    _check(document, "/api/v1/applications", limited)


def test_the_public_key_set_matches_its_schema(client, document):
    """The JWKS (served at the site root) is listed there, with the media type it is served as."""
    declared = document["paths"]["/.well-known/jwks.json"]
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    content = declared["get"]["responses"]["200"]["content"]
    assert list(content) == [response.mimetype] == ["application/jwk-set+json"]
    schema = content[response.mimetype]["schema"]
    jsonschema.validate(
        response.get_json(),
        {**schema, "components": document["components"]},
        cls=jsonschema.Draft202012Validator,
    )
    assert response.get_json()["keys"], "a keyring is made on first use outside production"


def test_the_revocation_list_is_described(client, document):
    declared = document["paths"]["/api/v1/revocations"]["get"]["responses"]["200"]["content"]
    response = client.get("/api/v1/revocations")
    assert response.status_code == 200
    assert response.mimetype in declared
    assert response.get_data(as_text=True).count(".") == 2  # a compact JWS


def test_the_location_of_a_submission_is_the_status_resource(client, document, no_rate_limits):
    """A program follows Location to the API's status resource, not the HTML page."""
    accepted = client.post("/api/v1/applications", json=valid_payload())
    assert accepted.status_code == 202
    location = accepted.headers["Location"]
    assert location.endswith("/api/v1/applications/status")
    path = "/" + location.split("://", 1)[1].split("/", 1)[1]
    assert path in document["paths"] and "post" in document["paths"][path]
    query = {
        "reference": accepted.get_json()["reference"],
        "passport_number": "L898902C3",
        "date_of_birth": "1974-08-12",
    }
    followed = client.post(path, json=query)
    assert followed.status_code == 200
    assert followed.get_json()["reference"] == query["reference"]


def _examples(document: dict[str, Any]) -> Iterator[tuple[str, str, Any, Any]]:
    """(where, media type, example, schema) of every request body and answer with content;
    the example is ``None`` where the document has none."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
                yield f"{where} request", media_type, media.get("example"), media["schema"]
            for status, answer in operation["responses"].items():
                for media_type, media in answer.get("content", {}).items():
                    yield f"{where} {status}", media_type, media.get("example"), media["schema"]


def test_every_operation_has_examples_that_match_their_schemas(document):
    """Issue 13: a request example where there is a body, an answer example for every
    documented answer with a body; each validates against its schema, so a program may copy
    it. (An answer without a body, 304, has nothing to show.)"""
    missing, checked = [], 0
    for where, media_type, example, schema in _examples(document):
        if example is None:
            missing.append(f"{where} {media_type}")
            continue
        jsonschema.validate(
            example,
            {**schema, "components": document["components"]},
            cls=jsonschema.Draft202012Validator,
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
        )
        if media_type.endswith("problem+json"):
            assert example["status"] == int(where.rsplit(" ", 1)[1]), where
        checked += 1
    assert not missing, missing
    assert checked >= 60


def test_the_walk_would_catch_an_operation_without_examples(document):
    """The walk above fails on a missing example: shown on a copy with one taken out."""
    operation = document["paths"]["/api/v1/applications/status"]["post"]
    del operation["responses"]["200"]["content"]["application/json"]["example"]
    missing = [where for where, _media, example, _schema in _examples(document) if example is None]
    assert missing == ["POST /api/v1/applications/status 200"]


def test_every_operation_documents_the_503_with_retry_after(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            answer = operation["responses"].get("503")
            assert answer is not None, (method, path)
            assert "Retry-After" in answer["headers"], (method, path)
