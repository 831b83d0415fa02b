"""Revoking an authorisation, and the signed revocation list made from the one revocation cache."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from flask import current_app

from eta import applications, audit, outbox, tasks
from eta.authorisations.keys import issuer, keyring
from eta.authorisations.state import current_revocations_state
from eta.issuance.revocations import sign_revocation_list
from eta.models import Actor, Authorisation, RevocationListVersion
from eta.models.base import SessionLike
from eta.timeutil import utcnow

log = logging.getLogger(__name__)

# By app: the list last signed, with what it was signed over (list state, kid, hashes) and when.
_SIGNED = "eta.revocation_list_jws"


def revoked_hashes(session: SessionLike) -> set[str]:
    """Revocation hashes (SPEC §4) of every revoked authorisation, as verifiers hold them.

    From the one revocation cache (:mod:`eta.authorisations.state`).
    """
    return set(current_revocations(session))


def current_revocations(session: SessionLike) -> frozenset[str]:
    """The revocation hashes of every revoked authorisation (the one revocation cache)."""
    return current_revocations_state(session).revoked_hashes


def revocation_list_version(session: SessionLike) -> int:
    """The current version of the revocation list (0 before any revocation)."""
    return current_revocations_state(session).list_version


def revocation_list_jws(session: SessionLike) -> str:
    """The signed revocation list (compact JWS, typ eta-revocations+jwt) of SPEC §4.

    Signed once per revocation state and active key, so repeated requests get the same
    bytes (and the same ETag) until something changes, or ETA_REVOCATIONS_RESIGN_SECONDS
    have passed (then signed again with a new ``iat``, so copies never look stale).
    """
    state = current_revocations_state(session)
    signing_key = keyring().active()
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    hashes = state.revoked_hashes
    now = utcnow()
    signed: tuple[Any, ...] | None = app.extensions.get(_SIGNED)
    if signed is not None and signed[:3] == (state.list_state, signing_key.kid, hashes):
        # Signed again now and then all the same: partners refuse a copy signed long ago.
        fresh_for = dt.timedelta(seconds=int(app.config["ETA_REVOCATIONS_RESIGN_SECONDS"]))
        if now - signed[3] < fresh_for:
            return str(signed[4])
    jws = sign_revocation_list(hashes, state.list_version, issuer(), signing_key, now)
    app.extensions[_SIGNED] = (state.list_state, signing_key.kid, hashes, now, jws)
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
    outbox.commit(session)  # the one revocation cache hears of it (its session events)
