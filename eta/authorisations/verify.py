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
from eta.partners.current import partner_tokens
from eta.timeutil import utcnow

log = logging.getLogger(__name__)


def verify_token(
    token: str,
    *,
    now: dt.datetime | None = None,
    expected_passport_number: str | None = None,
    expected_country: str | None = None,
) -> VerificationResult:
    """Verify a token with this deployment's published keys and current revocations.

    A token no key of ours signed is checked with the partners' keys the trust list vouches
    for (mutual recognition, :mod:`eta.partners.recognition`), each with its own issuer.
    """
    from eta.extensions import db

    now = now or utcnow()
    text = token.strip() if isinstance(token, str) else token
    result = verify(
        text,
        key_set(),
        current_revocations(db.session),
        now,
        issuer(),
        expected_passport_number=expected_passport_number,
        expected_country=expected_country,
    )
    if result.detail == "unknown_kid":
        partners = partner_tokens(now)
        if partners:
            found = partners.verify(
                text,
                now,
                expected_passport_number=expected_passport_number,
                expected_country=expected_country,
            )
            return found or result
    return result
