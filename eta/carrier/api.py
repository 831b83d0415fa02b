"""The carrier JSON API: verify one passenger or a manifest of up to 1,000 (SPEC §4).

Verification is the hot path of check-in, so each request costs one Redis round trip (the
rate limit, which also reads the carrier state's version: admission.py) and, for passports, one
database statement in autocommit; tokens are answered from the process's carrier state
(state.py) while it is current. The query log is written in batches (querylog.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, jsonify, request

from eta.api.body import json_object
from eta.carrier.admission import Admission
from eta.carrier.auth import (
    ApiCaller,
    admit_request,
    authenticate_api_key,
    forget_api_key,
    identify_api_key,
    revoked_key_problem,
)
from eta.carrier.service import MAX_BATCH, check_and_record, parse_passenger
from eta.carrier.verification import Answer, ApiKeyNotActive, PassengerQuery
from eta.extensions import csrf, limiter
from eta.web.problems import Problem, validation_problem

blueprint = Blueprint("carrier_api", __name__, url_prefix="/api/v1/carrier")
csrf.exempt(blueprint)  # API keys, not browser sessions, authenticate these requests

T = TypeVar("T")


@limiter.request_filter
def _limited_per_key() -> bool:
    """Flask-Limiter skips these views: admit_request counts them per key, more cheaply."""
    return request.blueprint == blueprint.name


def _caller() -> tuple[ApiCaller, Admission]:
    admission = admit_request()
    return identify_api_key(), admission


def _read(parse: Callable[[dict[str, Any]], T]) -> T:
    """Parse the body; a bad body from a key that is no longer valid still gets the 401."""
    try:
        return parse(json_object())
    except Problem:
        authenticate_api_key()  # raises the 401 for a revoked key; a valid one keeps the 4xx
        raise


def _answer(
    queries: list[PassengerQuery], caller: ApiCaller, admission: Admission, *, batch: bool
) -> list[Answer]:
    try:
        return check_and_record(
            queries,
            carrier_id=caller.carrier_id,
            api_key_id=caller.api_key_id,
            batch=batch,
            state_version=admission.state_version,
        )
    except ApiKeyNotActive:  # revoked since this process last saw the key
        forget_api_key()
        raise revoked_key_problem() from None


def _one_passenger(body: dict[str, Any]) -> PassengerQuery:
    errors: dict[str, list[str]] = {}
    query = parse_passenger(body, "", errors)
    if errors or query is None:
        raise validation_problem(errors)
    return query


def _manifest(body: dict[str, Any]) -> list[PassengerQuery]:
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
    return queries


@blueprint.post("/verify")
def verify() -> Response:
    """Verify one passenger by token or by passport data."""
    caller, admission = _caller()
    query = _read(_one_passenger)
    (answer,) = _answer([query], caller, admission, batch=False)
    return jsonify(answer.to_json())


@blueprint.post("/verify-batch")
def verify_batch() -> Response:
    """Verify up to 1,000 passengers in one request; the answers come in the same order."""
    caller, admission = _caller()
    queries = _read(_manifest)
    answers = _answer(queries, caller, admission, batch=True)
    return jsonify({"results": [answer.to_json() for answer in answers]})
