"""Screening runs and the hits they find: the evidence an officer reads."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eta.models.base import Base
from eta.timeutil import utcnow


class CheckName(StrEnum):
    """The checks screening runs; every hit names one."""

    DOCUMENT = "document"
    LOST_STOLEN = "lost_stolen"
    WATCHLIST = "watchlist"
    RULE = "rule"
    HISTORY = "history"
    ANSWERS = "answers"
    FACE = "face"
    CHIP = "chip"
    CHECK_FAILED = "check_failed"


class RunOutcome(StrEnum):
    """What a screening run concluded."""

    RUNNING = "running"
    CLEAR = "clear"
    HIT = "hit"


class ScreeningRun(Base):
    """One screening of one application (or one re-screen of an issued authorisation)."""

    __tablename__ = "screening_runs"
    __table_args__ = (
        CheckConstraint("outcome IN ('running', 'clear', 'hit')", name="outcome_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(10), default="initial")  # initial | rescreen
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    outcome: Mapped[str] = mapped_column(String(10), default=RunOutcome.RUNNING)
    algorithm_version: Mapped[str] = mapped_column(String(40))
    # {"UN": 3, "OFAC": 1, "rules": {...}}: what exactly the applicant was checked against.
    list_versions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    hits: Mapped[list[ScreeningHit]] = relationship(
        back_populates="run", order_by="ScreeningHit.id"
    )


class ScreeningHit(Base):
    """One reason to refer: which check, how strong, and an explanation in words."""

    __tablename__ = "screening_hits"
    __table_args__ = (
        CheckConstraint(
            "check_name IN ('document', 'lost_stolen', 'watchlist', 'rule', 'history', "
            "'answers', 'face', 'chip', 'check_failed')",
            name="check_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("screening_runs.id", ondelete="CASCADE"), index=True
    )
    check_name: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(50))
    score: Mapped[float | None]
    explanation: Mapped[str] = mapped_column(Text)
    watchlist_entry_id: Mapped[int | None] = mapped_column(ForeignKey("watchlist_entries.id"))
    rule_version_id: Mapped[int | None] = mapped_column(ForeignKey("risk_rule_versions.id"))
    related_application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    run: Mapped[ScreeningRun] = relationship(back_populates="hits")
