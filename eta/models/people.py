"""Staff accounts: border officers and carriers (with their API keys and queries)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from eta.models.base import Base
from eta.timeutil import utcnow


class Role(StrEnum):
    """Officer roles, each including the powers of the ones before it."""

    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Officer(Base):
    """A border officer who signs in with a password and a TOTP code."""

    __tablename__ = "officers"
    __table_args__ = (
        CheckConstraint("role IN ('officer', 'supervisor', 'admin')", name="role_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_secret: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(12), default=Role.OFFICER)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    failed_sign_ins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    # The last TOTP time step accepted: a code is never accepted twice (ASVS V6.5.1).
    last_totp_step: Mapped[int | None]
    last_sign_in_at: Mapped[dt.datetime | None]


class Carrier(Base):
    """An airline, ferry or coach operator that checks passengers before boarding."""

    __tablename__ = "carriers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CarrierApiKey(Base):
    """A carrier's API key; only a hash is stored, the key itself is shown once."""

    __tablename__ = "carrier_api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(
        ForeignKey("carriers.id", ondelete="CASCADE"), index=True
    )
    # The key's first characters, to find the row without scanning every hash.
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    # SHA-256 suffices: the key has 256 bits of randomness, so it cannot be guessed offline.
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]


class CarrierUser(Base):
    """A carrier's check-in staff member who uses the check-in page."""

    __tablename__ = "carrier_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(
        ForeignKey("carriers.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    failed_sign_ins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]


class CarrierQuery(Base):
    """One verification a carrier asked for; the passport only as a keyed hash."""

    __tablename__ = "carrier_queries"
    __table_args__ = (Index("ix_carrier_queries_carrier_at", "carrier_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id", ondelete="CASCADE"))
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("carrier_api_keys.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(10))  # token | passport | batch
    passengers: Mapped[int] = mapped_column(default=1)
    result: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(30))
    passport_hash: Mapped[str | None] = mapped_column(String(64))


class StaffSession(Base):
    """A signed-in browser of an officer or a carrier's check-in staff member.

    The signed cookie carries only a random session id; this row (found by the id's SHA-256)
    says whether the session is still open. Sign-out, "sign out everywhere", an idle or
    absolute time limit and deactivation end it here, so a copied cookie stops working too.
    """

    __tablename__ = "staff_sessions"
    __table_args__ = (
        CheckConstraint("(officer_id IS NULL) <> (carrier_user_id IS NULL)", name="one_account"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    officer_id: Mapped[int | None] = mapped_column(
        ForeignKey("officers.id", ondelete="CASCADE"), index=True
    )
    carrier_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("carrier_users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None]
    # signed_out, everywhere, idle, expired, deactivated
    end_reason: Mapped[str | None] = mapped_column(String(20))
