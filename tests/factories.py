"""Builders for test data: a valid application with sensible defaults, overridable per test."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from eta import applications
from eta.models import Application
from eta.timeutil import today


def application_fields(**overrides: Any) -> dict[str, Any]:
    """Column values of a valid application (the ICAO specimen traveller)."""
    arrival = today() + dt.timedelta(days=30)
    fields: dict[str, Any] = {
        "given_names": "Anna Maria",
        "surname": "Eriksson",
        "given_names_mrz": "ANNA MARIA",
        "surname_mrz": "ERIKSSON",
        "sex": "F",
        "date_of_birth": dt.date(1974, 8, 12),
        "place_of_birth": "Stockholm",
        "nationality": "SWE",
        "passport_number": "L898902C3",
        "passport_number_normalised": "L898902C3",
        "passport_issuing_country": "SWE",
        "passport_issue_date": today() - dt.timedelta(days=400),
        "passport_expiry_date": today() + dt.timedelta(days=3000),
        "email": "anna@example.org",
        "address_line1": "Storgatan 1",
        "address_city": "Stockholm",
        "address_country": "SWE",
        "occupation": "Teacher",
        "travel_purpose": "tourism",
        "intended_arrival": arrival,
        "answers": {
            "criminal_conviction": False,
            "previous_refusal": False,
            "removed_or_deported": False,
            "conflict_zone_travel": False,
        },
    }
    fields.update(overrides)
    return fields


def submitted_application(session: Session, **overrides: Any) -> Application:
    """A committed application in status `submitted`."""
    return applications.submit(session, Application(**application_fields(**overrides)))
