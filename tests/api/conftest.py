"""Fixtures for API tests: a valid application payload (SPEC §4), and rate limits switched off."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from eta.timeutil import today
from tests.traveller.conftest import _compiled_catalogues  # noqa: F401  (French messages)

VALID: dict[str, Any] = {
    "given_names": "Anna Maria",
    "surname": "Eriksson",
    "sex": "F",
    "date_of_birth": "1974-08-12",
    "place_of_birth": "Stockholm",
    "nationality": "SWE",
    "passport": {
        "number": "L898902C3",
        "issuing_country": "SWE",
        "issue_date": "2022-04-16",
        "expiry_date": "2032-04-15",
    },
    "email": "anna@example.org",
    "phone": "+46701234567",
    "home_address": {"line1": "Storgatan 1", "city": "Stockholm", "country": "SWE"},
    "occupation": "Teacher",
    "travel": {"purpose": "tourism", "intended_arrival": ""},
    "answers": {
        "criminal_conviction": False,
        "previous_refusal": False,
        "removed_or_deported": False,
        "conflict_zone_travel": False,
    },
    "language": "en",
    "declaration": True,
}


def valid_payload(**overrides: Any) -> dict[str, Any]:
    """A valid application; arrival 30 days from today."""
    payload = copy.deepcopy(VALID)
    payload["travel"]["intended_arrival"] = (today() + dt.timedelta(days=30)).isoformat()
    payload.update(overrides)
    return payload


@pytest.fixture
def payload() -> dict[str, Any]:
    """A fresh valid payload per test."""
    return valid_payload()


@pytest.fixture
def no_rate_limits() -> Iterator[None]:
    """Many requests from one test client: switch the limiter off for the test."""
    from eta.extensions import limiter

    limiter.enabled = False
    yield
    limiter.enabled = True
