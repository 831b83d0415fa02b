"""JSON API views: thin wrappers that read the body, call the domain, and answer JSON."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, jsonify, url_for
from sqlalchemy import select

from eta.api.body import json_object
from eta.api.openapi import openapi_document
from eta.applications import normalise_reference
from eta.extensions import csrf, db, limiter
from eta.models import Application
from eta.problems import PROBLEM_BASE, Problem, validation_problem

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


@blueprint.post("/applications/status")
@limiter.limit("20/minute;200/hour")
def application_status() -> Response:
    """Status of an application, for whoever knows its reference, passport number and birth date."""
    body = json_object()
    errors: dict[str, list[str]] = {}
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
    if errors:
        raise validation_problem(errors)

    from eta.screening.lost_stolen import normalise_document_number

    application = db.session.scalar(
        select(Application).where(Application.reference == normalise_reference(reference))
    )
    # The same answer whether the reference is unknown or the details do not match: nothing
    # here may tell an enumerator which references exist.
    if (
        application is None
        or application.passport_number_normalised != normalise_document_number(passport)
        or application.date_of_birth != birth_date
    ):
        raise Problem(
            404,
            "Not Found",
            "We could not find an application with those details.",
            type_=PROBLEM_BASE + "not-found",
        )
    answer: dict[str, Any] = {
        "reference": application.reference,
        "status": application.status,
        "events": [
            {"at": event.at.isoformat(), "status": event.to_status} for event in application.events
        ],
        "status_url": url_for("traveller.status", _external=True),
    }
    authorisation = application.authorisation
    if authorisation is not None and application.status == "approved":
        answer["valid_until"] = authorisation.valid_until.isoformat()
    return jsonify(answer)
