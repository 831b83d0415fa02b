"""The history check: what earlier applications say about this person or this passport.

Refers when the same person or passport was refused or revoked before; when the passport already
has a valid authorisation or another application pending; and when the same passport number was
used by someone with a different identity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, or_, select

from eta.models import Application, ApplicationStatus, Authorisation
from eta.models.base import SessionLike
from eta.timeutil import utcnow

EARLIER_REFUSAL = "earlier_refusal"
EARLIER_REVOCATION = "earlier_revocation"
ACTIVE_AUTHORISATION = "active_authorisation"
PENDING_APPLICATION = "pending_application"
PASSPORT_OTHER_IDENTITY = "passport_other_identity"

PENDING = (
    ApplicationStatus.SUBMITTED,
    ApplicationStatus.SCREENING,
    ApplicationStatus.REFERRED,
    ApplicationStatus.INFO_REQUESTED,
)


@dataclass(frozen=True, slots=True)
class HistoryFinding:
    """One fact from an earlier application, with the application it comes from."""

    code: str
    explanation: str
    related_application_id: int


def _same_person(a: Any, b: Application) -> bool:
    return (
        a.date_of_birth == b.date_of_birth
        and a.surname_mrz == b.surname_mrz
        and a.given_names_mrz == b.given_names_mrz
    )


# Built once (building a statement costs more than running it). The columns the findings
# need, not whole applications: usually there are none, and objects would cost more than the check.
_OTHERS_QUERY = (
    select(
        Application.id,
        Application.reference,
        Application.status,
        Application.passport_issuing_country,
        Application.passport_number_normalised,
        Application.date_of_birth,
        Application.surname_mrz,
        Application.given_names_mrz,
    )
    .where(
        Application.id != bindparam("id"),
        or_(
            and_(
                Application.passport_issuing_country == bindparam("country"),
                Application.passport_number_normalised == bindparam("number"),
            ),
            and_(
                Application.date_of_birth == bindparam("born"),
                Application.surname_mrz == bindparam("surname"),
                Application.given_names_mrz == bindparam("given"),
                Application.nationality == bindparam("nationality"),
            ),
        ),
    )
    .order_by(Application.id)
    .limit(50)
)


def others_query(application: Application) -> tuple[Any, dict[str, Any]]:
    """The query of other applications of the same passport or person, with its parameters."""
    return _OTHERS_QUERY, {
        "id": application.id,
        "country": application.passport_issuing_country,
        "number": application.passport_number_normalised,
        "born": application.date_of_birth,
        "surname": application.surname_mrz,
        "given": application.given_names_mrz,
        "nationality": application.nationality,
    }


def check_history(
    session: SessionLike, application: Application, *, others: Sequence[Any] | None = None
) -> list[HistoryFinding]:
    """Findings from other applications of the same passport or the same person.

    `others` are the rows of `others_query()` when the caller read them already.
    """
    if others is None:
        statement, params = others_query(application)
        others = session.execute(statement, params).all()
    findings: list[HistoryFinding] = []
    for other in others:
        passport_shared = (
            other.passport_issuing_country == application.passport_issuing_country
            and other.passport_number_normalised == application.passport_number_normalised
        )
        how = "same passport" if passport_shared else "same person, another passport"
        if other.status == ApplicationStatus.REFUSED:
            findings.append(
                HistoryFinding(
                    EARLIER_REFUSAL,
                    f"Earlier application {other.reference} was refused ({how})",
                    other.id,
                )
            )
        elif other.status == ApplicationStatus.REVOKED:
            findings.append(
                HistoryFinding(
                    EARLIER_REVOCATION,
                    f"The authorisation of earlier application {other.reference} was revoked "
                    f"({how})",
                    other.id,
                )
            )
        if passport_shared and not _same_person(other, application):
            findings.append(
                HistoryFinding(
                    PASSPORT_OTHER_IDENTITY,
                    f"Passport {application.passport_number_normalised} was used in application "
                    f"{other.reference} with a different name or date of birth",
                    other.id,
                )
            )
        if not passport_shared:
            continue
        if other.status in PENDING:
            findings.append(
                HistoryFinding(
                    PENDING_APPLICATION,
                    f"Application {other.reference} for the same passport is still pending "
                    f"({other.status})",
                    other.id,
                )
            )
        elif other.status == ApplicationStatus.APPROVED:
            authorisation = session.scalar(
                select(Authorisation).where(Authorisation.application_id == other.id)
            )
            # Approved but not yet issued counts: the authorisation is on its way.
            valid = authorisation is None or (
                authorisation.revoked_at is None and authorisation.valid_until > utcnow()
            )
            if valid:
                findings.append(
                    HistoryFinding(
                        ACTIVE_AUTHORISATION,
                        f"The same passport already holds a valid authorisation "
                        f"({other.reference})",
                        other.id,
                    )
                )
    return findings
