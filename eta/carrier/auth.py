"""Who is asking: carrier API keys (Bearer) for programs, staff sessions for the check-in page."""

from __future__ import annotations

import hmac
from collections import OrderedDict
from dataclasses import dataclass

from flask import current_app, request, session
from flask_limiter.util import get_remote_address
from sqlalchemy import select

from eta.accounts import API_KEY_PREFIX_LENGTH, hash_api_key
from eta.carrier.admission import Admission, admit
from eta.extensions import db
from eta.models import Carrier, CarrierApiKey, CarrierUser
from eta.web.problems import PROBLEM_BASE, Problem

SESSION_USER = "carrier_user_id"
DEFAULT_RATE_LIMIT = "600/minute"
_MAX_KEY_LENGTH = 200
# Keys a worker process remembers having seen (by hash), so a busy carrier's requests skip the
# key look-up; whether the key is still valid is confirmed by check_and_record.
_KNOWN_KEYS_SIZE = 1024


@dataclass(frozen=True)
class ApiCaller:
    """The carrier and key behind an authenticated API request."""

    carrier_id: int
    api_key_id: int


def _bearer_key() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    key = credentials.strip()
    if len(key) <= API_KEY_PREFIX_LENGTH or len(key) > _MAX_KEY_LENGTH or " " in key:
        return None
    return key


def _unauthorised(detail: str, error: str) -> Problem:
    return Problem(
        401,
        "Unauthorized",
        detail,
        type_=PROBLEM_BASE + "unauthorized",
        headers={"WWW-Authenticate": f'Bearer realm="eta-carriers", error="{error}"'},
    )


def _known_keys() -> OrderedDict[str, ApiCaller]:
    known: OrderedDict[str, ApiCaller] = current_app.extensions.setdefault(
        "eta.carrier_keys", OrderedDict()
    )
    return known


def revoked_key_problem() -> Problem:
    """The 401 for a key that is unknown or no longer valid."""
    return _unauthorised("This API key is unknown or has been revoked.", "invalid_token")


def identify_api_key() -> ApiCaller:
    """Who the request's API key belongs to, or a 401 problem for a missing or unknown key.

    The hot path of the carrier API: a key this process has already seen is recognised by its
    hash without a database query. That says only who the caller claims to be: the caller must
    then pass the key's id to :func:`eta.carrier.service.check_and_record`, which checks the
    key and its carrier are still active (against the carrier state, or the database), so a
    revoked key is refused at once.
    """
    key = _bearer_key_or_401()
    digest = hash_api_key(key)
    known = _known_keys()
    caller = known.get(digest)
    if caller is not None:
        return caller
    caller = authenticate_api_key()
    known[digest] = caller
    while len(known) > _KNOWN_KEYS_SIZE:
        known.popitem(last=False)
    return caller


def forget_api_key() -> None:
    """Drop this request's key from the process's known keys (it was found revoked)."""
    key = _bearer_key()
    if key is not None:
        _known_keys().pop(hash_api_key(key), None)


def _bearer_key_or_401() -> str:
    if not request.headers.get("Authorization"):
        raise Problem(
            401,
            "Unauthorized",
            "Send your carrier API key as Authorization: Bearer <key>.",
            type_=PROBLEM_BASE + "unauthorized",
            headers={"WWW-Authenticate": 'Bearer realm="eta-carriers"'},
        )
    key = _bearer_key()
    if key is None:
        raise _unauthorised("The Authorization header is not a Bearer API key.", "invalid_request")
    return key


def authenticate_api_key() -> ApiCaller:
    """The caller of this API request, or a 401 problem for a missing, unknown or revoked key.

    The key is found by its prefix and then compared by hash in constant time, so the time an
    answer takes says nothing about how much of a key was right.
    """
    key = _bearer_key_or_401()
    row = db.session.execute(
        select(CarrierApiKey.id, CarrierApiKey.carrier_id, CarrierApiKey.key_hash)
        .join(Carrier, Carrier.id == CarrierApiKey.carrier_id)
        .where(
            CarrierApiKey.prefix == key[:API_KEY_PREFIX_LENGTH],
            CarrierApiKey.revoked_at.is_(None),
            Carrier.active.is_(True),
        )
    ).first()
    expected = row.key_hash if row is not None else hash_api_key("")
    if not hmac.compare_digest(hash_api_key(key), expected) or row is None:
        raise revoked_key_problem()
    return ApiCaller(carrier_id=row.carrier_id, api_key_id=row.id)


def rate_limit_key() -> str:
    """The rate-limit bucket: the API key's prefix, so each key has its own allowance."""
    key = _bearer_key()
    if key is None:
        return "carrier-anonymous:" + get_remote_address()
    return "carrier-key:" + key[:API_KEY_PREFIX_LENGTH]


def rate_limit() -> str:
    """The per-key limit, from ETA_CARRIER_RATE_LIMIT (flask-limiter syntax)."""
    return str(current_app.config.get("ETA_CARRIER_RATE_LIMIT", DEFAULT_RATE_LIMIT))


def admit_request() -> Admission:
    """Count this request against its key's limits (a 429 problem once one is used up).

    The same Redis round trip reads the carrier state's version: see
    :mod:`eta.carrier.admission`.
    """
    return admit(rate_limit_key(), rate_limit())


def signed_in_user() -> CarrierUser | None:
    """The check-in staff member signed in on this browser session, if still active."""
    user_id = session.get(SESSION_USER)
    if not isinstance(user_id, int):
        return None
    user = db.session.get(CarrierUser, user_id)
    if user is None or not user.active:
        return None
    carrier = db.session.get(Carrier, user.carrier_id)
    if carrier is None or not carrier.active:
        return None
    return user
