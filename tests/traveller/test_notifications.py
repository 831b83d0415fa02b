"""Emails to travellers, sent by the RQ job through a real local SMTP server."""

from __future__ import annotations

import pytest

from eta import applications
from eta.extensions import db, redis_client
from eta.outbox import enqueue
from eta.tasks import NOTIFICATIONS
from tests import factories
from tests.factories import submitted_application


def _enqueue(app, *args):
    with app.app_context():
        enqueue(
            redis_client.client,
            NOTIFICATIONS,
            "workers.notifications.notify_traveller",
            *args,
            job_id=f"notify-{args[0]}-{args[1]}",
        )


def test_submission_email_arrives_by_smtp_as_text_and_html(app, smtp_server, run_jobs):
    with app.app_context():
        application = submitted_application(db.session)
        app_id, reference = application.id, application.reference
    _enqueue(app, app_id, "submitted")
    assert run_jobs()
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert mail["To"] == "anna@example.org"
    assert reference in mail["Subject"]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert reference in text and reference in html
    assert "<h1>" in html and "<h1>" not in text


def test_the_email_is_in_the_applicants_language(app, smtp_server, run_jobs):
    with app.app_context():
        app_id = submitted_application(db.session, language="fr").id
    _enqueue(app, app_id, "submitted")
    run_jobs()
    assert smtp_server.messages[0]["Content-Language"] == "fr"
    assert "Nous avons reçu" in smtp_server.messages[0]["Subject"]


@pytest.mark.parametrize(
    ("language", "subject", "body", "service"),
    [
        (
            "es",
            "Hemos recibido su solicitud de ETA",
            "Gracias por solicitar una autorización electrónica de viaje (ETA).",
            "Autorización electrónica de viaje",
        ),
        (
            "de",
            "Wir haben Ihren ETA-Antrag",
            "Vielen Dank für Ihren Antrag auf eine elektronische Reisegenehmigung (ETA).",
            "Elektronische Reisegenehmigung",
        ),
    ],
)
def test_spanish_and_german_emails(app, smtp_server, run_jobs, language, subject, body, service):
    with app.app_context():
        app_id = submitted_application(db.session, language=language).id
    _enqueue(app, app_id, "submitted")
    run_jobs()
    mail = smtp_server.messages[0]
    assert mail["Content-Language"] == language
    assert mail["Subject"].startswith(subject)
    for part in ("plain", "html"):
        content = mail.get_body(preferencelist=(part,)).get_content()
        assert body in content
        assert service in content  # the signature: the service's name, translated
        assert "Electronic Travel Authorisation" not in content
    html = mail.get_body(preferencelist=("html",)).get_content()
    assert f'<html lang="{language}" dir="ltr">' in html


def test_refusal_email_gives_the_reason_and_the_appeal(app, smtp_server, run_jobs):
    from eta.models import Officer

    with app.app_context():
        application = submitted_application(db.session)
        officer = Officer(
            email="o@example.org", password_hash="x", role="officer", totp_secret="JBSWY3DPEHPK3PXP"
        )
        db.session.add(officer)
        db.session.commit()
        applications.start_screening(db.session, application)
        applications.refer(db.session, application, deadline=application.created_at)
        factories.refuse(
            db.session, application, officer_id=officer.id, reason_code="document", note=None
        )
        app_id = application.id
    _enqueue(app, app_id, "refused")
    run_jobs()
    text = smtp_server.messages[0].get_body(preferencelist=("plain",)).get_content()
    assert "reported lost or stolen" in text
    assert "reviewed within 28 days" in text


def test_information_request_shows_the_link_given(app, smtp_server, run_jobs):
    with app.app_context():
        app_id = submitted_application(db.session).id
        enqueue(
            redis_client.client,
            NOTIFICATIONS,
            "workers.notifications.notify_traveller",
            app_id,
            "info_requested",
            "https://eta.test/questions/abc",
        )
    run_jobs()
    text = smtp_server.messages[0].get_body(preferencelist=("plain",)).get_content()
    assert "https://eta.test/questions/abc" in text


def test_a_message_is_not_sent_twice(app, smtp_server):
    from workers.notifications import notify_traveller

    with app.app_context():
        app_id = submitted_application(db.session).id
        assert notify_traveller(app_id, "approved") is True
        assert notify_traveller(app_id, "approved") is False
    assert len(smtp_server.messages) == 1
    assert "/status" in smtp_server.messages[0].get_body(preferencelist=("plain",)).get_content()


def test_an_unknown_message_is_refused(app):
    from workers.notifications import notify_traveller

    with app.app_context():
        app_id = submitted_application(db.session).id
        with pytest.raises(ValueError, match="unknown notification"):
            notify_traveller(app_id, "hello")


def test_file_transport_writes_eml(tmp_path):
    from eta.mail import OutgoingMail, send

    send(
        OutgoingMail(to="a@example.org", subject="S", text="T", html="<p>T</p>"),
        mail_url=f"file://{tmp_path}",
        sender="eta@example.gov",
    )
    files = list(tmp_path.glob("*.eml"))
    assert len(files) == 1 and b"Subject: S" in files[0].read_bytes()
