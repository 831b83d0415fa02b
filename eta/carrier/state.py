"""What carrier verification may answer from memory: revocations and active API keys.

A token carries everything a carrier is told except whether it was revoked since, and the
caller's key may have been revoked too; reading both from the database for every request made
that read most of a verification's cost. The revocations come from the one revocation cache
(:mod:`eta.authorisations.state`, shared with the signed revocation list and the verify page);
this module adds the active API key ids, tagged with the same *state version* and dropped by
the same rule:

- A commit that revokes or deletes an API key, or deactivates a carrier, sets a new version
  after it commits, as a revocation does (session events below and in the cache's module).
- Every carrier request reads the version in the round trip that counts its rate limit
  (:mod:`eta.carrier.admission`). The process reloads what is not current for that version:
  the revocations if the one cache has none for it, the key ids in any case. The version is
  read *before* the sets, so a change that commits in between is in the sets or gives a newer
  version: either way it is seen.
- Both are reloaded after MAX_AGE_SECONDS (of the cache's module) whatever the version says.
- Without a version (Redis unreachable) nothing is answered from memory: the database is read.
- When the reload fails because the database is unreachable, the last state loaded still
  answers for ETA_CARRIER_STALE_STATE_SECONDS after it was loaded (a restart takes seconds);
  after that, the request gets a 503 problem with Retry-After (see eta.carrier.service).

A revocation therefore counts from the moment the officer's request returns, as before.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy import Connection, event, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import get_history

from eta.authorisations import state as revocation_state
from eta.authorisations.state import (
    VERSION_KEY,
    RevocationState,
    cached_revocations,
    keep_revocations,
    load_revocations,
    new_version,
    note_change,
)
from eta.models import Carrier, CarrierApiKey

__all__ = [
    "VERSION_KEY",
    "CarrierState",
    "cached_state",
    "keep_state",
    "last_state",
    "load_state",
    "new_version",
]

_EXTENSION = "eta.carrier_state"
# app.extensions key: set while this process answers from its last state because reloading
# it failed (see last_state), cleared by the next state kept.
_STALE = "eta.carrier_state_stale"


@dataclass
class CarrierState:
    """The revocations (the one cache's state) and active API key ids as of one version."""

    version: str
    loaded_at: float  # when the key ids were read
    revocations: RevocationState
    # Keys created after the load are confirmed by the database once and then added here.
    active_key_ids: set[int] = field(default_factory=set)

    @property
    def revoked_jtis(self) -> frozenset[str]:
        """Our revoked token ids (an authorisation or its application revoked)."""
        return self.revocations.revoked_jtis

    @property
    def oldest_load(self) -> float:
        """When the older of its two parts was read (what staleness is measured from)."""
        return min(self.loaded_at, self.revocations.loaded_at)


_ACTIVE_KEY_IDS = (
    select(CarrierApiKey.id)
    .join(Carrier, Carrier.id == CarrierApiKey.carrier_id)
    .where(CarrierApiKey.revoked_at.is_(None), Carrier.active.is_(True))
)


def load_state(
    connection: Connection, version: str, revocations: RevocationState | None = None
) -> CarrierState:
    """Read the key ids (and the revocations, unless current ones are given) for ``version``."""
    if revocations is None or revocations.version != version:
        revocations = load_revocations(connection, version)
    keys = set(connection.scalars(_ACTIVE_KEY_IDS))
    return CarrierState(
        version=version, loaded_at=time.monotonic(), revocations=revocations, active_key_ids=keys
    )


def cached_state(app: Flask, version: str) -> CarrierState | None:
    """This process's state if it is current for ``version`` (both parts), else None.

    The revocations must be the one cache's current state, so a reload there (by the signed
    list, a revocation committed here) is a reload here too.
    """
    state: CarrierState | None = app.extensions.get(_EXTENSION)
    if state is None or state.version != version:
        return None
    if time.monotonic() - state.loaded_at >= revocation_state.MAX_AGE_SECONDS:
        return None
    if cached_revocations(app, version) is not state.revocations:
        return None
    return state


def last_state(app: Flask) -> CarrierState | None:
    """The state this process loaded last, whatever its version and age (None: none yet).

    Asked for when a reload failed: from then until a state is kept again, the process counts
    as answering from a stale state (see :func:`stale_age`).
    """
    state: CarrierState | None = app.extensions.get(_EXTENSION)
    app.extensions[_STALE] = True
    return state


def keep_state(app: Flask, state: CarrierState) -> None:
    """Remember ``state`` for this process's next requests; its revocations go to the cache."""
    app.extensions[_EXTENSION] = state
    app.extensions.pop(_STALE, None)
    keep_revocations(app, state.revocations)


def stale_age(app: Flask) -> float:
    """Seconds since the last good state was loaded, while reloads fail; 0 otherwise (a metric)."""
    state: CarrierState | None = app.extensions.get(_EXTENSION)
    if state is None or not app.extensions.get(_STALE):
        return 0.0
    return time.monotonic() - state.loaded_at


def _changes_keys(session: Session) -> bool:
    """Whether this flush changes which API keys are active."""
    for instance in session.dirty:
        if isinstance(instance, CarrierApiKey):
            if get_history(instance, "revoked_at").has_changes():
                return True
        elif isinstance(instance, Carrier) and get_history(instance, "active").has_changes():
            return True
    return any(isinstance(instance, CarrierApiKey | Carrier) for instance in session.deleted)


@event.listens_for(Session, "after_flush")
def _note_change(session: Session, _context: Any) -> None:
    if _changes_keys(session):
        note_change(session)  # announced after commit, as a revocation is
