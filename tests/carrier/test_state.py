"""The carrier state in memory: tokens without a database read, and every change seen at once."""

from __future__ import annotations

import time
from typing import Any

from redis import Redis
from sqlalchemy import select, update

from eta import authorisations
from eta.accounts import create_carrier, revoke_api_keys
from eta.authorisations import state as revocation_state
from eta.carrier import state as carrier_state
from eta.extensions import limiter
from eta.models import Actor, Authorisation, Carrier
from eta.timeutil import utcnow

VERIFY = "/api/v1/carrier/verify"
BATCH = "/api/v1/carrier/verify-batch"


def _result(client: Any, body: dict[str, Any], headers: dict[str, str]) -> tuple[str, str]:
    response = client.post(VERIFY, json=body, headers=headers)
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    return answer["result"], answer["reason"]


def test_a_token_is_answered_without_the_database_while_the_state_is_current(
    app, client, auth_headers, authorise, carrier_statements
):
    token = authorise().token
    assert _result(client, {"token": token}, auth_headers) == ("OK", "ok")  # loads the state
    with carrier_statements() as statements:
        for _ in range(3):
            assert _result(client, {"token": token}, auth_headers) == ("OK", "ok")
        batch = client.post(
            BATCH, json={"passengers": [{"token": token}] * 5}, headers=auth_headers
        )
    assert batch.status_code == 200
    assert statements == []
    # A passport still needs its one read.
    with carrier_statements() as statements:
        body = {"passport_number": "L898902C3", "issuing_country": "SWE"}
        assert _result(client, body, auth_headers) == ("OK", "ok")
    assert len(statements) == 1


def test_a_revocation_reaches_another_process_at_once(
    app, make_app, session, auth_headers, authorise
):
    # Two apps stand for two server processes: each keeps its own state in memory.
    other = make_app({"WTF_CSRF_ENABLED": True, "SERVER_NAME": None}).test_client()
    authorisation = authorise()
    body = {"token": authorisation.token}
    assert _result(other, body, auth_headers) == ("OK", "ok")
    assert _result(other, body, auth_headers) == ("OK", "ok")  # from memory now
    authorisations.revoke(
        session, authorisation, reason_code="new_information", officer_id=None, actor=Actor.SYSTEM
    )
    assert _result(other, body, auth_headers) == ("NOT_OK", "revoked")
    # The key's revocation too, for a token request that needs no passenger record.
    revoke_api_keys(session, session.scalar(select(Carrier)))
    assert other.post(VERIFY, json=body, headers=auth_headers).status_code == 401


def test_without_redis_the_database_answers_and_revocations_still_count(
    app, client, session, auth_headers, authorise, monkeypatch, carrier_statements
):
    authorisation = authorise()
    body = {"token": authorisation.token}
    assert _result(client, body, auth_headers) == ("OK", "ok")  # state loaded while Redis is up
    storage = limiter.limiter.storage
    monkeypatch.setattr(storage, "storage", Redis(host="127.0.0.1", port=1))
    monkeypatch.setattr(storage, "_eta_admit_script", None, raising=False)
    # Redis is unreachable, so the revocation's new state version is lost; the request, with
    # no version to trust, reads the token's record and the key from the database instead.
    authorisations.revoke(
        session, authorisation, reason_code="new_information", officer_id=None, actor=Actor.SYSTEM
    )
    with carrier_statements() as statements:
        assert _result(client, body, auth_headers) == ("NOT_OK", "revoked")
    assert len(statements) == 1
    assert "carrier_api_keys" in statements[0]


def test_a_change_made_outside_the_app_counts_once_the_state_is_old(
    app, client, session, auth_headers, authorise, monkeypatch
):
    authorisation = authorise()
    body = {"token": authorisation.token}
    assert _result(client, body, auth_headers) == ("OK", "ok")
    # SQL that bypasses the session's change tracking announces nothing ...
    session.execute(
        update(Authorisation)
        .where(Authorisation.id == authorisation.id)
        .values(revoked_at=utcnow())
    )
    session.commit()
    monkeypatch.setattr(revocation_state, "MAX_AGE_SECONDS", 0.3)
    # ... so the state in memory still answers (which is what makes tokens cheap) ...
    assert _result(client, body, auth_headers) == ("OK", "ok")
    # ... until it is older than MAX_AGE_SECONDS and read again.
    time.sleep(0.35)
    assert _result(client, body, auth_headers) == ("NOT_OK", "revoked")


def test_only_changes_that_matter_announce_a_new_version(app, session, redis, authorise):
    authorisation = authorise()  # issuing: nothing a carrier answer depends on has changed
    carrier, _key = create_carrier(session, "Other Air")  # a new key is confirmed when used
    session.commit()
    assert redis.get(carrier_state.VERSION_KEY) is None
    authorisations.revoke(
        session, authorisation, reason_code="new_information", officer_id=None, actor=Actor.SYSTEM
    )
    after_revocation = redis.get(carrier_state.VERSION_KEY)
    assert after_revocation is not None
    authorise(passport_number="N2", passport_number_normalised="N2")
    assert redis.get(carrier_state.VERSION_KEY) == after_revocation
    revoke_api_keys(session, carrier)
    assert redis.get(carrier_state.VERSION_KEY) not in (None, after_revocation)


def test_a_limiter_storage_other_than_redis_still_limits_and_reads_the_database(
    app, client, auth_headers, authorise, monkeypatch, carrier_statements
):
    from limits.storage import MemoryStorage
    from limits.strategies import FixedWindowRateLimiter

    monkeypatch.setattr(limiter, "_limiter", FixedWindowRateLimiter(MemoryStorage()))
    monkeypatch.setitem(app.config, "ETA_CARRIER_RATE_LIMIT", "2/day")
    body = {"token": authorise().token}
    with carrier_statements() as statements:
        assert _result(client, body, auth_headers) == ("OK", "ok")
    assert len(statements) == 1  # no state version to trust: the token's record is read
    assert _result(client, body, auth_headers) == ("OK", "ok")
    assert client.post(VERIFY, json=body, headers=auth_headers).status_code == 429


def test_with_the_database_down_tokens_are_answered_from_the_last_state_then_503(
    app, client, auth_headers, authorise, monkeypatch
):
    """Issue 13, finding 5: the state's reload failing while the database restarts answered
    500. The last good state answers for ETA_CARRIER_STALE_STATE_SECONDS, then a 503 problem
    with Retry-After; a passport, which needs the database, gets the 503 at once."""
    from sqlalchemy import create_engine

    from eta.carrier.service import CARRIER_BIND
    from eta.extensions import db

    body = {"token": authorise().token}
    assert _result(client, body, auth_headers) == ("OK", "ok")  # the state is loaded
    # A real connection that fails: nothing listens on port 1.
    dead = create_engine("postgresql+psycopg://eta@127.0.0.1:1/eta", pool_pre_ping=False)
    with app.app_context():
        monkeypatch.setitem(db.engines, CARRIER_BIND, dead)
    monkeypatch.setattr(revocation_state, "MAX_AGE_SECONDS", 0.0)  # every request reloads
    for _ in range(3):
        assert _result(client, body, auth_headers) == ("OK", "ok")
    passport = {"passport_number": "L898902C3", "issuing_country": "SWE"}
    response = client.post(VERIFY, json=passport, headers=auth_headers)
    assert response.status_code == 503, response.get_json()
    assert int(response.headers["Retry-After"]) >= 1
    # Past the bound, tokens get the 503 too: a revocation might have been missed meanwhile.
    monkeypatch.setitem(app.config, "ETA_CARRIER_STALE_STATE_SECONDS", 0.0)
    response = client.post(VERIFY, json=body, headers=auth_headers)
    assert response.status_code == 503, response.get_json()
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"] == str(app.config["ETA_CARRIER_RETRY_AFTER_SECONDS"])
    dead.dispose()
