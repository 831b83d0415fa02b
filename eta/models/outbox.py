"""The outbox: work that must follow a committed change (a job, an email), kept as rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from eta.models.base import Base
from eta.timeutil import utcnow


class OutboxMessage(Base):
    """One job to run, written in the transaction of the change that calls for it.

    `key` is also the RQ job id, so a re-sent job that is still waiting is not queued twice and
    the job marks its own row done. `sent_at` says it reached Redis; `done_at` that it ran.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        # The relay's scan: rows not yet done, oldest due first.
        Index("ix_outbox_pending", "done_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    task: Mapped[str] = mapped_column(String(64))
    args: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    due_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[dt.datetime | None]
    done_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # The request (or job) that caused the work, so its job logs under the same id.
    request_id: Mapped[str | None] = mapped_column(String(64))
