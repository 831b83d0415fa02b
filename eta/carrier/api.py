"""The carrier JSON API: verify one passenger or a manifest of up to 1,000 (SPEC §4).

Verification is the hot path of check-in, so each request costs one Redis round trip (the
rate limit, which also reads the carrier state's version: admission.py) and, for passports, one
database statement in autocommit; tokens are answered from the process's carrier state
(state.py) while it is current. The query log is written in batches (querylog.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import Blueprint, Response, current_app, jsonify, request

from eta.api.body import json_object
from eta.carrier import paxlst
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
from eta.timeutil import utcnow
from eta.web.problems import PROBLEM_BASE, Problem, validation_problem

blueprint = Blueprint("carrier_api", __name__, url_prefix="/api/v1/carrier")
csrf.exempt(blueprint)  # API keys, not browser sessions, authenticate these requests

T = TypeVar("T")


@limiter.request_filter
def _limited_per_key() -> bool:
    """Flask-Limiter skips these views: admit_request counts them per key, more cheaply."""
    return request.blueprint == blueprint.name


def _caller() -> tuple[ApiCaller, Admission]:
    """Authenticate first (refused keys count per address), then count by key id."""
    caller = identify_api_key()
    return caller, admit_request(caller)


def _read(parse: Callable[[], T]) -> T:
    """Parse the body; a bad body from a key that is no longer valid still gets the 401."""
    try:
        return parse()
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


def _passenger_list(body: dict[str, Any]) -> list[Any]:
    """The batch's passengers, unparsed: each is answered or gets its own errors."""
    errors: dict[str, list[str]] = {}
    for field in sorted(set(body) - {"passengers"}):
        errors.setdefault(field, []).append("Unknown field.")
    passengers = body.get("passengers")
    if not isinstance(passengers, list):
        errors.setdefault("passengers", []).append("Send a list of passengers.")
    elif not 1 <= len(passengers) <= MAX_BATCH:
        errors.setdefault("passengers", []).append(
            f"Send between 1 and {MAX_BATCH} passengers per request."
        )
    if errors or not isinstance(passengers, list):
        raise validation_problem(errors)
    return passengers


def _answer_items(
    items: Sequence[Any], caller: ApiCaller, admission: Admission
) -> list[dict[str, Any]]:
    """Answer each passenger item in order, the valid ones in one check (one database read).

    An invalid item gets ``{"result": "ERROR", "errors": {...}}`` in its place (SPEC §6), so
    one mistyped passport does not hold up the rest of the flight.
    """
    queries: list[PassengerQuery | None] = []
    item_errors: list[dict[str, list[str]]] = []
    for item in items:
        errors: dict[str, list[str]] = {}
        queries.append(parse_passenger(item, "", errors))
        item_errors.append(errors)
    valid = [query for query in queries if query is not None]
    answers = iter(_answer(valid, caller, admission, batch=True))
    return [
        next(answers).to_json() if query is not None else {"result": "ERROR", "errors": errors}
        for query, errors in zip(queries, item_errors, strict=True)
    ]


def _edifact_manifest() -> paxlst.ManifestInterchange:
    """The request's PAXLST interchange, or the problem that says what is wrong with it."""
    if request.mimetype != paxlst.MIMETYPE:
        raise Problem(
            415,
            "Unsupported Media Type",
            f"Send the PAXLST interchange with Content-Type: {paxlst.MIMETYPE}.",
            type_=PROBLEM_BASE + "unsupported-media-type",
        )
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is not None and request.content_length > limit:
        raise Problem(413, "Content Too Large", f"The body must be at most {limit} bytes.")
    try:
        interchange = paxlst.parse(request.get_data(cache=True), today=utcnow().date())
    except paxlst.ManifestError as error:
        raise Problem(
            422,
            "The manifest cannot be read",
            f"{error} Nothing in this interchange was checked: correct it and send it again.",
            type_=PROBLEM_BASE + "invalid-manifest",
            errors={error.where: [error.reason]},
        ) from None
    travellers = sum(len(message.travellers) for message in interchange.messages)
    if travellers > MAX_BATCH:
        raise validation_problem(
            {"": [f"Send at most {MAX_BATCH} travellers per interchange, not {travellers}."]}
        )
    return interchange


@blueprint.post("/verify")
def verify() -> Response:
    """Verify one passenger by token or by passport data."""
    caller, admission = _caller()
    query = _read(lambda: _one_passenger(json_object()))
    (answer,) = _answer([query], caller, admission, batch=False)
    return jsonify(answer.to_json())


@blueprint.post("/verify-batch")
def verify_batch() -> Response:
    """Verify up to 1,000 passengers in one request; the answers come in the same order."""
    caller, admission = _caller()
    items = _read(lambda: _passenger_list(json_object()))
    return jsonify({"results": _answer_items(items, caller, admission)})


@blueprint.post("/paxlst")
def verify_paxlst() -> Response:
    """Verify a UN/EDIFACT PAXLST manifest; JSON answers, or CUSRES when asked for EDIFACT."""
    caller, admission = _caller()
    interchange = _read(_edifact_manifest)
    results = paxlst.answer(interchange, lambda items: _answer_items(items, caller, admission))
    if request.accept_mimetypes.best_match(["application/json", paxlst.MIMETYPE]) == (
        paxlst.MIMETYPE
    ):
        cusres = paxlst.write_cusres(interchange, results, now=utcnow())
        return Response(cusres, mimetype=paxlst.MIMETYPE)
    return jsonify({"results": results})
