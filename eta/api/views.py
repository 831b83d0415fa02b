"""JSON API views: thin wrappers that read the body, call the domain, and answer JSON."""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, current_app, jsonify, request

from eta.api.body import json_object
from eta.api.openapi import openapi_document
from eta.extensions import configured_limit, csrf, db, limiter
from eta.web.problems import PROBLEM_BASE, Problem, validation_problem
from eta.web.urls import public_url

if TYPE_CHECKING:
    from eta.models import Application

log = logging.getLogger(__name__)

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(blueprint)  # programs authenticate by other means; no browser session is involved


@blueprint.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 description of this API."""
    response = jsonify(openapi_document())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def _text(body: dict[str, Any], field: str, errors: dict[str, list[str]], message: str) -> str:
    value = body.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        errors.setdefault(field, []).append(message)
        return ""
    if not isinstance(value, str):
        errors.setdefault(field, []).append("Must be a string.")
        return ""
    if len(value) > 100:
        errors.setdefault(field, []).append("Must be at most 100 characters.")
        return ""
    return value.strip()


IDEMPOTENCY_HEADER = "Idempotency-Key"


def _review_problems() -> dict[type, str]:
    from eta.applications import review

    return {
        review.NotRefused: "review-not-possible",
        review.AlreadyRequested: "review-already-requested",
        review.WindowClosed: "review-window-closed",
    }


@blueprint.post("/applications")
@limiter.limit(configured_limit("ETA_APPLY_RATE_LIMIT"))
def submit_application() -> tuple[Response, int]:
    """Apply for an ETA: the same validation as the web form; 202 with the reference.

    With an Idempotency-Key header, a retry answers as the first request did (SPEC §6).
    """
    from eta.applications.idempotency import IdempotencyKeyReused, InvalidIdempotencyKey
    from eta.applications.submission import InvalidApplication, submit_document
    from eta.identity.faces import FaceModelError

    # Its own body limit: a base64 photo is larger than any other request (ETA_PHOTO_MAX_BYTES).
    body = json_object(int(current_app.config["ETA_APPLICATION_MAX_BYTES"]))
    try:
        submitted = submit_document(
            body, channel="api", idempotency_key=request.headers.get(IDEMPOTENCY_HEADER)
        )
    except InvalidIdempotencyKey as error:
        raise Problem(
            400,
            "Bad Request",
            str(error),
            type_=PROBLEM_BASE + "invalid-idempotency-key",
            errors={IDEMPOTENCY_HEADER: [str(error)]},
        ) from None
    except IdempotencyKeyReused:
        raise Problem(
            422,
            "Unprocessable Content",
            "This Idempotency-Key was already used with another request body: "
            "use a new key for a new application.",
            type_=PROBLEM_BASE + "idempotency-key-reused",
        ) from None
    except InvalidApplication as error:
        raise validation_problem(error.errors) from None
    except FaceModelError:
        log.exception("the photo quality gate could not run")
        raise Problem(
            503,
            "Service Unavailable",
            "Photos cannot be checked at the moment: try again in a few minutes.",
            type_=PROBLEM_BASE + "photo-check-unavailable",
            headers={"Retry-After": "60"},
        ) from None
    status_url = public_url("traveller.status")
    response = jsonify({**submitted.answer(), "status_url": status_url})
    # For programs: the status resource of this API (POST the reference, passport number and
    # date of birth there; no personal data goes in a URL). status_url is the traveller's page.
    response.headers["Location"] = public_url("api.application_status")
    if submitted.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response, 202


@blueprint.post("/applications/status")
@limiter.limit(configured_limit("ETA_STATUS_API_RATE_LIMIT"))
def application_status() -> Response:
    """Status of an application, for whoever knows its reference, passport number and birth date."""
    body = json_object()
    errors: dict[str, list[str]] = {}
    details = _traveller_details(body, errors)
    if errors:
        raise validation_problem(errors)

    from eta.applications.lookup import status_document

    application = _identified_application(*details)
    return jsonify(status_document(application, public_url("traveller.status")))


def _traveller_details(
    body: dict[str, Any], errors: dict[str, list[str]]
) -> tuple[str, str, dt.date | None]:
    """The reference, passport number and birth date a traveller identifies with (errors noted)."""
    reference = _text(body, "reference", errors, "Enter your application reference.")
    passport = _text(body, "passport_number", errors, "Enter your passport number.")
    born = _text(body, "date_of_birth", errors, "Enter your date of birth.")
    birth_date: dt.date | None = None
    if born:
        try:
            birth_date = dt.date.fromisoformat(born)
        except ValueError:
            errors.setdefault("date_of_birth", []).append(
                "Date of birth must be a real date written as YYYY-MM-DD."
            )
    return reference, passport, birth_date


def _identified_application(
    reference: str, passport: str, birth_date: dt.date | None
) -> Application:
    """The application those details identify; a 404 problem when none does."""
    from eta.applications.lookup import find_application

    assert birth_date is not None  # noqa: S101  (errors above otherwise)
    application = find_application(reference, passport, birth_date)
    if application is None:
        raise Problem(
            404,
            "Not Found",
            "We could not find an application with those details.",
            type_=PROBLEM_BASE + "not-found",
        )
    return application


def _optional_text(body: dict[str, Any], field: str, errors: dict[str, list[str]]) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        errors.setdefault(field, []).append("Must be a string.")
        return None
    return value


@blueprint.post("/applications/review")
@limiter.limit(configured_limit("ETA_STATUS_API_RATE_LIMIT"))
def request_review() -> tuple[Response, int]:
    """Ask for the review of a refusal: the traveller's details as for the status, and grounds.

    Once per refusal, within ETA_REVIEW_WINDOW_DAYS; 202 with the application's new status.
    """
    from eta.applications import review
    from eta.applications.lookup import aware

    body = json_object()
    errors: dict[str, list[str]] = {}
    details = _traveller_details(body, errors)
    grounds = _optional_text(body, "grounds", errors)
    statement = _optional_text(body, "statement", errors)
    for field, messages in review.review_errors(grounds, statement).items():
        if field not in errors:
            errors[field] = [str(message) for message in messages]
    if errors:
        raise validation_problem(errors)
    application = _identified_application(*details)
    try:
        found = review.request_review(
            db.session, application, grounds=grounds or "", statement=statement
        )
    except review.InvalidReview as error:
        raise validation_problem(
            {field: [str(m) for m in messages] for field, messages in error.errors.items()}
        ) from None
    except review.ReviewError as error:
        raise Problem(
            409,
            "Conflict",
            str(error.message),
            type_=PROBLEM_BASE + _review_problems().get(type(error), "review-not-possible"),
        ) from None
    response = jsonify(
        {
            "reference": application.reference,
            "status": application.status,
            "review": {"requested_at": aware(found.created_at).isoformat()},
            "status_url": public_url("traveller.status"),
        }
    )
    response.headers["Location"] = public_url("api.application_status")
    return response, 202
