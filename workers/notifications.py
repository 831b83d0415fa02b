"""Emails to travellers: on submission, each decision, a request for information, revocation,
and the receipt of a request for a review."""

from __future__ import annotations

import datetime as dt
import logging

from flask import render_template
from flask_babel import force_locale, format_date
from rq import get_current_job

from eta import outbox
from eta.applications.reasons import appeal_text, describe
from eta.applications.review import refusal_of
from eta.extensions import db, redis_client
from eta.mail import OutgoingMail, send
from eta.models import Application, InformationRequest
from eta.web.i18n import service_name
from eta.web.links import information_link, review_link
from workers.context import app, job

log = logging.getLogger(__name__)

MESSAGES = ("submitted", "approved", "refused", "info_requested", "revoked", "review_requested")

# A sent message is remembered for a week, so a retried or re-enqueued job does not send twice.
SENT_TTL_SECONDS = 7 * 24 * 3600


def _reason_code(application: Application) -> str | None:
    for event in reversed(application.events):
        if event.reason_code:
            return event.reason_code
    return None


def _answer_by(information_request_id: int | None) -> dt.date | None:
    """The last day the traveller can answer an information request (ETA_INFORMATION_DAYS)."""
    if information_request_id is None:
        return None
    info = db.session.get(InformationRequest, information_request_id)
    if info is None:
        return None
    return (info.created_at + dt.timedelta(days=int(app().config["ETA_INFORMATION_DAYS"]))).date()


def render_notification(
    application: Application,
    message: str,
    link: str | None = None,
    information_request_id: int | None = None,
    review_url: str | None = None,
) -> OutgoingMail:
    """The email for `message` about `application`, in the applicant's language.

    An approval says until when the ETA is valid and for which passport (so a typo shows before
    the journey); an information request says by when to answer; a refusal links to the review
    request form (`review_url`).
    """
    if message not in MESSAGES:
        raise ValueError(f"unknown notification {message!r}")
    config = app().config
    with force_locale(application.language or "en"):
        reason = appeal = None
        if message in ("refused", "revoked"):
            reason = describe(_reason_code(application))
            appeal = appeal_text() if message == "refused" else None
        authorisation = application.authorisation
        answer_by = _answer_by(information_request_id)
        context = {
            "application": application,
            "message": message,
            "link": link,
            "valid_until": (
                format_date(authorisation.valid_until.date(), "long")
                if message == "approved" and authorisation is not None
                else None
            ),
            "answer_by": format_date(answer_by, "long") if answer_by else None,
            "status_url": f"{config['ETA_ISSUER']}/status",
            "reason": reason,
            "appeal": appeal,
            "review_url": review_url,
            "service_name": service_name(),
        }
        # Subjects live in a template so the catalogue extraction (templates/**) finds them.
        context["subject"] = " ".join(render_template("emails/subject.txt", **context).split())
        return OutgoingMail(
            to=application.email,
            subject=str(context["subject"]),
            text=render_template("emails/notification.txt", **context),
            html=render_template("emails/notification.html", **context),
            language=application.language or "en",
        )


@job
def notify_traveller(
    application_id: int,
    message: str,
    link: str | None = None,
    information_request_id: int | None = None,
    about_id: int | None = None,
) -> bool:
    """Email the applicant about `message` (one of MESSAGES); `link` is shown when given.

    With `information_request_id`, the link is the signed one to answer that request.
    `about_id` names the decision (a refusal) or review request the message is about: a case
    refused, reviewed and refused again gets a second refusal email, not a silent duplicate.
    Idempotent: a message whose outbox row is done, or already sent for this application (and
    this `about_id`), is not sent again. Returns whether an email was sent. Logs carry the
    application id only, never personal data.
    """
    current = get_current_job()
    if current is not None and outbox.is_done(db.session, current.id):
        return False
    # From the job's arguments, not from the links made below: a signed link carries the time
    # it was signed, so a retry would otherwise never find the mark of the first send.
    sent_key = (
        f"eta:notified:{application_id}:{message}:{link or ''}"
        f":{information_request_id or ''}:{about_id or ''}"
    )
    if information_request_id is not None:
        link = information_link(information_request_id)
    application = db.session.get(Application, application_id)
    if application is None:
        log.warning("notification %s for missing application %s", message, application_id)
        return False
    if application.erased_at is not None:
        # Erased under the retention limit: there is no address left to write to.
        log.info("notification %s for erased application %s skipped", message, application_id)
        return False
    connection = redis_client.client
    if connection.exists(sent_key):
        return False
    review_url = None
    if message == "refused":
        refusal = refusal_of(db.session, application)
        if refusal is not None and (about_id is None or refusal.id == about_id):
            review_url = review_link(application.id, refusal.id, application.language)
    mail = render_notification(application, message, link, information_request_id, review_url)
    config = app().config
    send(mail, mail_url=config["ETA_MAIL_URL"], sender=config["ETA_MAIL_SENDER"])
    connection.set(sent_key, "1", ex=SENT_TTL_SECONDS)
    log.info("sent %s notification for application %s", message, application_id)
    return True
