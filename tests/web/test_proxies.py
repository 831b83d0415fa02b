"""Behind a reverse proxy: per-client rate limits and the scheme, only from trusted proxies."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask

from tests.factories import valid_payload

STATUS = "/api/v1/applications/status"
BODY = {"reference": "ETA-2222-2222-22", "passport_number": "X12345", "date_of_birth": "1990-01-01"}


def _codes(client: Any, address: str, times: int) -> list[int]:
    return [
        client.post(STATUS, json=BODY, headers={"X-Forwarded-For": address}).status_code
        for _ in range(times)
    ]


def test_behind_a_trusted_proxy_each_traveller_has_their_own_limit(
    app: Flask, make_app: Callable[..., Flask]
) -> None:
    proxied = make_app({"ETA_TRUSTED_PROXIES": 1, "ETA_STATUS_API_RATE_LIMIT": "2/day"})
    client = proxied.test_client()
    first = _codes(client, "203.0.113.7", 3)
    assert first[2] == 429 and 429 not in first[:2]
    # Another traveller behind the same proxy still gets an answer.
    assert _codes(client, "198.51.100.9", 1) != [429]
    # Links eta builds for the traveller come from ETA_PUBLIC_URL, whatever the proxy forwards.
    submitted = client.post(
        "/api/v1/applications",
        json=valid_payload(),
        headers={"X-Forwarded-For": "198.51.100.10", "X-Forwarded-Proto": "https"},
    )
    assert submitted.status_code == 202, submitted.get_json()
    assert submitted.get_json()["status_url"] == f"{proxied.config['ETA_PUBLIC_URL']}/status"


def test_without_trusted_proxies_forwarded_headers_are_ignored(app: Flask, monkeypatch) -> None:
    # Anyone can send X-Forwarded-For: believed by default, it would let one client reset its
    # own limit with every request.
    monkeypatch.setitem(app.config, "ETA_STATUS_API_RATE_LIMIT", "2/day")
    client = app.test_client()
    assert _codes(client, "203.0.113.7", 3)[2] == 429
    assert _codes(client, "198.51.100.9", 1) == [429]
