"""Who is asking: carrier API keys (Bearer) for programs, staff sessions for the check-in page."""

from __future__ import annotations

import datetime as dt
import hmac
from collections import OrderedDict
from dataclasses import dataclass

from flask import current_app, g, request, session
from flask_limiter.util import get_remote_address
from sqlalchemy import select

from eta.accounts import API_KEY_PREFIX_LENGTH, hash_api_key
from eta.accounts import sessions as staff_sessions
from eta.carrier.admission import Admission, admit, count_refused, refuse_if_over
from eta.extensions import db
from eta.models import Carrier, CarrierApiKey, CarrierUser
from eta.timeutil import utcnow
from eta.web.problems import PROBLEM_BASE, Problem

SESSION_KEY = "carrier_session"  # the random id of a server-side staff session
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
    """Who the request's API key belongs to, or a 401 (or 429) problem.

    The hot path of the carrier API: a key this process has already seen is recognised by its
    hash without a database query. That says only who the caller claims to be: the caller must
    then pass the key's id to :func:`eta.carrier.service.check_and_record`, which checks the
    key and its carrier are still active (against the carrier state, or the database), so a
    revoked key is refused at once.

    A key the process has not seen is looked up only while the client address is within its
    allowance of refused requests (ETA_CARRIER_INVALID_KEY_RATE_LIMIT); every 401 counts
    against it, so guessing keys from one address soon gets 429 and costs no more queries.
    """
    key = _bearer_key()
    digest = hash_api_key(key) if key is not None else None
    known = _known_keys()
    caller = known.get(digest) if digest is not None else None
    if caller is not None:
        return caller
    address = get_remote_address()
    refused_limit = str(current_app.config["ETA_CARRIER_INVALID_KEY_RATE_LIMIT"])
    refuse_if_over(address, refused_limit)
    try:
        caller = authenticate_api_key()
    except Problem:
        count_refused(address, refused_limit)
        raise
    assert digest is not None  # authenticated, so there was a key  # noqa: S101
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


def rate_limit() -> str:
    """The per-key limit, from ETA_CARRIER_RATE_LIMIT (flask-limiter syntax)."""
    return str(current_app.config["ETA_CARRIER_RATE_LIMIT"])


def admit_request(caller: ApiCaller) -> Admission:
    """Count this request against its key's limits, by key id (a 429 problem once used up).

    Only an authenticated caller is counted here, so invalid keys (however alike a real one)
    never spend a carrier's allowance. The same Redis round trip reads the carrier state's
    version: see :mod:`eta.carrier.admission`.
    """
    return admit(f"carrier-key-id:{caller.api_key_id}", rate_limit())


def _limits() -> staff_sessions.Limits:
    config = current_app.config
    return staff_sessions.Limits(
        idle=dt.timedelta(seconds=config["ETA_CARRIER_IDLE_SECONDS"]),
        absolute=dt.timedelta(seconds=config["ETA_CARRIER_ABSOLUTE_SECONDS"]),
    )


def signed_in_user() -> CarrierUser | None:
    """The check-in staff member of this browser's open session, if still active.

    The cookie names a server-side session (:mod:`eta.accounts.sessions`): once it has been
    signed out, ended everywhere, or has passed the idle or absolute limit, it opens nothing.
    """
    check = staff_sessions.check_session(
        db.session, session.get(SESSION_KEY), _limits(), now=utcnow()
    )
    g.carrier_session_ended = check.ended
    record = check.session
    if record is None or record.carrier_user_id is None:
        return None
    user = db.session.get(CarrierUser, record.carrier_user_id)
    if user is None or not user.active:
        return None
    carrier = db.session.get(Carrier, user.carrier_id)
    if carrier is None or not carrier.active:
        return None
    return user


def session_ended() -> bool:
    """Whether this request's session was just ended for passing its idle or absolute limit."""
    return g.get("carrier_session_ended") in (staff_sessions.IDLE, staff_sessions.EXPIRED)
