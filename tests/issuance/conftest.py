"""Fixtures for the issuance tests: a keyring in a temporary directory and sample claims."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from eta.issuance.backends import open_keyring
from eta.issuance.keys import KeyPurpose, Keyring
from eta.issuance.tokens import AuthorisationClaims
from tests.softhsm import BACKEND

ISSUER = "https://eta.example.org"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def open_ring(request: pytest.FixtureRequest) -> Callable[..., Keyring]:
    """Opens the keyring in a directory on the backend under test (files, or SoftHSM2)."""
    config: dict[str, str] = {}
    if BACKEND == "pkcs11":
        config = request.getfixturevalue("softhsm").settings()

    def open_at(path: Path, purpose: KeyPurpose = KeyPurpose.TOKENS) -> Keyring:
        return open_keyring(config, path, purpose)

    return open_at


@pytest.fixture
def keyring(tmp_path: Path, open_ring: Callable[..., Keyring]) -> Keyring:
    ring = open_ring(tmp_path / "keys")
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
