"""Watchlists: sources, their imported versions, listed people, and lost/stolen documents."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from eta.models.base import Base
from eta.timeutil import utcnow


class WatchlistSource(Base):
    """A list the agency screens against (UN, OFAC, a national list, manual entries)."""

    __tablename__ = "watchlist_sources"
    __table_args__ = (
        CheckConstraint("format IN ('un-xml', 'ofac-csv', 'csv', 'manual')", name="format_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    format: Mapped[str] = mapped_column(String(10))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The version screening uses; switching it is the atomic step of a re-import.
    active_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("watchlist_versions.id", use_alter=True, name="fk_sources_active_version")
    )


class WatchlistVersion(Base):
    """One import of a source's file; entries belong to exactly one version."""

    __tablename__ = "watchlist_versions"
    __table_args__ = (
        UniqueConstraint("source_id", "number", name="uq_watchlist_versions_source_number"),
        CheckConstraint(
            "state IN ('importing', 'active', 'superseded', 'failed')", name="state_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("watchlist_sources.id", ondelete="CASCADE"))
    number: Mapped[int]
    state: Mapped[str] = mapped_column(String(12), default="importing")
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    file_name: Mapped[str | None] = mapped_column(String(255))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    entry_count: Mapped[int] = mapped_column(default=0)
    imported_by: Mapped[str | None] = mapped_column(String(254))


class WatchlistEntry(Base):
    """A listed person in one version of a source, with every name form and identifier."""

    __tablename__ = "watchlist_entries"
    __table_args__ = (
        UniqueConstraint("version_id", "source_key", name="uq_watchlist_entries_version_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("watchlist_versions.id", ondelete="CASCADE"), index=True
    )
    source_key: Mapped[str] = mapped_column(String(64))
    primary_name: Mapped[str] = mapped_column(String(500))
    # Every name as the source gives it, in any script: ["Primary", "Alias 1", "محمد ..."].
    names: Mapped[list[str]] = mapped_column(JSON, default=list)
    # [{"earliest": "1974-01-01", "latest": "1974-12-31", "precision": "year"}]
    birth_dates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    nationalities: Mapped[list[str]] = mapped_column(JSON, default=list)
    sex: Mapped[str | None] = mapped_column(String(1))
    # [{"number": "A123", "country": "SYR"}]
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    remarks: Mapped[str | None] = mapped_column(Text)


class LostStolenDocument(Base):
    """A travel document reported lost, stolen or revoked by its issuer."""

    __tablename__ = "lost_stolen_documents"
    __table_args__ = (
        UniqueConstraint(
            "issuing_country", "number_normalised", name="uq_lost_stolen_country_number"
        ),
        Index("ix_lost_stolen_confusable", "issuing_country", "confusable_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issuing_country: Mapped[str] = mapped_column(String(3))
    number_normalised: Mapped[str] = mapped_column(String(20))
    # The number with OCR-confusable characters folded (O/0, I/1...), to catch misread numbers.
    confusable_key: Mapped[str] = mapped_column(String(20))
    reported_on: Mapped[dt.date | None]
    source: Mapped[str] = mapped_column(String(50))
    reference: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
