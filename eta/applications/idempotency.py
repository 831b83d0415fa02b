"""Idempotency keys (SPEC §6): a retried API submission answers what the first one got.

A client sends `Idempotency-Key: <1–255 visible characters>` with `POST /api/v1/applications`.
The first request with a key stores, in the transaction that saves the application, a row
holding the key's hash, the body's hash and the answer. A later request with the same key:
- with the same body, within the key's lifetime, gets that answer again (same reference);
- with another body, is refused (`IdempotencyKeyReused`), whatever the first one was.

Two requests with one key at the same moment are serialised by the unique key hash: the second
one's INSERT waits for the first's transaction, then fails, and the second answers with what
the first stored. Expired rows are deleted by the daily maintenance job (`purge_expired`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from eta.models import IdempotencyKey
from eta.models.base import SessionLike
from eta.timeutil import utcnow

# RFC 9110 visible characters (VCHAR, %x21-7E): no spaces, no control or non-ASCII characters.
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")


class InvalidIdempotencyKey(ValueError):
    """The Idempotency-Key header is empty, too long, or holds characters that are not visible."""


class IdempotencyKeyReused(Exception):
    """The key was used, within its lifetime, with another body."""


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """A request's key and body, as hashes: all that is kept of either."""

    key_hash: str
    request_hash: str

    @classmethod
    def of(cls, key: str, body: Any) -> IdempotentRequest:
        """Fingerprint `key` (the header's value) and `body` (the parsed JSON document).

        The body is hashed in canonical JSON (sorted keys, no spaces, ASCII escapes), so a retry
        that sends the same document with its keys in another order or other white space is
        the same.
        Raises InvalidIdempotencyKey for a key outside 1–255 visible characters.
        """
        if not KEY_PATTERN.fullmatch(key):
            raise InvalidIdempotencyKey(
                "Idempotency-Key must be 1 to 255 visible ASCII characters (no spaces)."
            )
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
        return cls(
            key_hash=hashlib.sha256(key.encode("ascii")).hexdigest(),
            request_hash=hashlib.sha256(canonical.encode("ascii")).hexdigest(),
        )


class Stored(NamedTuple):
    """What the first request with a key saved and answered."""

    application_id: int
    response: dict[str, Any]


def stored_response(
    session: SessionLike, request: IdempotentRequest, *, now: dt.datetime | None = None
) -> Stored | None:
    """The answer stored for `request`'s key while it lives, or None if there is none.

    Raises IdempotencyKeyReused when the key was stored with another body.
    """
    row = session.execute(
        select(
            IdempotencyKey.request_hash, IdempotencyKey.application_id, IdempotencyKey.response
        ).where(
            IdempotencyKey.key_hash == request.key_hash,
            IdempotencyKey.expires_at > (now or utcnow()),
        )
    ).first()
    if row is None or row.response is None:
        # (A claimed row without its answer is never committed: both share one transaction.)
        return None
    if row.request_hash != request.request_hash:
        raise IdempotencyKeyReused("this Idempotency-Key was used with another request body")
    return Stored(row.application_id, dict(row.response))


def claim(session: SessionLike, request: IdempotentRequest, *, lifetime: dt.timedelta) -> bool:
    """Take `request`'s key for this transaction; False if another request holds it already.

    The caller's first write, so that on a conflict rolling back loses nothing: the INSERT
    waits for any transaction holding the same key hash and fails once that one commits. On
    False the session has been rolled back and `stored_response()` reads what the winner
    stored. A row of the key that has expired but is not yet purged is replaced.
    """
    now = utcnow()
    session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.key_hash == request.key_hash, IdempotencyKey.expires_at <= now
        )
    )
    try:
        session.execute(
            insert(IdempotencyKey).values(
                key_hash=request.key_hash,
                request_hash=request.request_hash,
                created_at=now,
                expires_at=now + lifetime,
            )
        )
    except IntegrityError:
        session.rollback()
        return False
    return True


def complete(
    session: SessionLike,
    request: IdempotentRequest,
    *,
    application_id: int,
    response: dict[str, Any],
) -> None:
    """Store the answer of the claimed key's request, in the caller's transaction."""
    session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.key_hash == request.key_hash)
        .values(application_id=application_id, response=response)
    )


def purge_expired(session: SessionLike, *, now: dt.datetime | None = None) -> int:
    """Delete the keys whose lifetime has ended, and commit; returns how many."""
    result = session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.expires_at <= (now or utcnow()))
    )
    session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
