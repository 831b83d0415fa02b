"""The application aggregate: a traveller's request for an ETA, its events, drafts and requests."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eta.models.base import Base
from eta.timeutil import utcnow

if TYPE_CHECKING:
    from eta.models.authorisation import Authorisation


class ApplicationStatus(StrEnum):
    """Where an application stands (SPEC §4)."""

    SUBMITTED = "submitted"
    SCREENING = "screening"
    REFERRED = "referred"
    INFO_REQUESTED = "info_requested"
    APPROVED = "approved"
    REFUSED = "refused"
    REVOKED = "revoked"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class Actor(StrEnum):
    """Who caused a change: the system (jobs), the traveller, an officer, or a CLI operator."""

    SYSTEM = "system"
    TRAVELLER = "traveller"
    OFFICER = "officer"
    OPERATOR = "operator"


def _in(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class Application(Base):
    """One traveller's application, from submission to decision and beyond."""

    __tablename__ = "applications"
    __table_args__ = (
        CheckConstraint(_in("status", ApplicationStatus), name="status_known"),
        CheckConstraint("sex IN ('F', 'M', 'X')", name="sex_known"),
        Index("ix_applications_passport", "passport_issuing_country", "passport_number_normalised"),
        Index("ix_applications_status_deadline", "status", "decision_deadline"),
        # Screening's history check looks for the same person under another passport: without
        # it, that look-up scans every application (84 ms at 210,000 of them on PostgreSQL).
        Index("ix_applications_person", "date_of_birth", "surname_mrz", "given_names_mrz"),
        # The retention job's look-up of rows due for erasure (eta.applications.retention).
        Index("ix_applications_erase_after", "erase_after"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=ApplicationStatus.SUBMITTED)
    status_changed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Optimistic locking: two officers saving the same case cannot overwrite each other.
    version: Mapped[int] = mapped_column(default=1)
    channel: Mapped[str] = mapped_column(String(8), default="web")
    language: Mapped[str] = mapped_column(String(8), default="en")

    # Personal columns are NULL once the row is erased (`erased_at` set, see
    # eta.applications.retention) and never before: the database allows NULL, the Python type
    # keeps saying `str` because every
    # reader but the few that can meet an erased row (they check `erased_at`) would otherwise
    # have to handle a case that cannot reach it.

    # Identity, as typed (any script) and as printed in the passport's MRZ.
    given_names: Mapped[str] = mapped_column(String(200), nullable=True)
    surname: Mapped[str] = mapped_column(String(200), nullable=True)
    # As printed in Latin letters on the passport's data page, when the name above is in
    # another script (NULL otherwise): the source of the MRZ form, never a transliteration.
    latin_given_names: Mapped[str | None] = mapped_column(String(200))
    latin_surname: Mapped[str | None] = mapped_column(String(200))
    given_names_mrz: Mapped[str] = mapped_column(String(200), nullable=True)
    surname_mrz: Mapped[str] = mapped_column(String(200), nullable=True)
    sex: Mapped[str] = mapped_column(String(1))
    date_of_birth: Mapped[dt.date] = mapped_column(nullable=True)
    place_of_birth: Mapped[str] = mapped_column(String(200), nullable=True)
    nationality: Mapped[str] = mapped_column(String(3))

    # Passport.
    passport_number: Mapped[str] = mapped_column(String(20), nullable=True)
    passport_number_normalised: Mapped[str] = mapped_column(String(20), nullable=True)
    passport_issuing_country: Mapped[str] = mapped_column(String(3))
    passport_issue_date: Mapped[dt.date]
    passport_expiry_date: Mapped[dt.date]
    passport_mrz: Mapped[str | None] = mapped_column(Text)

    # Contact and background.
    email: Mapped[str] = mapped_column(String(254), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    address_line1: Mapped[str] = mapped_column(String(200), nullable=True)
    address_line2: Mapped[str | None] = mapped_column(String(200))
    address_city: Mapped[str] = mapped_column(String(100), nullable=True)
    address_postcode: Mapped[str | None] = mapped_column(String(20))
    address_country: Mapped[str] = mapped_column(String(3))
    occupation: Mapped[str] = mapped_column(String(200), nullable=True)
    travel_purpose: Mapped[str] = mapped_column(String(20))
    intended_arrival: Mapped[dt.date]
    # {"criminal_conviction": false, "criminal_conviction_details": null, ...}
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    # Officer work.
    decision_deadline: Mapped[dt.datetime | None]
    deadline_paused_at: Mapped[dt.datetime | None]
    claimed_by_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    claimed_at: Mapped[dt.datetime | None]
    # Personal data is erased after this moment (retention limit); the row keeps the skeleton.
    # Set when the application reaches its end (eta.applications.ENDED): the end + retention.
    erase_after: Mapped[dt.datetime | None]
    # When the personal data was erased; NULL while it is held.
    erased_at: Mapped[dt.datetime | None]
    # Age in whole years on the day of submission, kept at erasure in place of the date of
    # birth, so the fairness dashboard can still count the row in its age band.
    age_at_submission: Mapped[int | None]

    events: Mapped[list[ApplicationEvent]] = relationship(
        back_populates="application", order_by="ApplicationEvent.id"
    )
    authorisation: Mapped[Authorisation | None] = relationship(back_populates="application")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012  (SQLAlchemy's own convention)


class ApplicationEvent(Base):
    """One status change of an application: the traveller's timeline and the case history."""

    __tablename__ = "application_events"
    __table_args__ = (
        CheckConstraint(_in("to_status", ApplicationStatus), name="to_status_known"),
        CheckConstraint(_in("actor", Actor), name="actor_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(10))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    reason_code: Mapped[str | None] = mapped_column(String(50))
    note: Mapped[str | None] = mapped_column(Text)

    application: Mapped[Application] = relationship(back_populates="events")


class ApplicationDraft(Base):
    """A journey in progress, kept server-side so back buttons and Change links always work."""

    __tablename__ = "application_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The opaque identifier held in the traveller's session or resume link.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    expires_at: Mapped[dt.datetime]
    language: Mapped[str] = mapped_column(String(8), default="en")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="SET NULL")
    )


class InformationRequest(Base):
    """Questions an officer asks a traveller, and the traveller's answer."""

    __tablename__ = "information_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    officer_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    questions: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[dt.datetime | None]


class DecisionKind(StrEnum):
    """Decisions that need recording beyond a status change (four eyes for refusals)."""

    REFUSE = "refuse"
    REVOKE = "revoke"


class DecisionState(StrEnum):
    """A proposed refusal waits for a second officer's confirmation."""

    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class Decision(Base):
    """A refusal or revocation proposed by one officer and, for refusals, confirmed by another."""

    __tablename__ = "decisions"
    __table_args__ = (
        CheckConstraint(_in("kind", DecisionKind), name="kind_known"),
        CheckConstraint(_in("state", DecisionState), name="state_known"),
        CheckConstraint(
            "confirmed_by_id IS NULL OR confirmed_by_id <> proposed_by_id", name="four_eyes"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(10), default=DecisionState.PROPOSED)
    reason_code: Mapped[str] = mapped_column(String(50))
    note: Mapped[str | None] = mapped_column(Text)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("officers.id"))
    proposed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    confirmed_at: Mapped[dt.datetime | None]


class ReviewOutcome(StrEnum):
    """What became of a refusal a traveller asked to have reviewed."""

    UPHELD = "upheld"  # refused again
    OVERTURNED = "overturned"  # approved
    WITHDRAWN = "withdrawn"  # the traveller withdrew the application meanwhile


class ReviewRequest(Base):
    """A refused traveller's request for a review of the refusal: their grounds, and the outcome.

    One per refusal (the unique `decision_id`, the confirmed refusal it challenges): a second
    request of the same refusal is refused by the database too, whatever raced past the verb.
    """

    __tablename__ = "review_requests"
    __table_args__ = (
        CheckConstraint(
            f"outcome IS NULL OR {_in('outcome', ReviewOutcome)}", name="outcome_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), unique=True)
    grounds: Mapped[str] = mapped_column(Text)
    statement: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # NULL while the review is open; set by the move that decides the case again.
    outcome: Mapped[str | None] = mapped_column(String(12))
    decided_at: Mapped[dt.datetime | None]
