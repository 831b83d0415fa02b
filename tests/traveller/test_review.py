"""The refused traveller's review request: from the status page, the form, the confirmation,
and the emails (a real RQ worker and a real local SMTP server)."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from eta import applications
from eta.applications import decisions
from eta.extensions import db
from eta.models import Application, ApplicationStatus, Decision, Officer, ReviewRequest
from eta.timeutil import utcnow
from tests.factories import submitted_application

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _csrf(page: str) -> str:
    match = _CSRF.search(page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def _staff(session: Any) -> tuple[Officer, Officer]:
    proposer = Officer(email="p@border.test", password_hash="x", totp_secret="x", role="officer")
    second = Officer(email="s@border.test", password_hash="x", totp_secret="x", role="supervisor")
    session.add_all([proposer, second])
    session.commit()
    return proposer, second


def _refuse(session: Any, application: Application, proposer: Officer, second: Officer) -> int:
    decision = decisions.propose_refusal(
        session,
        application,
        proposer,
        version=application.version,
        reason_code="document",
        note="Reported stolen",
    )
    decisions.confirm_refusal(session, application, decision, second, version=application.version)
    return decision.id


def _refused_case(app: Flask, **overrides: Any) -> int:
    with app.app_context():
        proposer, second = _staff(db.session)
        application = submitted_application(db.session, **overrides)
        applications.start_screening(db.session, application)
        applications.refer(db.session, application, deadline=utcnow())
        _refuse(db.session, application, proposer, second)
        return application.id


def _status_page(client: FlaskClient, reference: str) -> str:
    token = _csrf(client.get("/status").get_data(as_text=True))
    response = client.post(
        "/status",
        data={
            "csrf_token": token,
            "reference": reference,
            "passport_number": "L898902C3",
            "date_of_birth-day": "12",
            "date_of_birth-month": "8",
            "date_of_birth-year": "1974",
        },
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _review_link(page: str) -> str:
    match = re.search(r'href="([^"]+)" data-testid="ask-for-review"', page)
    assert match, "no review link on the status page"
    return unescape(match.group(1))


def _reference(app: Flask, application_id: int) -> str:
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert application is not None
        return application.reference


def test_a_refused_traveller_asks_for_a_review_from_the_status_page(
    app: Flask, client: FlaskClient
) -> None:
    application_id = _refused_case(app)
    reference = _reference(app, application_id)
    status = _status_page(client, reference)
    assert "Ask for a review" in status and "replying to the" not in status
    link = _review_link(status)

    form = client.get(link)
    assert form.status_code == 200
    page = form.get_data(as_text=True)
    assert "Ask for a review of the decision" in page
    assert "reported lost or stolen" in page  # the refusal's reason, in words

    empty = client.post(link, data={"csrf_token": _csrf(page), "grounds": "  "})
    assert empty.status_code == 400
    html = empty.get_data(as_text=True)
    assert "There is a problem" in html and "<title>Error:" in html
    assert '<a href="#grounds">Tell us why you think the decision is wrong</a>' in html

    sent = client.post(
        link,
        data={
            "csrf_token": _csrf(html),
            "grounds": "My passport was found and the report withdrawn.",
            "statement": "The police letter is dated 3 March.",
        },
    )
    assert sent.status_code == 302 and sent.location.endswith("/received")
    received = client.get(sent.location).get_data(as_text=True)
    assert "Request for a review received" in received and reference in received
    with app.app_context():
        stored = db.session.scalars(select(ReviewRequest)).one()
        assert stored.grounds == "My passport was found and the report withdrawn."
        assert db.session.get(Application, application_id).status == ApplicationStatus.REFERRED

    # The link again: the request is there, said plainly; no second request is made.
    assert client.get(link).location.endswith("/received")
    again = client.post(link, data={"csrf_token": _csrf(html), "grounds": "Again"})
    assert again.status_code == 302
    with app.app_context():
        assert len(db.session.scalars(select(ReviewRequest)).all()) == 1
    assert "Ask for a review" not in _status_page(client, reference)


def test_the_form_needs_its_csrf_token_and_a_link_signed_by_us(
    app: Flask, client: FlaskClient
) -> None:
    application_id = _refused_case(app)
    link = _review_link(_status_page(client, _reference(app, application_id)))
    assert client.post(link, data={"grounds": "No token"}).status_code == 400
    assert client.get("/review/not-a-real-token").status_code == 404
    assert client.get(link + "x").status_code == 404
    with app.app_context():
        assert db.session.scalars(select(ReviewRequest)).all() == []


def test_a_closed_window_is_said_in_words(app: Flask, client: FlaskClient, monkeypatch) -> None:
    application_id = _refused_case(app)
    link = _review_link(_status_page(client, _reference(app, application_id)))
    with app.app_context():
        application = db.session.get(Application, application_id)
        assert application is not None
        import datetime as dt

        application.status_changed_at = utcnow() - dt.timedelta(days=28, hours=1)
        db.session.commit()
    response = client.get(link)
    assert response.status_code == 409
    assert "you could ask within 28 days of the decision" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("language", "heading"),
    [
        ("fr", "Demander le réexamen de la décision"),
        ("es", "Solicitar la revisión de la decisión"),
        ("de", "Überprüfung der Entscheidung beantragen"),
        ("ar", "طلب مراجعة القرار"),
        ("zh", "申请复核决定"),
    ],
)
def test_the_form_speaks_the_travellers_language(
    app: Flask, client: FlaskClient, language: str, heading: str
) -> None:
    application_id = _refused_case(app)
    client.get(f"/status?lang={language}")
    link = _review_link(_status_page(client, _reference(app, application_id)))
    page = client.get(link).get_data(as_text=True)
    assert heading in page
    assert "Ask for a review of the decision" not in page


def test_a_second_refusal_after_a_review_gets_its_own_email(
    app: Flask, client: FlaskClient, smtp_server: Any, run_jobs: Any
) -> None:
    """Trap 2: the outbox key and the notify job's sent mark are per decision."""
    application_id = _refused_case(app, language="fr")
    run_jobs()
    refusal_mails = [m for m in smtp_server.messages if "Décision" in m["Subject"]]
    assert len(refusal_mails) == 1
    text = refusal_mails[0].get_body(preferencelist=("plain",)).get_content()
    emailed_link = re.search(r"(http://\S+/review/\S+)", text)
    assert emailed_link, text
    path = emailed_link.group(1).split("http://eta.test", 1)[-1]

    # The emailed link opens the form in the traveller's language.
    page = client.get(path).get_data(as_text=True)
    assert "Demander le réexamen de la décision" in page
    assert (
        client.post(
            path, data={"csrf_token": _csrf(page), "grounds": "Mon passeport a été retrouvé."}
        ).status_code
        == 302
    )
    run_jobs()
    received = [m for m in smtp_server.messages if "réexamen" in m["Subject"]]
    assert len(received) == 1 and received[0]["Content-Language"] == "fr"

    with app.app_context():
        application = db.session.get(Application, application_id)
        assert application is not None
        proposer, second = db.session.scalars(select(Officer).order_by(Officer.id)).all()
        _refuse(db.session, application, proposer, second)
        assert len(db.session.scalars(select(Decision)).all()) == 2
    run_jobs()
    refusal_mails = [m for m in smtp_server.messages if "Décision" in m["Subject"]]
    assert len(refusal_mails) == 2
