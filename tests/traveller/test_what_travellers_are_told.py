"""Issue 15: what the emails and the status page tell a traveller.

On the old main an approval email gave neither the validity nor the passport number; an
information-request email gave no deadline and the status page neither the questions nor a
link; a revoked ETA showed "Cancelled" with no next step; the status page printed the validity
as an ISO date (2027-12-03).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

import pytest
from babel.dates import format_date
from flask import Flask
from flask.testing import FlaskClient

from eta import applications, authorisations
from eta.extensions import db
from eta.issuance.keys import Keyring
from eta.models import Application, InformationRequest, Officer
from tests.factories import submitted_application
from tests.traveller.test_journey import post, text

DETAILS = {
    "passport_number": "L898902C3",
    "date_of_birth-day": "12",
    "date_of_birth-month": "8",
    "date_of_birth-year": "1974",
}


@pytest.fixture
def signing_key(app: Flask) -> None:
    """An active key in the test keyring."""
    ring = Keyring.load(Path(os.environ["ETA_KEYS_DIR"]))
    if not any(info.state == "active" for info in ring.list()):
        ring.generate()


def _approved(app: Flask) -> tuple[int, str, dt.datetime]:
    with app.app_context():
        application = submitted_application(db.session)
        applications.start_screening(db.session, application)
        applications.approve(db.session, application)
        authorisation = authorisations.issue_for(db.session, application)
        assert authorisation is not None
        return application.id, application.reference, authorisation.valid_until


def _asked(app: Flask, questions: str) -> tuple[int, str, int, dt.datetime]:
    with app.app_context():
        application = submitted_application(db.session)
        applications.start_screening(db.session, application)
        applications.refer(db.session, application, deadline=application.created_at)
        officer = Officer(
            email="asker@border.test", password_hash="x", role="officer", totp_secret="JBSWY3DP"
        )
        db.session.add(officer)
        db.session.flush()
        info = InformationRequest(
            application_id=application.id, officer_id=officer.id, questions=questions
        )
        db.session.add(info)
        db.session.flush()
        applications.request_info(db.session, application, officer_id=officer.id)
        return application.id, application.reference, info.id, info.created_at


def _body(mail: Any) -> str:
    return str(mail.get_body(preferencelist=("plain",)).get_content())


def _long_date(day: dt.date) -> str:
    """The date as the pages and emails write it in English (Babel's long format)."""
    return str(format_date(day, "long", locale="en"))


def test_the_approval_email_gives_the_passport_number_and_the_validity(
    app: Flask, smtp_server: Any, signing_key: None
) -> None:
    from workers.notifications import notify_traveller

    app_id, _reference, valid_until = _approved(app)
    with app.app_context():
        assert notify_traveller(app_id, "approved")
    body = _body(smtp_server.messages[0])
    assert "Passport number: L898902C3" in body
    assert f"Valid until: {_long_date(valid_until.date())}" in body
    assert "apply again with the right number" in body


def test_the_information_email_says_by_when_to_answer(app: Flask, smtp_server: Any) -> None:
    from workers.notifications import notify_traveller

    app_id, _reference, info_id, asked_at = _asked(app, "Why do you travel?")
    with app.app_context():
        assert notify_traveller(app_id, "info_requested", None, info_id)
    days = int(app.config["ETA_INFORMATION_DAYS"])
    body = _body(smtp_server.messages[0])
    assert f"Answer by {_long_date((asked_at + dt.timedelta(days=days)).date())}" in body
    assert "/respond/" in body


def test_the_status_page_shows_the_questions_and_a_link_that_answers_them(
    app: Flask, client: FlaskClient
) -> None:
    _app_id, reference, _info, _at = _asked(app, "Which hotel will you stay in?")
    page = text(post(client, "/status", {**DETAILS, "reference": reference}))
    assert "Which hotel will you stay in?" in page
    assert "Answer by " in page
    link = re.search(r'href="([^"]*/respond/[^"]+)"', page)
    assert link, "no link to answer"
    answer_page = client.get(link.group(1))
    assert answer_page.status_code == 200
    assert "Which hotel will you stay in?" in text(answer_page)


def test_a_revoked_eta_says_what_to_do_next(
    app: Flask, client: FlaskClient, signing_key: None
) -> None:
    app_id, reference, _valid = _approved(app)
    with app.app_context():
        application = db.session.get(Application, app_id)
        assert application is not None and application.authorisation is not None
        authorisations.revoke(
            db.session,
            application.authorisation,
            reason_code="document",
            officer_id=None,
            actor="system",
        )
    page = text(post(client, "/status", {**DETAILS, "reference": reference}))
    assert 'data-status="revoked"' in page
    assert "What happens next" in page
    assert "apply for a new ETA" in page
    assert 'href="/apply' in page or "Apply for a new ETA" in page


def test_the_status_page_gives_the_validity_in_words(
    app: Flask, client: FlaskClient, signing_key: None
) -> None:
    _app_id, reference, valid_until = _approved(app)
    page = text(post(client, "/status", {**DETAILS, "reference": reference}))
    assert f"Valid until {_long_date(valid_until.date())}" in page
    assert f"Valid until {valid_until.date().isoformat()}" not in page
