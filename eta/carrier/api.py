"""The carrier JSON API: verify one passenger or a manifest of up to 1,000 (SPEC §4)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from flask_limiter.errors import RateLimitExceeded

from eta.api.body import json_object
from eta.carrier.auth import authenticate_api_key, rate_limit, rate_limit_key
from eta.carrier.service import MAX_BATCH, check_and_record, parse_passenger
from eta.carrier.verification import PassengerQuery
from eta.extensions import csrf, limiter
from eta.problems import PROBLEM_BASE, Problem, validation_problem

blueprint = Blueprint("carrier_api", __name__, url_prefix="/api/v1/carrier")
csrf.exempt(blueprint)  # API keys, not browser sessions, authenticate these requests


@blueprint.errorhandler(RateLimitExceeded)
def too_many_requests(error: RateLimitExceeded) -> Response:
    """A clear 429 problem: which limit, and that it is per API key."""
    return Problem(
        429,
        "Too Many Requests",
        f"This API key is over its limit of {error.description} requests. "
        "Retry after the number of seconds in Retry-After, or ask for a higher limit.",
        type_=PROBLEM_BASE + "rate-limited",
    ).to_response()


@blueprint.post("/verify")
@limiter.limit(rate_limit, key_func=rate_limit_key)
def verify() -> Response:
    """Verify one passenger by token or by passport data."""
    caller = authenticate_api_key()
    body = json_object()
    errors: dict[str, list[str]] = {}
    query = parse_passenger(body, "", errors)
    if errors or query is None:
        raise validation_problem(errors)
    (answer,) = check_and_record(
        [query], carrier_id=caller.carrier_id, api_key_id=caller.api_key_id, batch=False
    )
    return jsonify(answer.to_json())


@blueprint.post("/verify-batch")
@limiter.limit(rate_limit, key_func=rate_limit_key)
def verify_batch() -> Response:
    """Verify up to 1,000 passengers in one request; the answers come in the same order."""
    caller = authenticate_api_key()
    body = json_object()
    errors: dict[str, list[str]] = {}
    for field in sorted(set(body) - {"passengers"}):
        errors.setdefault(field, []).append("Unknown field.")
    passengers = body.get("passengers")
    if not isinstance(passengers, list):
        errors.setdefault("passengers", []).append("Send a list of passengers.")
        raise validation_problem(errors)
    if not 1 <= len(passengers) <= MAX_BATCH:
        errors.setdefault("passengers", []).append(
            f"Send between 1 and {MAX_BATCH} passengers per request."
        )
        raise validation_problem(errors)
    queries: list[PassengerQuery] = []
    for index, item in enumerate(passengers):
        query = parse_passenger(item, f"passengers.{index}.", errors)
        if query is not None:
            queries.append(query)
    if errors:
        raise validation_problem(errors)
    answers = check_and_record(
        queries, carrier_id=caller.carrier_id, api_key_id=caller.api_key_id, batch=True
    )
    return jsonify({"results": [answer.to_json() for answer in answers]})
