"""Revoking an authorisation, the process's cache of revoked ids and the signed revocation list."""

from __future__ import annotations

import logging
import time
from typing import Any

from flask import current_app
from sqlalchemy import select

from eta import applications, audit, outbox, tasks
from eta.authorisations.keys import issuer, keyring
from eta.issuance.revocations import revocation_hash, sign_revocation_list
from eta.models import Actor, Authorisation, RevocationListVersion
from eta.models.base import SessionLike
from eta.timeutil import utcnow

log = logging.getLogger(__name__)

# A revocation reaches every process within this many seconds (the one revoking: at once).
REVOCATIONS_CACHE_SECONDS = 2.0

_revocations: dict[str, tuple[float, tuple[Any, ...], frozenset[str]]] = {}
_revocation_lists: dict[str, tuple[tuple[Any, ...], str, str]] = {}


def _cache_key() -> str:
    return str(current_app.config["SQLALCHEMY_DATABASE_URI"])


def _list_state(session: SessionLike) -> tuple[Any, ...]:
    """Identifies the current revocation list version (survives a test's emptied tables)."""
    latest = session.execute(
        select(
            RevocationListVersion.version,
            RevocationListVersion.published_at,
            RevocationListVersion.authorisation_id,
        )
        .order_by(RevocationListVersion.version.desc())
        .limit(1)
    ).first()
    return (0, None, None) if latest is None else tuple(latest)


def _forget_revocations() -> None:
    key = _cache_key()
    _revocations.pop(key, None)


def revoked_hashes(session: SessionLike) -> set[str]:
    """Revocation hashes (SPEC §4) of every revoked authorisation, as verifiers hold them.

    Cached per process: reused for :data:`REVOCATIONS_CACHE_SECONDS`, then reused again only
    while the latest revocation list version is unchanged.
    """
    return set(current_revocations(session))


def current_revocations(session: SessionLike) -> frozenset[str]:
    """The revocation hashes of every revoked authorisation, cached as `revoked_hashes` says."""
    key = _cache_key()
    cached = _revocations.get(key)
    now = time.monotonic()
    if cached is not None and now - cached[0] < REVOCATIONS_CACHE_SECONDS:
        return cached[2]
    state = _list_state(session)
    if cached is not None and cached[1] == state:
        _revocations[key] = (now, state, cached[2])
        return cached[2]
    jtis = session.scalars(select(Authorisation.jti).where(Authorisation.revoked_at.is_not(None)))
    hashes = frozenset(revocation_hash(jti) for jti in jtis)
    _revocations[key] = (now, state, hashes)
    return hashes


def revocation_list_version(session: SessionLike) -> int:
    """The current version of the revocation list (0 before any revocation)."""
    return int(_list_state(session)[0])


def revocation_list_jws(session: SessionLike) -> str:
    """The signed revocation list (compact JWS, typ eta-revocations+jwt) of SPEC §4.

    Signed once per list version and active key, so repeated requests get the same bytes
    (and the same ETag) until something changes.
    """
    state = _list_state(session)
    signing_key = keyring().active()
    key = _cache_key()
    cached = _revocation_lists.get(key)
    if cached is not None and cached[0] == state and cached[1] == signing_key.kid:
        return cached[2]
    _forget_revocations()
    jws = sign_revocation_list(
        current_revocations(session), int(state[0]), issuer(), signing_key, utcnow()
    )
    _revocation_lists[key] = (state, signing_key.kid, jws)
    return jws


def revoke(
    session: SessionLike,
    authorisation: Authorisation,
    *,
    reason_code: str,
    officer_id: int | None,
    actor: Actor | str,
) -> None:
    """Revoke an authorisation: mark it, move its application to revoked, bump the list.

    Commits the mark, the status change, the new list version and the audit event together,
    with the "revoked" email in the outbox. Revoking an already revoked authorisation changes
    nothing.
    """
    if authorisation.revoked_at is not None:
        return
    actor = Actor(actor)
    now = utcnow()
    authorisation.revoked_at = now
    authorisation.revocation_reason = reason_code
    authorisation.revoked_by_id = officer_id
    application = authorisation.application
    applications.revoke(
        session,
        application,
        reason_code=reason_code,
        officer_id=officer_id,
        actor=actor,
        commit=False,
    )
    session.add(RevocationListVersion(published_at=now, authorisation_id=authorisation.id))
    audit.record(
        session,
        "authorisation.revoked",
        actor=f"officer:{officer_id}" if officer_id is not None else actor.value,
        object_type="application",
        object_id=application.reference,
        details={"reason": reason_code},
    )
    outbox.add(
        session, tasks.NOTIFY, application.id, "revoked", key=f"notify-revoked-{application.id}"
    )
    outbox.commit(session)
    _forget_revocations()
