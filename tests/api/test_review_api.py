"""POST /api/v1/applications/review: a refused traveller's review request through the JSON API."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from eta.extensions import db
from eta.models import Application, ApplicationStatus, ReviewRequest
from tests.factories import refused_application, submitted_application

URL = "/api/v1/applications/review"


def _details(reference: str, **extra: Any) -> dict[str, Any]:
    return {
        "reference": reference,
        "passport_number": "L898902C3",
        "date_of_birth": "1974-08-12",
        **extra,
    }


def _refused(app: Flask) -> str:
    with app.app_context():
        return refused_application(db.session).reference


def test_a_review_request_is_accepted_once(
    app: Flask, client: FlaskClient, no_rate_limits: None
) -> None:
    reference = _refused(app)
    answer = client.post(URL, json=_details(reference, grounds="The report was withdrawn."))
    assert answer.status_code == 202, answer.get_json()
    body = answer.get_json()
    assert body["reference"] == reference and body["status"] == "referred"
    assert body["review"]["requested_at"]
    assert answer.headers["Location"].endswith("/api/v1/applications/status")
    with app.app_context():
        application = db.session.scalar(
            select(Application).where(Application.reference == reference)
        )
        assert application is not None and application.status == ApplicationStatus.REFERRED
        stored = db.session.scalars(select(ReviewRequest)).one()
        assert stored.grounds == "The report was withdrawn." and stored.statement is None

    again = client.post(URL, json=_details(reference, grounds="Again"))
    assert again.status_code == 409
    assert again.mimetype == "application/problem+json"
    problem = again.get_json()
    assert problem["type"].endswith("/review-already-requested")
    assert "already asked for a review of this decision" in problem["detail"]


def test_wrong_details_are_not_found_and_missing_grounds_are_named(
    app: Flask, client: FlaskClient, no_rate_limits: None
) -> None:
    reference = _refused(app)
    wrong = client.post(
        URL, json={**_details(reference, grounds="x"), "date_of_birth": "1974-08-13"}
    )
    assert wrong.status_code == 404
    blank = client.post(URL, json=_details(reference, grounds="   ", statement=3))
    assert blank.status_code == 422
    errors = blank.get_json()["errors"]
    assert errors["grounds"] == ["Tell us why you think the decision is wrong"]
    assert errors["statement"] == ["Must be a string."]
    too_long = client.post(URL, json=_details(reference, grounds="x" * 5001))
    assert too_long.get_json()["errors"]["grounds"] == [
        "Your reasons must be 5000 characters or fewer"
    ]
    with app.app_context():
        assert db.session.scalars(select(ReviewRequest)).all() == []


def test_an_application_not_refused_cannot_be_reviewed_and_problems_speak_french(
    app: Flask, client: FlaskClient, no_rate_limits: None
) -> None:
    with app.app_context():
        reference = submitted_application(db.session).reference
    answer = client.post(
        URL, json=_details(reference, grounds="Why?"), headers={"Accept-Language": "fr"}
    )
    assert answer.status_code == 409
    problem = answer.get_json()
    assert problem["type"].endswith("/review-not-possible")
    assert problem["title"] == "Conflit"
    assert problem["detail"] == "Vous ne pouvez demander le réexamen que d’une demande refusée."
