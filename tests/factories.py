"""Builders for test data: a valid application with sensible defaults, overridable per test."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from eta import applications
from eta.audit import sequencer
from eta.audit.checkpoints import log_signer
from eta.audit.verify import Report, verify_configured
from eta.models import (
    Application,
    Decision,
    DecisionKind,
    DecisionState,
    Officer,
    RiskRule,
    RiskRuleVersion,
)
from eta.timeutil import today, utcnow


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


def confirm_refusal(
    session: Session, application: Application, proposer_id: int, reason_code: str = "x"
) -> Decision:
    """Record a refusal of `application` proposed by `proposer_id` and confirmed by a second
    officer (four eyes), as the lifecycle requires before it refuses; flushed, not committed."""
    second = Officer(
        email=f"second-{application.id}-{proposer_id}@example.org",
        password_hash="x",
        totp_secret="x",
        role="supervisor",
    )
    session.add(second)
    session.flush()
    decision = Decision(
        application_id=application.id,
        kind=DecisionKind.REFUSE,
        state=DecisionState.CONFIRMED,
        reason_code=reason_code,
        proposed_by_id=proposer_id,
        confirmed_by_id=second.id,
        confirmed_at=utcnow(),
    )
    session.add(decision)
    session.flush()
    return decision


def refuse(
    session: Session,
    application: Application,
    *,
    officer_id: int,
    reason_code: str,
    note: str | None = None,
) -> Application:
    """Refuse `application` as officers do: a confirmed four-eyes decision, then the move."""
    confirm_refusal(session, application, officer_id, reason_code)
    return applications.refuse(
        session, application, officer_id=officer_id, reason_code=reason_code, note=note
    )


def refused_application(session: Session, **overrides: Any) -> Application:
    """A committed application, screened, referred and refused by an officer of its own."""
    officer = Officer(email="refuser@example.org", password_hash="x", totp_secret="x")
    session.add(officer)
    session.commit()
    application = submitted_application(session, **overrides)
    applications.start_screening(session, application)
    applications.refer(session, application, deadline=utcnow())
    refuse(session, application, officer_id=officer.id, reason_code="x")
    return application


def enabled_rule(
    session: Session, name: str, conditions: dict[str, Any], *, number: int = 1
) -> RiskRuleVersion:
    """An enabled risk rule whose current version (``number``) has ``conditions``; flushed."""
    rule = RiskRule(name=name, enabled=True)
    session.add(rule)
    session.flush()
    version = RiskRuleVersion(rule_id=rule.id, number=number, conditions=conditions)
    session.add(version)
    session.flush()
    rule.current_version_id = version.id
    return version


# The SPEC §4 example as the API takes it (the ICAO specimen traveller).
VALID: dict[str, Any] = {
    "given_names": "Anna Maria",
    "surname": "Eriksson",
    "sex": "F",
    "date_of_birth": "1974-08-12",
    "place_of_birth": "Stockholm",
    "nationality": "SWE",
    "passport": {
        "number": "L898902C3",
        "issuing_country": "SWE",
        "issue_date": "2022-04-16",
        "expiry_date": "2032-04-15",
    },
    "email": "anna@example.org",
    "phone": "+46701234567",
    "home_address": {"line1": "Storgatan 1", "city": "Stockholm", "country": "SWE"},
    "occupation": "Teacher",
    "travel": {"purpose": "tourism", "intended_arrival": ""},
    "answers": {
        "criminal_conviction": False,
        "previous_refusal": False,
        "removed_or_deported": False,
        "conflict_zone_travel": False,
    },
    "language": "en",
    "declaration": True,
}


def valid_payload(**overrides: Any) -> dict[str, Any]:
    """A valid application; arrival 30 days from today."""
    payload = copy.deepcopy(VALID)
    payload["travel"]["intended_arrival"] = (today() + dt.timedelta(days=30)).isoformat()
    payload.update(overrides)
    return payload


def verified_log(session: Any) -> Report:
    """Sequence the audit events waiting, sign a checkpoint, then check the whole audit log."""
    from flask import current_app

    keyring, origin = log_signer(current_app.config)
    sequencer.run(session, keyring, origin)
    return verify_configured(session, current_app.config)
