"""The traveller's facial photo and its face template, both encrypted at rest."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from eta.models.base import Base
from eta.timeutil import utcnow


class ApplicationPhoto(Base):
    """One application's photo (re-encoded JPEG) and face template, sealed with ETA_PHOTO_KEY.

    Deleted with the application's personal data by the retention job. `face` holds the
    geometry the quality gate found (box and five landmarks) and `quality` its measures;
    neither identifies anyone without the photo.
    """

    __tablename__ = "application_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), unique=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    media_type: Mapped[str] = mapped_column(String(20), default="image/jpeg")
    width: Mapped[int]
    height: Mapped[int]
    # eta.identity.sealing: format byte, nonce, AES-GCM ciphertext and tag.
    photo_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    face: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    quality: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # NULL until computed (at submission; again by screening if that failed).
    template_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    template_version: Mapped[str | None] = mapped_column(String(40))


class FaceTemplateChange(Base):
    """One change to the set of face templates, in commit order: what the 1:N indexes follow.

    Written in the transaction that adds a template (`added`) or erases a photo (not `added`),
    so each worker's in-memory index (eta.identity.index) catches up by reading the rows past
    the last one it applied, never the whole gallery. Ids only: no template, no personal data.
    """

    __tablename__ = "face_template_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int]
    added: Mapped[bool]
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
