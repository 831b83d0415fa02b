"""Issue 13, finding 6: the carrier API's rate limit counted the key's 12-character prefix.

So random invalid keys each had an allowance of their own (700 got 401, never 429, each a
database query), and invalid keys sharing a real carrier's prefix spent that carrier's allowance
(its real key then got 429). Refused requests now count per client address; valid keys count by
key id, only once authenticated.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event

from eta.accounts import API_KEY_PREFIX_LENGTH
from eta.extensions import db

VERIFY = "/api/v1/carrier/verify"
BODY = {"passport_number": "X1", "issuing_country": "SWE"}
ATTACKER = {"REMOTE_ADDR": "198.51.100.7"}
CARRIER = {"REMOTE_ADDR": "192.0.2.10"}


def _random_key() -> str:
    return "eta_" + secrets.token_urlsafe(32)


@pytest.fixture
def statements(app: Flask) -> Iterator[list[str]]:
    """The SQL the app's main engine runs (where unknown keys are looked up)."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine, "before_cursor_execute", note)


def test_random_invalid_keys_get_429_by_address_without_a_query_each(
    app: Flask,
    client: Any,
    carrier_key: str,
    monkeypatch: pytest.MonkeyPatch,
    statements: list[str],
) -> None:
    monkeypatch.setitem(app.config, "ETA_CARRIER_INVALID_KEY_RATE_LIMIT", "5/day")
    codes = [
        client.post(
            VERIFY,
            json=BODY,
            headers={"Authorization": f"Bearer {_random_key()}"},
            environ_overrides=ATTACKER,
        ).status_code
        for _ in range(12)
    ]
    assert codes == [401] * 5 + [429] * 7
    limited = client.post(
        VERIFY,
        json=BODY,
        headers={"Authorization": f"Bearer {_random_key()}"},
        environ_overrides=ATTACKER,
    )
    assert limited.mimetype == "application/problem+json"
    assert "address" in limited.get_json()["detail"]
    assert 0 < int(limited.headers["Retry-After"]) <= 86400
    # Once over, a guess costs no database query: the 5 refused ones were the only look-ups.
    lookups = [sql for sql in statements if "carrier_api_keys" in sql]
    assert len(lookups) == 5
    # A request with no key at all counts too, and another address is not held back.
    assert client.post(VERIFY, json=BODY, environ_overrides=ATTACKER).status_code == 429
    real = {"Authorization": f"Bearer {carrier_key}"}
    assert client.post(VERIFY, json=BODY, headers=real, environ_overrides=CARRIER).status_code == (
        200
    )


def test_invalid_keys_sharing_a_carriers_prefix_do_not_spend_its_allowance(
    app: Flask, client: Any, carrier_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Per day, so a minute boundary in the middle of a slow run cannot reset the count.
    monkeypatch.setitem(app.config, "ETA_CARRIER_RATE_LIMIT", "3/day")
    monkeypatch.setitem(app.config, "ETA_CARRIER_INVALID_KEY_RATE_LIMIT", "1000/day")
    prefix = carrier_key[:API_KEY_PREFIX_LENGTH]
    forged = [
        prefix + secrets.token_urlsafe(32)[: len(carrier_key) - len(prefix)] for _ in range(10)
    ]
    answers = [
        client.post(
            VERIFY,
            json=BODY,
            headers={"Authorization": f"Bearer {key}"},
            environ_overrides=ATTACKER,
        ).status_code
        for key in forged
    ]
    assert answers == [401] * 10
    real = {"Authorization": f"Bearer {carrier_key}"}
    codes = [
        client.post(VERIFY, json=BODY, headers=real, environ_overrides=CARRIER).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]  # its own three, then its own limit


def test_a_valid_key_is_counted_by_key_id_from_any_address(
    app: Flask, client: Any, carrier_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "ETA_CARRIER_RATE_LIMIT", "2/day")
    real = {"Authorization": f"Bearer {carrier_key}"}
    first = client.post(VERIFY, json=BODY, headers=real, environ_overrides=CARRIER)
    second = client.post(VERIFY, json=BODY, headers=real, environ_overrides=ATTACKER)
    third = client.post(VERIFY, json=BODY, headers=real, environ_overrides=CARRIER)
    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
    assert "API key" in third.get_json()["detail"]
