"""Partner agencies' lost/stolen feeds: each feed's state, and its entries (keyed hashes only)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from eta.models.base import Base
from eta.timeutil import utcnow


class PartnerFeed(Base):
    """Where one lost/stolen feed stands: a partner's we imported, or the one we publish.

    ``sequence`` is the last batch applied (an older or equal one is refused as replayed,
    except the very same batch, which imports as a no-op); ``epoch`` is the key epoch every
    entry of the feed is hashed under (a snapshot under a new epoch replaces them all).
    """

    __tablename__ = "partner_feeds"

    # The partner's id in the trust list; ours (ETA_PARTNER_ID) for the feed we publish.
    partner_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    ours: Mapped[bool] = mapped_column(default=False)
    epoch: Mapped[int]
    sequence: Mapped[int]
    # The epoch key's check value (see eta.partners.feed.key_check): which key the entries need.
    key_check: Mapped[str] = mapped_column(String(16))
    # SHA-256 (hex) of the last batch applied: the same batch again is recognised, not refused.
    batch_sha256: Mapped[str] = mapped_column(String(64))
    entry_count: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PartnerFeedEntry(Base):
    """One document a feed lists: HMAC-SHA-256 of (country, type, number), 128 bits, no more.

    The primary key leads with the digest: screening looks an applicant's digests up across
    every feed in one probe of it.
    """

    __tablename__ = "partner_feed_entries"
    __table_args__ = (Index("ix_partner_feed_entries_partner_id", "partner_id"),)

    digest: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    partner_id: Mapped[str] = mapped_column(
        String(63),
        ForeignKey("partner_feeds.partner_id", ondelete="CASCADE"),
        primary_key=True,
    )
    epoch: Mapped[int]
    listed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PartnerRevocationList(Base):
    """The last signed revocation list (eta-revocations+jwt) imported from a partner.

    ``version`` is the list's ``ver``: a lower one is refused as replayed, the same one with
    other entries as a conflict; the same entries signed again refresh ``issued_at``.
    """

    __tablename__ = "partner_revocation_lists"

    partner_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    version: Mapped[int]
    issued_at: Mapped[dt.datetime]
    # SHA-256 (hex) of the sorted entries: the same list, signed again, is recognised.
    list_sha256: Mapped[str] = mapped_column(String(64))
    entry_count: Mapped[int] = mapped_column(default=0)
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PartnerRevocation(Base):
    """One token a partner revoked, as its list publishes it: base64url SHA-256(jti)[:16]."""

    __tablename__ = "partner_revocations"

    partner_id: Mapped[str] = mapped_column(
        String(63),
        ForeignKey("partner_revocation_lists.partner_id", ondelete="CASCADE"),
        primary_key=True,
    )
    hash: Mapped[str] = mapped_column(String(22), primary_key=True)
