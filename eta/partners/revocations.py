"""Partners' signed revocation lists: check one against the trust list, keep it, report on them.

A partner publishes its revoked authorisations as we do ours (``GET /api/v1/revocations``:
a compact JWS, typ ``eta-revocations+jwt``, claims iss, iat, ver and the revoked tokens'
hashes, SPEC §4), signed with its token signing key. Its tokens verify at our carriers when
the trust list says so (mutual recognition); a token its last imported list names answers
NOT_OK ``revoked`` (carrier verification reads the lists through the one revocation cache,
:mod:`eta.authorisations.state`).

A list is refused, saying why, when it is not signed by a token signing key the trust list
vouches for now (``unknown_kid``), is our own (``ours``), does not verify
(``bad_signature``: tampered), names
another issuer than that partner's (``wrong_iss``), was signed longer ago than
ETA_PARTNER_REVOCATIONS_MAX_AGE_SECONDS (``stale``) or in the future (``not_yet_valid``),
has a lower ``ver`` than the list imported, or the same ``ver`` signed earlier (``replayed``),
or the same ``ver`` with other entries (``conflict``). Flask-free; the verb commits the
entries, the list's state and the audit record in one transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, select

from eta import audit
from eta.issuance.revocations import RevocationList, RevocationListError, read_revocation_list
from eta.models import PartnerRevocation, PartnerRevocationList
from eta.models.base import SessionLike
from eta.partners.recognition import token_kid
from eta.partners.trustlist import Partner, TrustList

CHUNK = 5_000
# A partner's clock may run a little ahead of ours.
CLOCK_SKEW = dt.timedelta(minutes=5)


class PartnerRevocationError(Exception):
    """A partner's revocation list that must not be used; ``detail`` names the failed check."""

    def __init__(self, detail: str, message: str) -> None:
        super().__init__(message)
        self.detail = detail


@dataclass(frozen=True)
class CheckedList:
    """A partner's revocation list that verified: whose it is and what it says."""

    partner: Partner
    revocations: RevocationList


@dataclass(frozen=True)
class Imported:
    """What importing a list did."""

    partner_id: str
    version: int
    listed: int
    added: int
    removed: int
    already: bool = False  # the same list (or a fresher signature of it): entries unchanged


def read_partner_list(
    token: str,
    trust_list: TrustList,
    *,
    now: dt.datetime,
    max_age: dt.timedelta,
    own_id: str,
) -> CheckedList:
    """Verify a partner's list with the token signing key the trust list names for it.

    Raises :class:`PartnerRevocationError` (see the module's notes for each ``detail``).
    Whether its ``ver`` is newer than the list imported is for :func:`import_list`.
    """
    token = "".join(token.split())
    issuers = trust_list.token_issuers(now)
    found = issuers.get(token_kid(token) or "")
    if found is None:
        raise PartnerRevocationError(
            "unknown_kid",
            "the list is not signed by a token signing key the trust list vouches for now (an "
            "unknown, suspended, revoked or expired key, or a partner that issues no "
            "authorisations)",
        )
    partner, keys = found
    if partner.id == own_id:
        raise PartnerRevocationError(
            "ours", "this is our own revocation list: our carriers read ours from the database"
        )
    try:
        revocations = read_revocation_list(token, keys, str(partner.issuer))
    except RevocationListError as error:
        raise PartnerRevocationError(
            error.detail, f"{partner.id}'s revocation list does not verify: {error}"
        ) from None
    if revocations.issued_at > now + CLOCK_SKEW:
        raise PartnerRevocationError(
            "not_yet_valid",
            f"the list says it was signed at {revocations.issued_at.isoformat()}, in the "
            f"future: check {partner.id}'s clock and ours",
        )
    if now - revocations.issued_at > max_age:
        raise PartnerRevocationError(
            "stale",
            f"the list was signed at {revocations.issued_at.isoformat()}, more than "
            f"{_duration(max_age)} ago: fetch a fresh one from {partner.id}",
        )
    return CheckedList(partner, revocations)


def _entries_digest(hashes: frozenset[str]) -> str:
    """SHA-256 of the sorted entries: what "the same list" means across fresh signatures."""
    return hashlib.sha256(json.dumps(sorted(hashes)).encode("ascii")).hexdigest()


def _duration(delta: dt.timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds} s"


def import_list(
    session: SessionLike, checked: CheckedList, *, actor: str, now: dt.datetime
) -> Imported:
    """Keep a verified list as the partner's current one (all or nothing, with an audit record).

    The same entries under the same ``ver`` signed again later (a partner re-signs its list
    to keep it fresh) refresh the list's time and change nothing else.
    """
    partner_id = checked.partner.id
    revocations = checked.revocations
    entries_digest = _entries_digest(revocations.revoked)
    state = session.get(PartnerRevocationList, partner_id)
    if state is not None:
        if revocations.version < state.version:
            raise PartnerRevocationError(
                "replayed",
                f"version {revocations.version} is older than {partner_id}'s list imported "
                f"(version {state.version}): an old list sent again",
            )
        if revocations.version == state.version:
            if entries_digest != state.list_sha256:
                raise PartnerRevocationError(
                    "conflict",
                    f"version {revocations.version} of {partner_id}'s list is already imported "
                    "with other entries: a list changed without a new version is not trusted",
                )
            if revocations.issued_at < state.issued_at:
                raise PartnerRevocationError(
                    "replayed",
                    f"this copy of version {revocations.version} was signed at "
                    f"{revocations.issued_at.isoformat()}, before the copy imported "
                    f"({state.issued_at.isoformat()}): an old list sent again",
                )
            state.issued_at = revocations.issued_at
            state.imported_at = now
            session.commit()
            return Imported(partner_id, state.version, state.entry_count, 0, 0, already=True)
    try:
        held: set[str] = set()
        if state is None:
            state = PartnerRevocationList(partner_id=partner_id, entry_count=0)
            session.add(state)
        else:
            held = set(
                session.scalars(
                    select(PartnerRevocation.hash).where(PartnerRevocation.partner_id == partner_id)
                )
            )
        state.version, state.issued_at = revocations.version, revocations.issued_at
        state.list_sha256, state.imported_at = entries_digest, now
        state.entry_count = len(revocations.revoked)
        session.flush()
        added = sorted(revocations.revoked - held)
        removed = sorted(held - revocations.revoked)
        for chunk in _chunks(removed):
            session.execute(
                delete(PartnerRevocation).where(
                    PartnerRevocation.partner_id == partner_id, PartnerRevocation.hash.in_(chunk)
                )
            )
        for chunk in _chunks(added):
            session.execute(
                insert(PartnerRevocation),
                [{"partner_id": partner_id, "hash": value} for value in chunk],
            )
        audit.record(
            session,
            "partner_revocations.imported",
            actor=actor,
            object_type="partner",
            object_id=partner_id,
            details={"version": revocations.version, "added": len(added),
                     "removed": len(removed), "listed": len(revocations.revoked)},
        )  # fmt: skip
        session.commit()
    except Exception:
        session.rollback()
        raise
    return Imported(partner_id, revocations.version, len(revocations.revoked), len(added),
                    len(removed))  # fmt: skip


def _chunks(items: Sequence[str]) -> list[Sequence[str]]:
    return [items[start : start + CHUNK] for start in range(0, len(items), CHUNK)]


def held_lists(session: SessionLike) -> list[PartnerRevocationList]:
    """Every partner's list held here, by partner id."""
    return list(
        session.scalars(select(PartnerRevocationList).order_by(PartnerRevocationList.partner_id))
    )
