"""Property-based checks of the carrier API against its own OpenAPI document (schemathesis)."""

from __future__ import annotations

from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from tests.openapi_cases import refused_at_edge


def test_carrier_endpoints_match_their_schema(
    app: Flask, auth_headers: dict[str, str], signing_key: None
) -> None:
    """No 5xx, and every response (answers and problems) matches the documented schema.

    Built from /api/v1/openapi.json as served; the per-operation strategies are driven here
    rather than through schemathesis' lazy pytest fixture, which pytest 9 no longer supports.
    """
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app).include(
        path_regex="^/api/v1/carrier/"
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {operation.path for operation in operations} == {
        "/api/v1/carrier/verify",
        "/api/v1/carrier/verify-batch",
        "/api/v1/carrier/paxlst",
    }
    statuses: set[int] = set()
    saved_limit = app.config["ETA_CARRIER_RATE_LIMIT"]
    app.config["ETA_CARRIER_RATE_LIMIT"] = "100000/minute"  # hundreds of requests in seconds
    # Its unauthenticated probes count against the address's allowance of refused requests.
    saved_refused = app.config["ETA_CARRIER_INVALID_KEY_RATE_LIMIT"]
    app.config["ETA_CARRIER_INVALID_KEY_RATE_LIMIT"] = "100000/minute"
    try:
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
            def check(case: Any) -> None:
                # A PAXLST body is any string to the schema, but only an EDIFACT interchange
                # is accepted: random strings get a 422, so that check cannot hold there. No
                # 5xx, and every answer's schema, still hold.
                # NUL and lone surrogates are refused at the edge, in every string (a 422 naming
                # the field): valid JSON to the schema, so acceptance cannot hold for them either.
                excluded = (
                    [positive_data_acceptance]
                    if case.path == "/api/v1/carrier/paxlst" or refused_at_edge(case)
                    else []
                )
                response = case.call_and_validate(headers=auth_headers, excluded_checks=excluded)
                statuses.add(response.status_code)

            check()
    finally:
        app.config["ETA_CARRIER_RATE_LIMIT"] = saved_limit
        app.config["ETA_CARRIER_INVALID_KEY_RATE_LIMIT"] = saved_refused
    assert 200 in statuses  # the key was accepted: the answers themselves were checked
