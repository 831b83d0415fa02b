"""The one revocation cache (issue 12): carriers, the signed list and the verify page share it.

Two apps stand for two server processes sharing the database and Redis; each keeps its own
cache in memory. The one invalidation is the state version in Redis (plus an age limit).
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, insert, update

from eta import authorisations
from eta.authorisations import state as revocation_state
from eta.issuance.revocations import revocation_hash
from eta.models import Actor, Authorisation, RevocationListVersion
from eta.timeutil import utcnow

VERIFY = "/api/v1/carrier/verify"


@pytest.fixture
def other_app(make_app: Any) -> Iterator[Flask]:
    """A second app on the same database and Redis: another server process."""
    other = make_app({"WTF_CSRF_ENABLED": True, "SERVER_NAME": None})
    yield other
    query_log = other.extensions.get("eta.carrier_query_log")
    if query_log is not None:
        with other.app_context():
            query_log.flush()  # its rows land now, not during the next test's TRUNCATE


def _listed(client: Any) -> tuple[int, set[str]]:
    """(ver, revoked) of the signed revocation list the client is served."""
    response = client.get("/api/v1/revocations")
    assert response.status_code == 200
    payload = response.get_data(as_text=True).split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims["ver"], set(claims["revoked"])


def _carrier(client: Any, token: str, headers: dict[str, str]) -> tuple[str, str]:
    response = client.post(VERIFY, json={"token": token}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["result"], response.get_json()["reason"]


@contextlib.contextmanager
def _revocation_reads(app: Flask) -> Iterator[list[str]]:
    """The statements, on any of the app's engines, that read the revocation set."""
    from eta.extensions import db

    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "revocation_list_versions" in statement or "revoked_at IS NOT NULL" in statement:
            seen.append(statement)

    with app.app_context():
        engines = list(db.engines.values())
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


def test_carriers_and_the_signed_list_read_the_revocation_set_once(
    app, client, auth_headers, authorise, monkeypatch
):
    monkeypatch.setattr(revocation_state, "MAX_AGE_SECONDS", 60.0)
    token = authorise().token
    with _revocation_reads(app) as reads:
        assert _carrier(client, token, auth_headers) == ("OK", "ok")  # loads the one cache
        assert _listed(client) == (0, set())  # served from it
        assert _listed(client) == (0, set())
    assert len(reads) == 2  # the revoked ids and the list version, read once for both
    # And the other way round: a carrier request after the list reads no revocations.
    revocation_state.forget_revocations(app)
    with _revocation_reads(app) as reads:
        assert _listed(client) == (0, set())
        assert _carrier(client, token, auth_headers) == ("OK", "ok")
    assert len(reads) == 2


def test_a_revocation_in_one_process_reaches_another_at_once_by_a_new_redis_version(
    app, other_app, session, redis, auth_headers, authorise, monkeypatch
):
    # An age limit far away: only the state version can make the other process read again.
    monkeypatch.setattr(revocation_state, "MAX_AGE_SECONDS", 60.0)
    other = other_app.test_client()
    authorisation = authorise()
    assert _listed(other) == (0, set())
    assert _carrier(other, authorisation.token, auth_headers) == ("OK", "ok")
    with other_app.test_request_context():
        assert authorisations.verify_token(authorisation.token).ok
    version = redis.get(revocation_state.VERSION_KEY)
    authorisations.revoke(
        session, authorisation, reason_code="new_information", officer_id=None, actor=Actor.SYSTEM
    )
    assert redis.get(revocation_state.VERSION_KEY) not in (None, version)  # a real bump
    listed = (1, {revocation_hash(authorisation.jti)})
    assert _listed(other) == listed
    assert _carrier(other, authorisation.token, auth_headers) == ("NOT_OK", "revoked")
    with other_app.test_request_context():
        assert authorisations.verify_token(authorisation.token).reason == "revoked"


def test_a_change_no_version_announced_counts_after_a_version_bump_or_the_age_limit(
    app, other_app, session, redis, auth_headers, authorise, monkeypatch
):
    monkeypatch.setattr(revocation_state, "MAX_AGE_SECONDS", 60.0)
    other = other_app.test_client()
    first, second = authorise(), authorise(passport_number="N2", passport_number_normalised="N2")
    assert _listed(other) == (0, set())

    def revoke_by_hand(authorisation: Authorisation) -> None:
        # SQL past the session's change tracking: no new version is announced.
        session.execute(
            update(Authorisation)
            .where(Authorisation.id == authorisation.id)
            .values(revoked_at=utcnow())
        )
        session.execute(
            insert(RevocationListVersion).values(
                published_at=utcnow(), authorisation_id=authorisation.id
            )
        )
        session.commit()

    revoke_by_hand(first)
    assert _listed(other) == (0, set())  # the cache still answers ...
    assert _carrier(other, first.token, auth_headers) == ("OK", "ok")
    redis.set(revocation_state.VERSION_KEY, "set-by-hand")  # ... until the version changes
    assert _listed(other)[1] == {revocation_hash(first.jti)}
    assert _carrier(other, first.token, auth_headers) == ("NOT_OK", "revoked")
    # With the version lost, the age limit: read again once the cache is older than it.
    monkeypatch.setattr(revocation_state, "MAX_AGE_SECONDS", 0.3)
    revoke_by_hand(second)
    time.sleep(0.35)
    assert _listed(other)[1] == {revocation_hash(first.jti), revocation_hash(second.jti)}
    assert _carrier(other, second.token, auth_headers) == ("NOT_OK", "revoked")


def test_the_signed_list_is_the_same_bytes_until_it_changes_or_is_due_a_new_signature(
    app, client, monkeypatch
):
    first = client.get("/api/v1/revocations").get_data()
    assert client.get("/api/v1/revocations").get_data() == first
    # Partners refuse a copy signed too long ago: past ETA_REVOCATIONS_RESIGN_SECONDS it is
    # signed again (a new signature over the same version and entries).
    monkeypatch.setitem(app.config, "ETA_REVOCATIONS_RESIGN_SECONDS", 0)
    again = client.get("/api/v1/revocations").get_data()
    assert again != first
    assert _listed(client) == (0, set())
