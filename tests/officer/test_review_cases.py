"""A review request in the back office: labelled in the queue, its grounds on the case page,
and decided as any referral (the label goes once decided)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from eta.applications import review
from eta.extensions import db
from eta.models import Application, ReviewOutcome, ReviewRequest
from tests.factories import refused_application
from tests.officer.conftest import Staff, csrf_token

SignedIn = Callable[..., tuple[FlaskClient, Staff]]


def _reviewed_case(app: Flask) -> int:
    with app.app_context():
        application = refused_application(db.session)
        review.request_review(
            db.session,
            application,
            grounds="The conviction was quashed on appeal.",
            statement="Court order 2015/443.",
        )
        return application.id


def test_the_queue_labels_a_review_and_the_case_shows_its_grounds(
    app: Flask, signed_in: SignedIn
) -> None:
    case_id = _reviewed_case(app)
    client, _staff = signed_in("supervisor")
    queue = client.get("/officer/").get_data(as_text=True)
    assert f"/officer/cases/{case_id}" in queue and "Review requested" in queue
    page = client.get(f"/officer/cases/{case_id}").get_data(as_text=True)
    assert "The conviction was quashed on appeal." in page
    assert "Court order 2015/443." in page

    with app.app_context():
        version = db.session.get(Application, case_id).version  # type: ignore[union-attr]
    token = csrf_token(client, "/officer/account")
    answer = client.post(
        f"/officer/cases/{case_id}/approve", data={"csrf_token": token, "version": str(version)}
    )
    assert answer.status_code == 302
    with app.app_context():
        found: Any = db.session.query(ReviewRequest).one()
        assert found.outcome == ReviewOutcome.OVERTURNED
    assert "Review requested" not in client.get("/officer/").get_data(as_text=True)
    assert "Refusal overturned" in client.get(f"/officer/cases/{case_id}").get_data(as_text=True)
