"""Fixtures for the issuance tests: a keyring in a temporary directory and sample claims."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from eta.issuance.keys import Keyring
from eta.issuance.tokens import AuthorisationClaims

ISSUER = "https://eta.example.org"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    ring = Keyring.load(tmp_path / "keys")
    ring.generate(now=NOW)
    return ring


@pytest.fixture
def make_claims() -> Callable[..., AuthorisationClaims]:
    base = AuthorisationClaims(
        reference="ETA-7K3Q-9XPM",
        jti="8CtC3RWTPDSqn1JOkXUytg",
        issued_at=NOW,
        valid_from=NOW,
        valid_until=NOW + timedelta(days=730),
        passport_number="L898902C3",
        issuing_country="SWE",
        surname_mrz="ERIKSSON",
        given_names_mrz="ANNA MARIA",
        date_of_birth=date(1974, 8, 12),
    )

    def make(**changes: Any) -> AuthorisationClaims:
        return replace(base, **changes)

    return make
