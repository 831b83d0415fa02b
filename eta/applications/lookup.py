"""Looking up an application for its traveller, and what the status page and API show of it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from eta.applications.lifecycle import normalise_reference
from eta.documents import normalise_document_number
from eta.extensions import db
from eta.models import Application, ApplicationStatus

DECIDED_WITH_REASON = (ApplicationStatus.REFUSED, ApplicationStatus.REVOKED)


def find_application(
    reference: str, passport_number: str, date_of_birth: dt.date
) -> Application | None:
    """The application with this reference, if the passport number and birth date match too.

    None alike for an unknown reference and for wrong details, so the answer never tells an
    enumerator which references exist.
    """
    application = db.session.scalar(
        select(Application).where(Application.reference == normalise_reference(reference))
    )
    if (
        application is None
        # Erased under the retention limit: nothing left to check the details against.
        or application.erased_at is not None
        or application.passport_number_normalised
        != normalise_document_number(passport_number).upper()
        or application.date_of_birth != date_of_birth
    ):
        return None
    return application


def authorisation_of(application: Application) -> dict[str, Any] | None:
    """The issued authorisation's summary (token, pdf_url, qr_png_url, valid_until), if any."""
    if application.status != ApplicationStatus.APPROVED:
        return None
    # Integration point with issuance: eta.authorisations.authorisation_summary(application).
    from eta.authorisations import authorisation_summary

    return authorisation_summary(application)


def reason_code(application: Application) -> str | None:
    """The reason code of the decision that refused or revoked the application."""
    for event in reversed(application.events):
        if event.to_status == application.status:
            return event.reason_code
    return None


def status_document(application: Application, status_url: str) -> dict[str, Any]:
    """The JSON answer of POST /api/v1/applications/status (SPEC §4)."""
    answer: dict[str, Any] = {
        "reference": application.reference,
        "status": application.status,
        "events": [
            {"at": aware(event.at).isoformat(), "status": event.to_status}
            for event in application.events
        ],
        "status_url": status_url,
    }
    summary = authorisation_of(application)
    if summary is not None:
        answer["valid_until"] = summary["valid_until"]
        answer["authorisation"] = {"token": summary["token"], "pdf_url": summary["pdf_url"]}
    return answer


def aware(moment: dt.datetime) -> dt.datetime:
    """The moment as an aware UTC datetime."""
    # SQLite hands datetimes back naive; they were stored as UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
