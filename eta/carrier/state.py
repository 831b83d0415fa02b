"""What carrier verification may answer from memory: revoked authorisations and active API keys.

A token carries everything a carrier is told except whether it was revoked since, and the
caller's key may have been revoked too; reading both from the database for every request made
that read most of a verification's cost. So each process keeps the two sets in memory, tagged
with the *state version*, a random value in Redis that every change replaces:

- A commit that revokes an authorisation, revokes or deletes an API key, or deactivates a
  carrier sets a new version after it commits (session events below, so no code path can
  forget it).
- Every carrier request reads the version in the round trip that counts its rate limit
  (:mod:`eta.carrier.admission`). The process reloads its sets when the version differs from
  the one they were loaded under. The version is read *before* the sets, so a change that
  commits in between is in the sets or gives a newer version: either way it is seen.
- The sets are reloaded after :data:`MAX_AGE_SECONDS` whatever the version says, so a change
  made outside the app (SQL by hand) or whose new version was lost (Redis down at that moment)
  counts within that time too.
- Without a version (Redis unreachable) nothing is answered from memory: the database is read.
- When the reload fails because the database is unreachable, the last state loaded still
  answers for ETA_CARRIER_STALE_STATE_SECONDS after it was loaded (a restart takes seconds);
  after that, the request gets a 503 problem with Retry-After (see eta.carrier.service).

A revocation therefore counts from the moment the officer's request returns, as before.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, has_app_context
from redis.exceptions import RedisError
from sqlalchemy import Connection, event, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import get_history

from eta.extensions import limiter
from eta.models import Application, ApplicationStatus, Authorisation, Carrier, CarrierApiKey

log = logging.getLogger(__name__)

VERSION_KEY = "eta:carrier:state-version"
MAX_AGE_SECONDS = 1.0
_CHANGED = "eta.carrier_state_changed"
# app.extensions key: set while this process answers from its last state because reloading
# it failed (see last_state), cleared by the next state kept.
_STALE = "eta.carrier_state_stale"


@dataclass
class CarrierState:
    """Revoked token ids and active API key ids as of one state version."""

    version: str
    loaded_at: float
    revoked_jtis: frozenset[str]
    # Keys created after the load are confirmed by the database once and then added here.
    active_key_ids: set[int] = field(default_factory=set)


_REVOKED_JTIS = (
    select(Authorisation.jti)
    .join(Application, Application.id == Authorisation.application_id)
    .where(
        or_(
            Authorisation.revoked_at.is_not(None),
            Application.status == ApplicationStatus.REVOKED,
        )
    )
)
_ACTIVE_KEY_IDS = (
    select(CarrierApiKey.id)
    .join(Carrier, Carrier.id == CarrierApiKey.carrier_id)
    .where(CarrierApiKey.revoked_at.is_(None), Carrier.active.is_(True))
)


def load_state(connection: Connection, version: str) -> CarrierState:
    """Read the sets from the database, to be trusted while Redis says ``version``."""
    revoked = frozenset(connection.scalars(_REVOKED_JTIS))
    keys = set(connection.scalars(_ACTIVE_KEY_IDS))
    return CarrierState(
        version=version, loaded_at=time.monotonic(), revoked_jtis=revoked, active_key_ids=keys
    )


def cached_state(app: Flask, version: str) -> CarrierState | None:
    """This process's state if it was loaded under ``version`` and is young enough, else None."""
    state: CarrierState | None = app.extensions.get("eta.carrier_state")
    if state is None or state.version != version:
        return None
    if time.monotonic() - state.loaded_at >= MAX_AGE_SECONDS:
        return None
    return state


def last_state(app: Flask) -> CarrierState | None:
    """The state this process loaded last, whatever its version and age (None: none yet).

    Asked for when a reload failed: from then until a state is kept again, the process counts
    as answering from a stale state (see :func:`stale_age`).
    """
    state: CarrierState | None = app.extensions.get("eta.carrier_state")
    app.extensions[_STALE] = True
    return state


def keep_state(app: Flask, state: CarrierState) -> None:
    """Remember ``state`` for this process's next requests."""
    app.extensions["eta.carrier_state"] = state
    app.extensions.pop(_STALE, None)


def stale_age(app: Flask) -> float:
    """Seconds since the last good state was loaded, while reloads fail; 0 otherwise (a metric)."""
    state: CarrierState | None = app.extensions.get("eta.carrier_state")
    if state is None or not app.extensions.get(_STALE):
        return 0.0
    return time.monotonic() - state.loaded_at


def new_version(redis: Any) -> None:
    """Tell every process the carrier state changed (best effort: see the module's notes)."""
    try:
        redis.set(VERSION_KEY, secrets.token_hex(16))
    except (RedisError, OSError):  # the sets' age limit covers the change
        log.warning("carrier state version not updated: Redis unavailable")


def _changes_carrier_state(session: Session) -> bool:
    """Whether this flush revokes an authorisation or changes which API keys are active."""
    for instance in session.dirty:
        if isinstance(instance, Authorisation | CarrierApiKey):
            if get_history(instance, "revoked_at").has_changes():
                return True
        elif isinstance(instance, Application):
            if ApplicationStatus.REVOKED in get_history(instance, "status").added:
                return True
        elif isinstance(instance, Carrier) and get_history(instance, "active").has_changes():
            return True
    return any(
        isinstance(instance, Authorisation | CarrierApiKey | Carrier)
        for instance in session.deleted
    )


@event.listens_for(Session, "after_flush")
def _note_change(session: Session, _context: Any) -> None:
    if _changes_carrier_state(session):
        session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _announce_change(session: Session) -> None:
    if not session.info.pop(_CHANGED, False):
        return
    if not has_app_context():
        return  # a script without the app: the sets' age limit covers it
    storage = limiter.limiter.storage
    connection = getattr(storage, "get_connection", None)
    if connection is not None:
        new_version(connection())


@event.listens_for(Session, "after_rollback")
def _forget_change(session: Session) -> None:
    session.info.pop(_CHANGED, None)
