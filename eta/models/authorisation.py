"""Issued authorisations (the signed tokens' records) and the revocation list's versions."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eta.models.base import Base
from eta.timeutil import utcnow

if TYPE_CHECKING:
    from eta.models.application import Application


class Authorisation(Base):
    """The authorisation issued for an approved application: what the signed token states."""

    __tablename__ = "authorisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    kid: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    valid_from: Mapped[dt.datetime]
    valid_until: Mapped[dt.datetime] = mapped_column(index=True)
    # The signed token carries names, date of birth and passport number: NULL once erased
    # (retention limit, eta.applications.retention), like passport_number_normalised below.
    token: Mapped[str] = mapped_column(Text, nullable=True)
    # Carrier look-ups by passport go straight to this row, without joining applications.
    passport_number_normalised: Mapped[str] = mapped_column(String(20), nullable=True)
    passport_issuing_country: Mapped[str] = mapped_column(String(3))
    revoked_at: Mapped[dt.datetime | None]
    revocation_reason: Mapped[str | None] = mapped_column(String(200))
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("officers.id"))
    # Set when a re-screen after a list change finds a new hit: an officer must look again.
    flagged_at: Mapped[dt.datetime | None]

    application: Mapped[Application] = relationship(back_populates="authorisation")


class RevocationListVersion(Base):
    """One version of the signed revocation list; each revocation adds a row (ver = its id)."""

    __tablename__ = "revocation_list_versions"

    version: Mapped[int] = mapped_column(primary_key=True)
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    authorisation_id: Mapped[int | None] = mapped_column(ForeignKey("authorisations.id"))
