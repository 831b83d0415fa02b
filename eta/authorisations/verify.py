"""Verifying a token with this deployment's published keys and current revocations."""

from __future__ import annotations

import datetime as dt
import logging

from eta.authorisations.keys import issuer, key_set
from eta.authorisations.revocation import current_revocations
from eta.issuance.tokens import (
    VerificationResult,
    verify,
)
from eta.timeutil import utcnow

log = logging.getLogger(__name__)


def verify_token(
    token: str,
    *,
    now: dt.datetime | None = None,
    expected_passport_number: str | None = None,
    expected_country: str | None = None,
) -> VerificationResult:
    """Verify a token with this deployment's published keys and current revocations."""
    from eta.extensions import db

    return verify(
        token.strip() if isinstance(token, str) else token,
        key_set(),
        current_revocations(db.session),
        now or utcnow(),
        issuer(),
        expected_passport_number=expected_passport_number,
        expected_country=expected_country,
    )
