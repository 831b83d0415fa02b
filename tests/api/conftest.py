"""Fixtures for API tests: a valid application payload (SPEC §4), and rate limits switched off."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.factories import valid_payload
from tests.traveller.conftest import _compiled_catalogues  # noqa: F401  (French messages)


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
