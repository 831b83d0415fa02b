"""The whole OpenAPI document against the app (schemathesis over WSGI), on the test stack.

Every operation the document lists, at its listed path, with data that fits its schema
(positive) and data that does not (negative): never a 5xx, only documented statuses, content
types, headers and bodies, valid data accepted and invalid data refused. The budget is bounded
(a few dozen examples an operation) so it runs in seconds in `make test`, on SQLite and on
PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
)

from tests.carrier.conftest import auth_headers, carrier_key, signing_key  # noqa: F401
from tests.openapi_cases import refused_at_edge

EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 15}
# Where "valid to the schema" is not "accepted", by design, so that check cannot hold: a PAXLST
# message is "a string" to the schema but only an EDIFACT interchange is accepted; an
# application is checked against today (dates), the configured nationalities and the passport's
# check digits, rules no JSON Schema can state (the 422 names each field, as documented); a
# consistency proof needs `from` no larger than `to`, a rule between two parameters.
BEYOND_THE_SCHEMA = {"/api/v1/carrier/paxlst", "/api/v1/applications"}

# schemathesis reads application/jwt as JSON (its media_types.JSON_MEDIA_TYPES), but a compact
# JWS is three base64url parts: its body is checked by tests/api/test_openapi.py instead.
COMPACT_JWS = {"/api/v1/revocations"}
# SPEC §6: an invalid passenger of a batch gets {"result": "ERROR", "errors"} in its place and
# the batch is answered 200, so "invalid data is refused" cannot hold there.
ANSWERED_IN_PLACE = {"/api/v1/carrier/verify-batch"}


def _beyond_the_schema(case: Any) -> bool:
    """Whether the case is valid to the schema but breaks a rule the schema cannot state."""
    if case.path in BEYOND_THE_SCHEMA or refused_at_edge(case):
        return True
    query = case.query or {}
    sizes = (query.get("from"), query.get("to"))
    if case.path == "/api/v1/audit/consistency" and all(isinstance(n, int) for n in sizes):
        return bool(sizes[0] > sizes[1])
    return False


@pytest.fixture
def schema(app: Flask) -> Any:
    """The document as served, loaded by schemathesis over WSGI."""
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.fixture
def generous_limits(app: Flask) -> Iterator[None]:
    """Hundreds of requests in seconds from one address: the rate limiter is switched off."""
    from eta.extensions import limiter

    limiter.enabled = False
    # The carrier API's refused-key allowance per address is its own counter (one Redis round
    # trip with the key's limits, eta.carrier.admission), not flask-limiter's: raised too.
    saved_refused = app.config["ETA_CARRIER_INVALID_KEY_RATE_LIMIT"]
    app.config["ETA_CARRIER_INVALID_KEY_RATE_LIMIT"] = "100000/minute"
    try:
        yield
    finally:
        limiter.enabled = True
        app.config["ETA_CARRIER_INVALID_KEY_RATE_LIMIT"] = saved_refused


def _operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def test_every_listed_path_resolves(app: Flask, schema: Any) -> None:
    """Each path of the document, under its server, is a route of the app with that method."""
    adapter = app.url_map.bind("eta.test")
    listed = {(operation.path, operation.method.upper()) for operation in _operations(schema)}
    assert ("/.well-known/jwks.json", "GET") in listed
    for path, method in listed:
        endpoint, _ = adapter.match(path, method=method)
        assert endpoint, (path, method)
    assert schema.base_path == "/"


def _takes_input(operation: Any) -> bool:
    return any(
        len(part)
        for part in (operation.body, operation.query, operation.path_parameters, operation.headers)
    )


@pytest.mark.parametrize("mode", list(EXAMPLES), ids=str)
def test_the_api_keeps_to_its_document(
    app: Flask,
    schema: Any,
    mode: GenerationMode,
    auth_headers: dict[str, str],  # noqa: F811
    signing_key: None,  # noqa: F811
    generous_limits: None,
) -> None:
    """No 5xx, and every answer is the one the document describes (schemathesis' checks)."""
    statuses: dict[str, set[int]] = {}
    operations = _operations(schema)
    if mode is GenerationMode.NEGATIVE:  # a GET without parameters has no invalid request
        operations = [operation for operation in operations if _takes_input(operation)]
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES[mode],
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: Any) -> None:
            excluded = [positive_data_acceptance] if _beyond_the_schema(case) else []
            if case.path in ANSWERED_IN_PLACE:
                excluded.append(negative_data_rejection)
            if case.path in COMPACT_JWS:
                excluded.append(response_schema_conformance)
            response = case.call_and_validate(headers=auth_headers, excluded_checks=excluded)
            statuses.setdefault(case.path, set()).add(response.status_code)

        check()
    assert statuses.keys() == {operation.path for operation in operations}
    if mode is GenerationMode.POSITIVE:
        # Valid requests were answered, not only refused: the checks saw real answers.
        assert 202 in statuses["/api/v1/applications"] or 422 in statuses["/api/v1/applications"]
        assert 200 in statuses["/api/v1/carrier/verify"]
        assert 200 in statuses["/.well-known/jwks.json"]
