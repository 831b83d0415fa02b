"""Idempotency keys: a client's retry of an API submission answers what the first one got."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from eta.models.base import Base
from eta.timeutil import utcnow


class IdempotencyKey(Base):
    """One `Idempotency-Key` a client sent with a submission that succeeded, kept for a day.

    Only hashes of the key and of the body are kept: a key is whatever the client chose, and
    the body holds personal data. `response` is the answer the first request got, replayed as
    is to a retry with the same key and body.
    """

    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the key, hex. Unique: two requests with one key race for this row, and the
    # database lets exactly one of them insert it.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # SHA-256 of the body in canonical JSON, hex: the same key with another body is refused.
    request_hash: Mapped[str] = mapped_column(String(64))
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE")
    )
    response_status: Mapped[int | None]
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Past this moment the key is forgotten (a new request with it starts afresh); the daily
    # maintenance job deletes such rows.
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
