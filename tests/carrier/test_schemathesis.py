"""Property-based checks of the carrier API against its own OpenAPI document (schemathesis)."""

from __future__ import annotations

import re
from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from eta.carrier.paxlst import MIMETYPE as EDIFACT

# PAXLST bodies are text: schemathesis sends the generated strings as they are.
schemathesis.serializer.alias(EDIFACT, "text/plain")


# Characters eta refuses in any string (a 422 naming the field), which the schema cannot say.
REFUSED_AT_EDGE = re.compile("[\x00\ud800-\udfff]")


def _strings(value: Any) -> list[str]:
    """Every string in a JSON value (keys included)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def test_carrier_endpoints_match_their_schema(
    app: Flask, auth_headers: dict[str, str], signing_key: None
) -> None:
    """No 5xx, and every response (answers and problems) matches the documented schema.

    Built from /api/v1/openapi.json as served; the per-operation strategies are driven here
    rather than through schemathesis' lazy pytest fixture, which pytest 9 no longer supports.
    """
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app).include(
        path_regex="^/carrier/"
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {operation.path for operation in operations} == {
        "/carrier/verify",
        "/carrier/verify-batch",
        "/carrier/paxlst",
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
                refused_at_edge = any(REFUSED_AT_EDGE.search(text) for text in _strings(case.body))
                excluded = (
                    [positive_data_acceptance]
                    if case.path == "/carrier/paxlst" or refused_at_edge
                    else []
                )
                response = case.call_and_validate(headers=auth_headers, excluded_checks=excluded)
                statuses.add(response.status_code)

            check()
    finally:
        app.config["ETA_CARRIER_RATE_LIMIT"] = saved_limit
        app.config["ETA_CARRIER_INVALID_KEY_RATE_LIMIT"] = saved_refused
    assert 200 in statuses  # the key was accepted: the answers themselves were checked
