"""Partners' lost/stolen feeds in the database: apply a batch, publish ours, look a document up.

Each verb writes its change and its audit record in one transaction. Entries are keyed hashes
only (:mod:`eta.partners.feed`); the keys that make them stay in files (:mod:`.feedkeys`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, insert, select

from eta import audit
from eta.issuance.keys import SigningKey
from eta.models import LostStolenDocument, PartnerFeed, PartnerFeedEntry
from eta.models.base import SessionLike
from eta.partners.feed import (
    DELTA,
    PASSPORT,
    SNAPSHOT,
    FeedBatch,
    FeedError,
    document_digest,
    sign_feed_batch,
)
from eta.partners.feedkeys import EpochKey, FeedKeys

CHUNK = 5_000  # rows per statement: large enough to be quick, small enough to show progress
Progress = Callable[[int, int], None]  # (done, total)


@dataclass(frozen=True)
class Applied:
    """What importing a batch did."""

    partner_id: str
    sequence: int
    kind: str
    added: int
    deleted: int
    total: int
    already: bool = False  # the very batch applied last, sent again: nothing changed
    forgotten_epochs: tuple[int, ...] = ()


def _chunks(items: Sequence[bytes]) -> Iterable[Sequence[bytes]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def apply_batch(
    session: SessionLike,
    batch: FeedBatch,
    *,
    keys: FeedKeys,
    own_id: str,
    actor: str,
    now: dt.datetime,
    progress: Progress | None = None,
) -> Applied:
    """Apply a verified batch (from :func:`eta.partners.feed.read_feed_batch`) to its feed.

    Idempotent: the batch applied last, sent again, changes nothing. Refused with
    :class:`FeedError`: a sequence not above the one applied (``replayed``), a delta that does
    not follow the batch applied or changes the epoch (``gap``), an epoch whose key we were
    not handed (``no_key``) or hold another key for (``wrong_key``), our own feed (``ours``).
    All or nothing: the entries, the feed's state and the audit record commit together.
    """
    partner_id = batch.issuer
    if partner_id == own_id:
        raise FeedError("ours", "this is our own feed: it is imported by our partners, not here")
    state = session.get(PartnerFeed, partner_id)
    if state is not None and state.ours:
        raise FeedError("ours", "this is our own feed: it is imported by our partners, not here")
    if state is not None and (state.sequence, state.batch_sha256) == (batch.sequence, batch.sha256):
        return Applied(partner_id, batch.sequence, batch.kind, 0, 0, state.entry_count, True)
    if state is not None and batch.sequence <= state.sequence:
        raise FeedError(
            "replayed",
            f"sequence {batch.sequence} is not newer than the batch applied "
            f"({state.sequence}): an old batch sent again",
        )
    key = keys.partner_key(partner_id, batch.epoch)
    if key is None:
        raise FeedError(
            "no_key",
            f"we hold no key for {partner_id}'s epoch {batch.epoch}: get it from {partner_id} "
            "and run `eta partner feed key import`",
        )
    if key.check != batch.key_check:
        raise FeedError(
            "wrong_key",
            f"the key we hold for {partner_id}'s epoch {batch.epoch} is not the one the batch "
            "was hashed under: ask the partner for the right key",
        )
    if batch.kind == DELTA:
        if state is None:
            raise FeedError("gap", f"a delta needs {partner_id}'s snapshot imported first")
        if batch.previous != state.sequence:
            raise FeedError(
                "gap",
                f"this delta follows batch {batch.previous} but batch {state.sequence} is the "
                "last applied: import the batches in between, or a snapshot",
            )
        if batch.epoch != state.epoch:
            raise FeedError("gap", "a delta cannot change the key epoch: a snapshot does")
    try:
        added, deleted = _apply(session, batch, state, now, progress)
        audit.record(
            session,
            "partner_feed.imported",
            actor=actor,
            object_type="partner",
            object_id=partner_id,
            details={
                "sequence": batch.sequence,
                "kind": batch.kind,
                "epoch": batch.epoch,
                "added": added,
                "deleted": deleted,
            },
        )
        session.commit()
    except Exception:
        session.rollback()
        raise
    total = session.get(PartnerFeed, partner_id)
    forgotten: list[int] = []
    if batch.kind == SNAPSHOT:
        # Every entry is now under this epoch: older keys have nothing left to match.
        forgotten = keys.forget_before(partner_id, batch.epoch)
    return Applied(
        partner_id,
        batch.sequence,
        batch.kind,
        added,
        deleted,
        total.entry_count if total is not None else 0,
        forgotten_epochs=tuple(forgotten),
    )


def _apply(
    session: SessionLike,
    batch: FeedBatch,
    state: PartnerFeed | None,
    now: dt.datetime,
    progress: Progress | None,
) -> tuple[int, int]:
    """Write a batch's entries and the feed's new state; returns (added, deleted)."""
    partner_id = batch.issuer
    if state is None:
        state = PartnerFeed(partner_id=partner_id, ours=False, entry_count=0)
        session.add(state)
    state.epoch, state.sequence, state.key_check = batch.epoch, batch.sequence, batch.key_check
    state.batch_sha256, state.expires_at, state.updated_at = batch.sha256, batch.expires_at, now
    session.flush()
    added, deleted = write_entries(
        session, partner_id, batch.epoch, batch.entries, batch.deletions, batch.kind, now, progress
    )
    state.entry_count = _count(session, partner_id)
    return added, deleted


_ENTRIES: Table = PartnerFeedEntry.__table__  # type: ignore[assignment]


def write_entries(
    session: SessionLike,
    partner_id: str,
    epoch: int,
    entries: Iterable[bytes],
    deletions: Iterable[bytes],
    kind: str,
    now: dt.datetime,
    progress: Progress | None = None,
) -> tuple[int, int]:
    """Delete what goes (everything, for a snapshot), insert what comes: (added, deleted).

    A delta's entry already listed is deleted and inserted again, so the insert never meets
    a duplicate key, and counts as neither added nor deleted.
    """
    listed = sorted(set(entries))
    deleted = relisted = 0
    if kind == SNAPSHOT:
        deleted = _rows(
            session.execute(delete(_ENTRIES).where(_ENTRIES.c.partner_id == partner_id))
        )
    else:
        going = sorted(set(deletions) - set(listed))
        for chunk in _chunks(going):
            deleted += _rows(session.execute(_delete_some(partner_id, chunk)))
        for chunk in _chunks(listed):
            relisted += _rows(session.execute(_delete_some(partner_id, chunk)))
    done = 0
    for chunk in _chunks(listed):
        session.execute(
            insert(_ENTRIES),
            [
                {"digest": digest, "partner_id": partner_id, "epoch": epoch, "listed_at": now}
                for digest in chunk
            ],
        )
        done += len(chunk)
        if progress is not None:
            progress(done, len(listed))
    return len(listed) - relisted, deleted


def _delete_some(partner_id: str, digests: Sequence[bytes]) -> Any:
    return delete(_ENTRIES).where(
        _ENTRIES.c.partner_id == partner_id, _ENTRIES.c.digest.in_(digests)
    )


def _rows(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _count(session: SessionLike, partner_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(PartnerFeedEntry)
            .where(PartnerFeedEntry.partner_id == partner_id)
        )
        or 0
    )


# ---- publishing ours ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """What exporting our feed made."""

    sequence: int
    kind: str
    epoch: int
    added: int
    deleted: int
    total: int


def export_batch(
    session: SessionLike,
    *,
    own_id: str,
    keys: FeedKeys,
    signer: SigningKey,
    now: dt.datetime,
    expires_at: dt.datetime,
    snapshot: bool,
    write: Callable[[str], None],
    actor: str,
    progress: Progress | None = None,
) -> Published:
    """Sign the next batch of our feed from our lost/stolen documents and hand it to ``write``.

    A delta holds what changed since the last batch we published (added and deleted
    documents); a snapshot, everything. The first batch, and the first after a key rotation
    (a new epoch), is always a snapshot. Only once ``write`` returns is the batch recorded as
    published, with its audit record, in one transaction: a batch that could not be written
    is made again next time, under the same sequence.
    """
    current = keys.current()
    if current is None:
        raise FeedError("no_key", "we have no feed key yet: run `eta partner feed key rotate`")
    state = session.get(PartnerFeed, own_id)
    if state is not None and not state.ours:
        raise FeedError(
            "ours", f"{own_id} is a partner's feed here, not ours: check ETA_PARTNER_ID"
        )
    if state is None or state.epoch != current.epoch:
        snapshot = True
    documents = _our_digests(session, current, progress)
    published: set[bytes] = set()
    if state is not None and not snapshot:
        published = set(
            session.scalars(
                select(PartnerFeedEntry.digest).where(PartnerFeedEntry.partner_id == own_id)
            )
        )
    sequence = state.sequence + 1 if state is not None else 1
    if snapshot:
        entries, deletions = documents, set()
    else:
        entries, deletions = documents - published, published - documents
    token = sign_feed_batch(
        issuer=own_id,
        sequence=sequence,
        epoch=current.epoch,
        epoch_key=current.key,
        kind=SNAPSHOT if snapshot else DELTA,
        entries=entries,
        deletions=deletions,
        previous=None if snapshot else sequence - 1,
        now=now,
        expires_at=expires_at,
        signer=signer,
    )
    write(token)
    kind = SNAPSHOT if snapshot else DELTA
    try:
        if state is None:
            state = PartnerFeed(partner_id=own_id, ours=True, entry_count=0)
            session.add(state)
        state.epoch, state.sequence, state.key_check = current.epoch, sequence, current.check
        state.batch_sha256 = hashlib.sha256(token.encode("ascii")).hexdigest()
        state.expires_at, state.updated_at = expires_at, now
        session.flush()
        added, deleted = write_entries(
            session, own_id, current.epoch, entries, deletions, kind, now
        )
        state.entry_count = len(documents)
        audit.record(
            session,
            "partner_feed.published",
            actor=actor,
            object_type="partner",
            object_id=own_id,
            details={"sequence": sequence, "kind": kind, "epoch": current.epoch,
                     "added": added, "deleted": deleted},
        )  # fmt: skip
        session.commit()
    except Exception:
        session.rollback()
        raise
    return Published(sequence, kind, current.epoch, len(entries), len(deletions), len(documents))


def _our_digests(session: SessionLike, key: EpochKey, progress: Progress | None) -> set[bytes]:
    """Every lost/stolen document we hold, hashed under our current epoch key."""
    total = int(session.scalar(select(func.count()).select_from(LostStolenDocument)) or 0)
    digests: set[bytes] = set()
    rows = session.execute(
        select(LostStolenDocument.issuing_country, LostStolenDocument.number_normalised)
        .order_by(LostStolenDocument.id)
        .execution_options(yield_per=CHUNK)
    )
    for done, (country, number) in enumerate(rows, start=1):
        digests.add(document_digest(key.key, country, PASSPORT, number))
        if progress is not None and (done % CHUNK == 0 or done == total):
            progress(done, total)
    return digests


# ---- screening's look-up -----------------------------------------------------------------------


@dataclass(frozen=True)
class FeedHit:
    """A partner's feed lists the document."""

    partner_id: str
    epoch: int
    sequence: int
    updated_at: dt.datetime
    expires_at: dt.datetime


# One statement, built once: the applicant's digests (one per partner epoch key we hold) looked
# up in the entries' primary key, with the feed's state joined for the explanation.
_HITS_QUERY = (
    select(
        PartnerFeedEntry.partner_id,
        PartnerFeedEntry.epoch,
        PartnerFeedEntry.digest,
        PartnerFeed.sequence,
        PartnerFeed.updated_at,
        PartnerFeed.expires_at,
    )
    .join(PartnerFeed, PartnerFeed.partner_id == PartnerFeedEntry.partner_id)
    .where(
        PartnerFeedEntry.digest.in_(bindparam("digests", expanding=True)),
        PartnerFeed.ours.is_(False),
    )
    .order_by(PartnerFeedEntry.partner_id)
)


def feed_hits(
    session: SessionLike, country: str, number: str, keys: Sequence[EpochKey]
) -> list[FeedHit]:
    """The partners' feeds that list this passport: one indexed look-up, never a scan.

    The passport is hashed under each partner epoch key we hold; a row counts only when it is
    that partner's, under that epoch (a digest of one partner never matches another's).
    """
    if not keys:
        return []
    wanted = {
        (key.partner_id, key.epoch): document_digest(key.key, country, PASSPORT, number)
        for key in keys
    }
    rows = session.execute(_HITS_QUERY, {"digests": sorted(set(wanted.values()))}).all()
    return [
        FeedHit(row.partner_id, row.epoch, row.sequence, row.updated_at, row.expires_at)
        for row in rows
        if wanted.get((row.partner_id, row.epoch)) == row.digest
    ]
