"""The one revocation cache: what each process holds of the revocation set, and its invalidation.

Carrier verification, the signed revocation list (``GET /api/v1/revocations``) and the verify
page all answer "was this token revoked?" from one :class:`RevocationState` per app and
process: our revoked token ids (an authorisation marked revoked, or its application revoked),
the revocation list version they make, and the partners' revoked token hashes imported from
their signed lists (:mod:`eta.partners.revocations`). Reading the set from the database for
every request made that read most of a verification's cost, so it is cached, and one rule
says when the cache is stale:

- The state is tagged with the *state version*, a random value in Redis under
  :data:`VERSION_KEY` that every change replaces. A commit that revokes an authorisation,
  revokes an application or imports a partner's revocation list sets a new version after it
  commits (session events below, so no code path can forget it), and the committing process
  drops its own state at once. Other changes a carrier answer depends on (API keys, carriers)
  announce themselves the same way (:mod:`eta.carrier.state`).
- A caller reads the version first (carrier requests in the round trip that counts their
  rate limit, :mod:`eta.carrier.admission`; the others with one GET), then uses the state
  only if it was loaded under that version and is younger than :data:`MAX_AGE_SECONDS`. The
  version is read *before* the set, so a change that commits in between is in the set or
  gives a newer version: either way it is seen.
- The age limit covers a change made outside the app (SQL by hand) or whose new version was
  lost (Redis down at that moment).
- Without a version (Redis unreachable) carrier verification answers nothing from memory
  (the database is read); the revocation list and the verify page use a state no older than
  the age limit.
- When a reload fails because the database is unreachable, carrier verification may answer
  from the last state loaded for ETA_CARRIER_STALE_STATE_SECONDS (see eta.carrier.service).

A revocation therefore counts everywhere from the moment the officer's request returns.
"""

from __future__ import annotations

import functools
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, has_app_context
from redis.exceptions import RedisError
from sqlalchemy import Connection, event, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import get_history

from eta.extensions import limiter
from eta.issuance.revocations import revocation_hash
from eta.models import (
    Application,
    ApplicationStatus,
    Authorisation,
    PartnerRevocation,
    PartnerRevocationList,
    RevocationListVersion,
)

log = logging.getLogger(__name__)

VERSION_KEY = "eta:state-version"
MAX_AGE_SECONDS = 1.0
_EXTENSION = "eta.revocation_state"
_CHANGED = "eta.revocation_state_changed"


@dataclass(frozen=True)
class RevocationState:
    """The revocation set as of one state version (``None``: loaded while Redis was down)."""

    version: str | None
    loaded_at: float
    # The latest revocation list version: (ver, published_at, authorisation_id); (0, None, None)
    # before any revocation. ``ver`` goes into the signed list.
    list_state: tuple[Any, ...]
    revoked_jtis: frozenset[str]
    # By partner id: the revocation hashes (SPEC §4) of its revoked tokens, from its list.
    partner_revoked: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def list_version(self) -> int:
        """The version of our signed revocation list this state makes (0 before any)."""
        return int(self.list_state[0])

    @functools.cached_property
    def revoked_hashes(self) -> frozenset[str]:
        """Our revoked tokens as the signed list publishes them (SHA-256 of the jti, cut).

        Computed once per state: signing the list and the verify page share it.
        """
        return frozenset(revocation_hash(jti) for jti in self.revoked_jtis)

    def partner_revoked_hashes(self, partner_id: str) -> frozenset[str]:
        """The revocation hashes partner ``partner_id``'s last imported list names."""
        return self.partner_revoked.get(partner_id, frozenset())


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
_LIST_STATE = (
    select(
        RevocationListVersion.version,
        RevocationListVersion.published_at,
        RevocationListVersion.authorisation_id,
    )
    .order_by(RevocationListVersion.version.desc())
    .limit(1)
)
_PARTNER_REVOKED = select(PartnerRevocation.partner_id, PartnerRevocation.hash)


def load_revocations(connection: Connection | Session, version: str | None) -> RevocationState:
    """Read the set from the database, to be trusted while Redis says ``version``."""
    latest = connection.execute(_LIST_STATE).first()
    jtis = frozenset(connection.scalars(_REVOKED_JTIS))
    partners: dict[str, set[str]] = {}
    for partner_id, value in connection.execute(_PARTNER_REVOKED):
        partners.setdefault(partner_id, set()).add(value)
    return RevocationState(
        version=version,
        loaded_at=time.monotonic(),
        list_state=(0, None, None) if latest is None else tuple(latest),
        revoked_jtis=jtis,
        partner_revoked={partner: frozenset(hashes) for partner, hashes in partners.items()},
    )


def cached_revocations(app: Flask, version: str | None) -> RevocationState | None:
    """This process's state if it was loaded under ``version`` and is young enough, else None."""
    state: RevocationState | None = app.extensions.get(_EXTENSION)
    if state is None or state.version != version:
        return None
    if time.monotonic() - state.loaded_at >= MAX_AGE_SECONDS:
        return None
    return state


def last_revocations(app: Flask) -> RevocationState | None:
    """The state this process loaded last, whatever its version and age (None: none yet)."""
    state: RevocationState | None = app.extensions.get(_EXTENSION)
    return state


def keep_revocations(app: Flask, state: RevocationState) -> None:
    """Remember ``state`` for this process's next requests (a newer load replaces it)."""
    previous: RevocationState | None = app.extensions.get(_EXTENSION)
    if previous is None or previous.loaded_at <= state.loaded_at:
        app.extensions[_EXTENSION] = state


def forget_revocations(app: Flask) -> None:
    """Drop this process's state: the next caller reads the database."""
    app.extensions.pop(_EXTENSION, None)


def _redis() -> Any:
    """The Redis connection the version lives on (the rate limiter's), or None."""
    connection = getattr(limiter.limiter.storage, "get_connection", None)
    return connection() if connection is not None else None


def read_version() -> str | None:
    """The state version as Redis has it ("" before any change), or None when unreadable."""
    redis = _redis()
    if redis is None:
        return None
    try:
        value = redis.get(VERSION_KEY)
    except (RedisError, OSError):
        log.warning("revocation state version not read: Redis unavailable")
        return None
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)


def new_version(redis: Any) -> None:
    """Tell every process the state changed (best effort: see the module's notes)."""
    try:
        redis.set(VERSION_KEY, secrets.token_hex(16))
    except (RedisError, OSError):  # the state's age limit covers the change
        log.warning("revocation state version not updated: Redis unavailable")


def current_revocations_state(session: Session | Any) -> RevocationState:
    """The revocation state now: this process's if still current (see the module's notes),
    else read with ``session`` and kept for the next callers."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    version = read_version()
    state = cached_revocations(app, version)
    if state is None:
        state = load_revocations(session, version)
        keep_revocations(app, state)
    return state


def note_change(session: Session) -> None:
    """Mark this session's transaction as changing the state: a new version after commit."""
    session.info[_CHANGED] = True


def _changes_revocations(session: Session) -> bool:
    """Whether this flush revokes an authorisation or application, or changes partners' lists."""
    for instance in session.dirty:
        if isinstance(instance, Authorisation):
            if get_history(instance, "revoked_at").has_changes():
                return True
        elif isinstance(instance, Application):
            if ApplicationStatus.REVOKED in get_history(instance, "status").added:
                return True
        elif isinstance(instance, PartnerRevocationList):
            return True
    partners = (PartnerRevocationList, PartnerRevocation)
    return any(isinstance(instance, partners) for instance in session.new) or any(
        isinstance(instance, (Authorisation, *partners)) for instance in session.deleted
    )


@event.listens_for(Session, "after_flush")
def _note_revocation(session: Session, _context: Any) -> None:
    # After the flush the session still lists what it flushed (new, dirty, deleted).
    if _changes_revocations(session):
        note_change(session)


@event.listens_for(Session, "after_commit")
def _announce_change(session: Session) -> None:
    if not session.info.pop(_CHANGED, False):
        return
    if not has_app_context():
        return  # a script without the app: the state's age limit covers it
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    forget_revocations(app)  # this process sees its own change at once, Redis or not
    redis = _redis()
    if redis is not None:
        new_version(redis)


@event.listens_for(Session, "after_rollback")
def _forget_change(session: Session) -> None:
    session.info.pop(_CHANGED, None)
