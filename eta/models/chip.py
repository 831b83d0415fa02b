"""The passport chip: the CSCA certificates operators import, and each application's chip read."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from eta.models.base import Base
from eta.timeutil import utcnow


class CscaCertificate(Base):
    """A Country Signing CA certificate (ICAO 9303 Part 12), trusted to issue document signers.

    Imported by `eta chip import-csca` from a bundle of certificates or an ICAO master list;
    one row per certificate (its SHA-256 fingerprint), whatever file brought it.
    """

    __tablename__ = "csca_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the DER, hex
    country: Mapped[str] = mapped_column(String(3), index=True)  # the subject's C, as written
    subject: Mapped[str] = mapped_column(Text)  # RFC 4514
    serial: Mapped[str] = mapped_column(String(80))  # hex
    not_before: Mapped[dt.datetime]
    not_after: Mapped[dt.datetime]
    der: Mapped[bytes] = mapped_column(LargeBinary)
    source: Mapped[str] = mapped_column(String(200))  # the imported file's name and kind
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ApplicationChip(Base):
    """An application's chip files (EF.SOD, DG1, DG2), sealed with ETA_PHOTO_KEY, and the result.

    `result` is NULL until screening ran passive authentication, then one of
    eta.chip.passive.Outcome; `details` says who signed and what failed. `face_distance` and
    `face_threshold` are the 1:1 match of the photo against DG2's face (NULL without a photo).
    Deleted with the application's personal data by the retention job.
    """

    __tablename__ = "application_chips"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # eta.identity.sealing: format byte, nonce, AES-GCM ciphertext and tag.
    sod_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    dg1_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    dg2_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    result: Mapped[str | None] = mapped_column(String(20))
    checked_at: Mapped[dt.datetime | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    face_distance: Mapped[float | None]
    face_threshold: Mapped[float | None]
